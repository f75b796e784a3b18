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
import os
import statistics
import sys
import time
from dataclasses import dataclass

from benchmarks import asterisk_client
from benchmarks.asterisk_client import AsteriskClient, ClientError, ClientLoad, process_cpu_ms
from benchmarks.results import AMI_PORT, PBX, Result
from iaxphone.aio.audio import CallAudio
from iaxphone.aio.client import CallHandle, IaxClient
from iaxphone.load.scenario import Destination, LoadAccount, Scenario
from iaxphone.load.summary import summarise
from iaxphone.load.supervisor import run_workers
from iaxphone.media.virtual import NullSink, ToneSource
from iaxphone.proto.call import CallOptions
from iaxphone.proto.endpoint import EndpointConfig
from iaxphone.wire.constants import Format

WINDOW_S = asterisk_client.WINDOW_S
SIZES = (10, 100)  # one run each
SPREAD_SIZES = (200, 400)  # RUNS runs each: the median and the range
RUNS = 5
UVLOOP_RUNS = 3  # 200 trunked calls on uvloop's event loop, beside the standard loop's
WORKER_CALLS = 1000  # across the worker processes of iaxphone load
WORKER_HOLD_S = 30.0
WORKER_RATE = 100.0  # calls per second, all up after 10 s
SCENARIO = "Load: one process, N calls to Echo() through the bundled PBX"
WORKERS_SCENARIO = "Load: 1,000 calls across iaxphone load's worker processes"
RATIO_TARGET = 0.5  # issue 17: iaxphone at most half Asterisk's CPU at 200 trunked calls
MISSING_TARGET = 1.0  # % of frames: 200 not trunked (every run), 400 trunked


@dataclass(frozen=True)
class Load:
    """iaxphone holding ``count`` calls over one window."""

    cpu_ms: float  # CPU ms per call-second of this process
    late: int  # pacer ticks skipped
    received: int  # voice frames received
    loss: float  # % of expected frames missing
    pbx_ms: float | None  # the PBX's CPU ms per call-second (None: pid unknown)
    failed: int = 0  # calls the PBX refused or never answered (left out of the figures)


def hold(count: int, trunk: bool, pbx_pid: int | None = None, uvloop: bool = False) -> Load:
    """:func:`hold_calls` on a fresh event loop: the standard one, or uvloop's.

    Raises ClientError when the PBX answered none of the calls.
    """
    if not uvloop:
        return asyncio.run(hold_calls(count, trunk, pbx_pid))
    import uvloop as uv  # noqa: PLC0415 (only for its rows, and only if installed)

    with asyncio.Runner(loop_factory=uv.new_event_loop) as runner:
        return runner.run(hold_calls(count, trunk, pbx_pid))


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
        answers = await asyncio.gather(
            *(call.wait_answered(timeout=30) for call in calls), return_exceptions=True
        )
        failed = sum(1 for answer in answers if isinstance(answer, BaseException))
        calls = [c for c, a in zip(calls, answers, strict=True) if not isinstance(a, BaseException)]
        if not calls:
            raise ClientError(f"none of the {count} calls was answered")
        count = len(calls)  # an overloaded PBX refused some: measure those it took
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
        failed=failed,
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


def run(sizes: tuple[int, ...] = SIZES, spread: tuple[int, ...] = SPREAD_SIZES) -> list[Result]:
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
                ours = hold(count, trunk, pbx_pid)
                ref = measure_asterisk(client, count, trunk)
                results += rows(count, trunk, mode, [ours], [ref] if ref else [])
            for count in spread:
                runs: list[Load] = []
                refs: list[ClientLoad] = []
                for i in range(RUNS):
                    try:
                        runs.append(hold(count, trunk, pbx_pid))
                    except ClientError as exc:
                        print(f"load: {count} {mode} run {i + 1}: {exc}", file=sys.stderr)
                        continue
                    ref = measure_asterisk(client, count, trunk)
                    if ref is not None:
                        refs.append(ref)
                    print(f"load: {count} {mode} run {i + 1}: {runs[-1]}", file=sys.stderr)
                if runs:
                    results += rows(count, trunk, mode, runs, refs)
        if uvloop_available() and 200 in spread:
            results += uvloop_rows(pbx_pid)
    finally:
        if client is not None:
            client.stop()
    if spread:
        results += worker_rows(pbx_pid)
    return results


def worker_rows(pbx_pid: int | None, calls: int = WORKER_CALLS) -> list[Result]:
    """``calls`` trunked calls over one worker process per core (iaxphone load's supervisor)."""
    workers = os.cpu_count() or 1
    scenario = Scenario(
        PBX[0], PBX[1], (LoadAccount("trunk1", "trunk1secret"),), (Destination("600"),),
        calls=calls, rate=WORKER_RATE, hold_s=WORKER_HOLD_S, answer_timeout_s=30.0, trunk=True,
    )  # fmt: skip
    pbx0 = process_cpu_ms(pbx_pid) if pbx_pid else 0.0
    wall0 = time.monotonic()
    results, reports = asyncio.run(run_workers(scenario, workers))
    wall = time.monotonic() - wall0
    pbx = process_cpu_ms(pbx_pid) - pbx0 if pbx_pid else None
    summary = summarise(scenario, results, wall, 0.0, reports)

    def row(metric: str, value: float, unit: str) -> Result:
        return Result(WORKERS_SCENARIO, f"{calls} calls, {workers} workers: {metric}", value, unit)

    out = [
        row("calls answered", summary.answered, "calls"),
        row("calls failed", summary.failed, "calls"),
        *(row(f"calls failed: {cause}", n, "calls") for cause, n in summary.failures),
    ]
    if summary.missing_percent is not None:
        out.append(row("frames missing, mean over calls", summary.missing_percent.mean, "%"))
        out.append(row("frames missing, worst call", summary.missing_percent.max, "%"))
    if summary.setup_ms is not None:
        out.append(row("set-up p95", summary.setup_ms.p95, "ms"))
    talk = {w.index: 0.0 for w in reports}
    for result in results:
        talk[result.worker] = talk.get(result.worker, 0.0) + result.duration_s
    for worker in reports:
        if worker.cpu_s is not None:
            share = 100.0 * worker.cpu_s / wall
            out.append(row(f"worker {worker.index} CPU", share, "% of a core"))
            if talk.get(worker.index):
                per = 1000.0 * worker.cpu_s / talk[worker.index]
                out.append(row(f"worker {worker.index} CPU per call-second", per, "ms"))
    if pbx is not None:
        out.append(row("PBX CPU", 100.0 * pbx / 1000.0 / wall, "% of a core"))
    return out


def uvloop_available() -> bool:
    try:
        import uvloop  # noqa: F401, PLC0415
    except ImportError:
        print("load: uvloop is not installed: no uvloop rows", file=sys.stderr)
        return False
    return True


def uvloop_rows(pbx_pid: int | None) -> list[Result]:
    """200 trunked calls, the standard loop and uvloop's taking turns."""
    standard: list[Load] = []
    uv: list[Load] = []
    for _ in range(UVLOOP_RUNS):
        for use_uvloop, runs in ((False, standard), (True, uv)):
            try:
                runs.append(hold(200, True, pbx_pid, uvloop=use_uvloop))
            except ClientError as exc:
                print(f"load: 200 trunked (uvloop {use_uvloop}): {exc}", file=sys.stderr)
    out = []
    for name, runs in (("standard loop", standard), ("uvloop", uv)):
        if not runs:
            continue
        cpu = spread_of([r.cpu_ms for r in runs])
        loss = spread_of([r.loss for r in runs])
        out.append(
            Result(
                SCENARIO,
                f"200 calls trunked, {name}: CPU per call-second{cpu.label}",
                cpu.median,
                "ms",
            )
        )
        out.append(
            Result(
                SCENARIO, f"200 calls trunked, {name}: frames missing{loss.label}", loss.median, "%"
            )
        )
    return out


@dataclass(frozen=True)
class Spread:
    median: float
    low: float
    high: float
    runs: int

    @property
    def label(self) -> str:
        if self.runs == 1:
            return ""
        return f" (median of {self.runs}, {self.low:.2f}-{self.high:.2f})"


def spread_of(values: list[float]) -> Spread:
    ordered = sorted(values)
    return Spread(statistics.median(ordered), ordered[0], ordered[-1], len(ordered))


def rows(
    count: int, trunk: bool, mode: str, ours: list[Load], refs: list[ClientLoad]
) -> list[Result]:
    """The table rows of one N and mode (medians over the runs): iaxphone, Asterisk, the PBX."""

    def row(
        metric: str, value: float, unit: str, target: str = "", met: bool | None = None
    ) -> Result:
        return Result(SCENARIO, f"{count} calls {mode}: {metric}", value, unit, target, met)

    cpu = spread_of([r.cpu_ms for r in ours])
    loss = spread_of([r.loss for r in ours])
    out = [row(f"CPU per call-second{cpu.label}", cpu.median, "ms")]
    if refs:
        theirs = spread_of([r.client_ms for r in refs])
        out.append(
            row(f"Asterisk as the client, CPU per call-second{theirs.label}", theirs.median, "ms")
        )
        ratio = cpu.median / theirs.median if theirs.median > 0 else float("inf")
        target = f"<= {RATIO_TARGET:g}x" if trunk and count == 200 else ""
        # No verdict when iaxphone did not keep up: it then did less work.
        met = ratio <= RATIO_TARGET if target and loss.high < MISSING_TARGET else None
        out.append(row("CPU ratio to Asterisk as the client (medians)", ratio, "x", target, met))
    out.append(row(f"frames missing at the receiver{loss.label}", loss.median, "%"))
    refused = sum(r.failed for r in ours)
    if refused:
        out.append(row(f"calls the PBX refused, over {len(ours)} runs", refused, "calls"))
    judged = (count == 200 and not trunk) or (count in (200, 400) and trunk)
    if judged:
        every = "in every run" if len(ours) > 1 else ""
        out.append(
            row(
                f"frames missing, worst run of {len(ours)}",
                loss.high,
                "%",
                f"< {MISSING_TARGET:g} % {every}".strip(),
                loss.high < MISSING_TARGET,
            )
        )
    pbx = [r.pbx_ms for r in ours if r.pbx_ms is not None]
    if pbx:
        p = spread_of(pbx)
        out.append(row(f"PBX CPU per call-second, iaxphone's calls{p.label}", p.median, "ms"))
    ref_pbx = [r.pbx_ms for r in refs if r.pbx_ms is not None]
    if ref_pbx:
        p = spread_of(ref_pbx)
        out.append(row(f"PBX CPU per call-second, Asterisk's calls{p.label}", p.median, "ms"))
    return out


def main(argv: list[str]) -> int:
    """python -m benchmarks.load [N ...]: print the rows (RESULTS.md is left alone)."""
    sizes = tuple(int(arg) for arg in argv) or SIZES
    for result in run(sizes, SPREAD_SIZES if not argv else ()):
        print(result.row(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
