"""Call set-up time (dial to answer) and registration time against the bundled PBX."""

from __future__ import annotations

import asyncio
import statistics
import time

from benchmarks.results import PBX, Result
from iaxphone.aio.client import IaxClient
from iaxphone.proto.call import CallOptions
from iaxphone.proto.endpoint import EndpointConfig
from iaxphone.proto.registration import Account
from iaxphone.wire.constants import Format

USER, SECRET = "6001", "iax6001secret"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def measure(calls: int, registrations: int) -> tuple[list[float], list[float]]:
    setup_ms: list[float] = []
    register_ms: list[float] = []
    async with IaxClient(("127.0.0.1", 0), EndpointConfig(formats=[Format.ULAW])) as client:
        for _ in range(registrations):
            started = time.perf_counter()
            await client.register(Account(USER, SECRET, PBX))
            register_ms.append((time.perf_counter() - started) * 1000)
        for _ in range(calls):
            options = CallOptions("600", USER, SECRET, caller_number=USER)
            started = time.perf_counter()
            call = await client.dial(PBX, options)
            await call.wait_answered(timeout=5)
            setup_ms.append((time.perf_counter() - started) * 1000)
            await call.hangup()
    return setup_ms, register_ms


def run(calls: int = 200, registrations: int = 100) -> list[Result]:
    setup, register = asyncio.run(measure(calls, registrations))
    scenario = "Signalling against the bundled PBX (loopback)"
    p50 = statistics.median(setup)
    return [
        Result(scenario, f"call set-up p50 ({calls} calls to 600)", p50, "ms", "< 10 ms", p50 < 10),
        Result(scenario, "call set-up p99", percentile(setup, 0.99), "ms"),
        Result(
            scenario,
            f"registration p50 ({registrations} registrations)",
            statistics.median(register),
            "ms",
        ),
        Result(
            scenario,
            "registrations per second (sequential)",
            1000 / statistics.mean(register),
            "reg/s",
        ),
    ]
