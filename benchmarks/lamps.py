"""How fast AMI lamps follow a phone: action on an iaxphone endpoint -> LampChanged.

Two endpoints (6001 calls 6002) and one PbxClient on the bundled PBX; each
round measures ringing (dial -> 6002 ringing), answer (answer -> 6002 in
use), hold (hold -> 6001 on hold) and hangup (hangup -> 6002 idle).
"""

from __future__ import annotations

import asyncio
import time

from benchmarks.call_setup import PBX, percentile
from benchmarks.results import AMI_PORT, Result
from iaxphone.aio.client import IaxClient
from iaxphone.pbx.ami import LampChanged, PbxClient, PbxEvent
from iaxphone.pbx.models import LampState
from iaxphone.proto.call import CallOptions
from iaxphone.proto.endpoint import EndpointConfig
from iaxphone.proto.registration import Account
from iaxphone.wire.constants import Format

SCENARIO = "AMI lamps: phone action -> LampChanged (console user, loopback)"


class LampClock:
    """When each (extension, lamp) was first seen since the last reset."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, LampState], float] = {}
        self.arrived = asyncio.Event()

    def __call__(self, event: PbxEvent) -> None:
        if isinstance(event, LampChanged):
            self.seen.setdefault((event.number, event.lamp), time.perf_counter())
            self.arrived.set()

    async def since(self, started: float, number: str, lamp: LampState) -> float:
        while (number, lamp) not in self.seen:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), 5)
        return (self.seen[(number, lamp)] - started) * 1000


async def endpoint(number: str) -> IaxClient:
    client = IaxClient(("127.0.0.1", 0), EndpointConfig(formats=[Format.ULAW]))
    await client.start()
    await client.register(Account(number, f"iax{number}secret", PBX))
    return client


async def measure(rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"ringing": [], "answer": [], "hold": [], "hangup": []}
    ami = PbxClient("127.0.0.1", AMI_PORT, "console", "console-secret")
    clock = LampClock()
    ami.subscribe(clock)
    await ami.connect()
    alice, bob = await endpoint("6001"), await endpoint("6002")
    try:
        for _ in range(rounds):
            clock.seen.clear()
            started = time.perf_counter()
            call = await alice.dial(PBX, CallOptions("6002", "6001", "iax6001secret"))
            ringing = await asyncio.wait_for(bob.incoming.get(), 5)
            times["ringing"].append(await clock.since(started, "6002", LampState.RINGING))
            started = time.perf_counter()
            ringing.answer()
            times["answer"].append(await clock.since(started, "6002", LampState.IN_USE))
            await call.wait_answered(timeout=5)  # the lamp can beat the ANSWER to 6001
            started = time.perf_counter()
            call.hold()
            times["hold"].append(await clock.since(started, "6001", LampState.ON_HOLD))
            clock.seen.pop(("6001", LampState.IN_USE), None)
            call.unhold()
            await clock.since(started, "6001", LampState.IN_USE)
            clock.seen.pop(("6002", LampState.IDLE), None)
            started = time.perf_counter()
            await call.hangup()
            times["hangup"].append(await clock.since(started, "6002", LampState.IDLE))
    finally:
        await alice.close()
        await bob.close()
        ami.close()
    return times


def run(rounds: int = 20) -> list[Result]:
    times = asyncio.run(measure(rounds))
    results = []
    for name, values in times.items():
        worst = max(values)
        results.append(Result(SCENARIO, f"{name}: p50 of {rounds}", percentile(values, 0.5), "ms"))
        results.append(Result(SCENARIO, f"{name}: worst", worst, "ms", "<= 1000 ms", worst <= 1000))
    return results
