"""Load: one iaxphone process holding N calls to the echo test, trunked or not,
side by side with the C reference, Asterisk as the client, holding the same N.

iaxphone: each call is a full phone call: a tone is encoded every 20 ms and
sent, the echo is jitter-buffered, decoded and played into a null sink.  CPU
is the process's own CPU time (user + system) over a measuring window after
all calls are up, divided by N x window: milliseconds of CPU per call-second.
Late ticks are pacer ticks that ran more than five frames late and were
skipped (the process could not keep up).

Asterisk as the client (benchmarks/asterisk_client.py): a second Asterisk 22
(benchmarks/asterisk-client/, run through docker/pbx as its own instance)
originates the same N calls to the same extension, as the same user (6001)
or trunk (trunk1), plays Milliwatt() into each and reads and drops the echo
(without a jitter buffer: less work than iaxphone does); its CPU is utime +
stime of /proc/<pid>/stat over a window of the same length, per call-second.
Each N and mode is measured for iaxphone first, then at once for Asterisk,
in the same run.  The ratio row is iaxphone's CPU per call-second over
Asterisk's (issue 7: <= 3x at 200 trunked calls; no verdict while iaxphone
misses frames, as it then does less work than the calls ask for).

The PBX's own CPU per call-second (its pid from docker/pbx's state for the
instance IAXPHONE_PBX_INSTANCE, default "main") is read over both windows.
It includes whatever else the PBX does meanwhile (other clients' calls).
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass

from benchmarks import asterisk_client
from benchmarks.asterisk_client import AsteriskClient, ClientError, ClientLoad, process_cpu_ms
from benchmarks.results import AMI_PORT, PBX, Result
from iaxphone.aio.audio import CallAudio
from iaxphone.aio.client import CallHandle, IaxClient
from iaxphone.media.virtual import NullSink, ToneSource
from iaxphone.proto.call import CallOptions
from iaxphone.proto.endpoint import EndpointConfig
from iaxphone.wire.constants import Format

WINDOW_S = asterisk_client.WINDOW_S
SIZES = (10, 50, 100, 200, 400)
SCENARIO = "Load: one process, N calls to Echo() through the bundled PBX"
RATIO_TARGET = 3.0  # issue 7: iaxphone within 3x of Asterisk's CPU at 200 trunked calls


@dataclass(frozen=True)
class Load:
    """iaxphone holding ``count`` calls over one window."""

    cpu_ms: float  # CPU ms per call-second of this process
    late: int  # pacer ticks skipped
    received: int  # voice frames received
    loss: float  # % of expected frames missing
    pbx_ms: float | None  # the PBX's CPU ms per call-second (None: pid unknown)


async def hold_calls(count: int, trunk: bool, pbx_pid: int | None = None) -> Load:
    """Hold ``count`` calls to the echo test and measure one window."""
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
        await asyncio.sleep(asterisk_client.SETTLE_S)  # let every jitter buffer settle
        cpu0, wall0 = time.process_time(), time.monotonic()
        pbx0 = process_cpu_ms(pbx_pid) if pbx_pid else 0.0
        received0 = sum(a.session.stats.received.packets for a in audios)
        late0 = sum(a.pacer.late_ticks for a in audios)
        await asyncio.sleep(WINDOW_S)
        cpu = time.process_time() - cpu0
        wall = time.monotonic() - wall0
        pbx = process_cpu_ms(pbx_pid) - pbx0 if pbx_pid else None
        received = sum(a.session.stats.received.packets for a in audios) - received0
        late = sum(a.pacer.late_ticks for a in audios) - late0
        expected = count * wall / 0.020
        for audio in audios:
            await audio.stop()
        await asyncio.gather(*(call.hangup() for call in calls), return_exceptions=True)
    loss = max(0.0, 100.0 * (1 - received / expected))
    return Load(
        cpu_ms=1000.0 * cpu / (count * wall),
        late=late,
        received=received,
        loss=loss,
        pbx_ms=pbx / (count * wall) if pbx is not None else None,
    )


def measure_asterisk(client: AsteriskClient | None, count: int, trunk: bool) -> ClientLoad | None:
    """Asterisk as the client holding ``count`` calls; None (and why, on stderr) if it failed."""
    if client is None:
        return None
    try:
        return client.measure(count, trunk)
    except (ClientError, OSError) as exc:
        print(f"load: Asterisk as the client, {count} calls: {exc}", file=sys.stderr)
        return None


def run(sizes: tuple[int, ...] = SIZES) -> list[Result]:
    results: list[Result] = []
    pbx_pid = asterisk_client.pbx_pid(PBX[1])
    if pbx_pid is None:
        print("load: no pid for the PBX (not a chroot instance?): no PBX CPU", file=sys.stderr)
    starting = AsteriskClient(pbx_port=PBX[1], pbx_ami_port=AMI_PORT, pid_of_pbx=pbx_pid)
    client: AsteriskClient | None = starting
    try:
        starting.start()
    except (ClientError, OSError) as exc:
        print(f"load: no Asterisk client, so no C reference: {exc}", file=sys.stderr)
        starting.stop()
        client = None
    try:
        for trunk in (False, True):
            mode = "trunked" if trunk else "not trunked"
            for count in sizes:
                ours = asyncio.run(hold_calls(count, trunk, pbx_pid))
                ref = measure_asterisk(client, count, trunk)
                results += rows(count, trunk, mode, ours, ref)
    finally:
        if client is not None:
            client.stop()
    return results


def rows(count: int, trunk: bool, mode: str, ours: Load, ref: ClientLoad | None) -> list[Result]:
    """The table rows of one N and mode: iaxphone, Asterisk as the client, the PBX."""

    def row(
        metric: str, value: float, unit: str, target: str = "", met: bool | None = None
    ) -> Result:
        return Result(SCENARIO, f"{count} calls {mode}: {metric}", value, unit, target, met)

    out = [row("CPU per call-second", ours.cpu_ms, "ms")]
    if ref is not None:
        out.append(row("Asterisk as the client, CPU per call-second", ref.client_ms, "ms"))
        ratio = ours.cpu_ms / ref.client_ms if ref.client_ms > 0 else float("inf")
        target = f"<= {RATIO_TARGET:g}x" if trunk and count == 200 else ""
        # No verdict when iaxphone did not keep up: it then did less work.
        met = ratio <= RATIO_TARGET if target and ours.loss < 1.0 else None
        out.append(row("CPU ratio to Asterisk as the client", ratio, "x", target, met))
    loss_target = "< 1 %" if trunk and count == 200 else ""
    loss_met = (ours.loss < 1.0 and ours.late == 0) if loss_target else None
    out.append(row("frames missing at the receiver", ours.loss, "%", loss_target, loss_met))
    if ours.pbx_ms is not None:
        out.append(row("PBX CPU per call-second, iaxphone's calls", ours.pbx_ms, "ms"))
    if ref is not None and ref.pbx_ms is not None:
        out.append(row("PBX CPU per call-second, Asterisk's calls", ref.pbx_ms, "ms"))
    return out


def main(argv: list[str]) -> int:
    """python -m benchmarks.load [N ...]: print the rows (RESULTS.md is left alone)."""
    sizes = tuple(int(arg) for arg in argv) or SIZES
    for result in run(sizes):
        print(result.row(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
