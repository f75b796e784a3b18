"""Load: one iaxphone process holding N calls to the echo test, trunked or not.

Each call is a full phone call: a tone is encoded every 20 ms and sent, the
echo is jitter-buffered, decoded and played into a null sink.  CPU is the
process's own CPU time (user + system) over a measuring window after all
calls are up, divided by N x window: milliseconds of CPU per call-second.
Late ticks are pacer ticks that ran more than five frames late and were
skipped (the process could not keep up).
"""

from __future__ import annotations

import asyncio
import time

from benchmarks.results import Result
from iaxphone.aio.audio import CallAudio
from iaxphone.aio.client import CallHandle, IaxClient
from iaxphone.media.virtual import NullSink, ToneSource
from iaxphone.proto.call import CallOptions
from iaxphone.proto.endpoint import EndpointConfig
from iaxphone.wire.constants import Format

PBX = ("127.0.0.1", 4569)
WINDOW_S = 10.0


async def hold_calls(count: int, trunk: bool) -> tuple[float, int, int, float]:
    """(CPU ms per call-second, late ticks, frames received, loss %) for ``count`` calls."""
    user, secret = ("trunk1", "trunk1secret") if trunk else ("6001", "iax6001secret")
    config = EndpointConfig(formats=[Format.ULAW], ping_interval=30.0)
    async with IaxClient(("127.0.0.1", 0), config) as client:
        calls: list[CallHandle] = []
        for _ in range(count):
            options = CallOptions(
                "600", user, secret, caller_number=user, encryption="off", trunk=trunk
            )
            calls.append(await client.dial(PBX, options))
        await asyncio.gather(*(call.wait_answered(timeout=30) for call in calls))
        audios = [CallAudio(call, ToneSource(440, 8000), NullSink(8000)).start() for call in calls]
        await asyncio.sleep(2.0)  # let every jitter buffer settle
        cpu0, wall0 = time.process_time(), time.monotonic()
        received0 = sum(a.session.stats.received.packets for a in audios)
        late0 = sum(a.pacer.late_ticks for a in audios)
        await asyncio.sleep(WINDOW_S)
        cpu = time.process_time() - cpu0
        wall = time.monotonic() - wall0
        received = sum(a.session.stats.received.packets for a in audios) - received0
        late = sum(a.pacer.late_ticks for a in audios) - late0
        expected = count * wall / 0.020
        for audio in audios:
            await audio.stop()
        await asyncio.gather(*(call.hangup() for call in calls), return_exceptions=True)
    loss = max(0.0, 100.0 * (1 - received / expected))
    return 1000.0 * cpu / (count * wall), late, received, loss


def run(sizes: tuple[int, ...] = (10, 50, 100, 200)) -> list[Result]:
    results: list[Result] = []
    scenario = "Load: one process, N calls to Echo() through the bundled PBX"
    for trunk in (False, True):
        mode = "trunked" if trunk else "not trunked"
        for count in sizes:
            cpu_ms, late, _received, loss = asyncio.run(hold_calls(count, trunk))
            results.append(
                Result(scenario, f"{count} calls {mode}: CPU per call-second", cpu_ms, "ms")
            )
            target = "< 1 %" if trunk and count == 200 else ""
            met = (loss < 1.0 and late == 0) if target else None
            results.append(
                Result(
                    scenario,
                    f"{count} calls {mode}: frames missing at the receiver",
                    loss,
                    "%",
                    target,
                    met,
                )
            )
    return results
