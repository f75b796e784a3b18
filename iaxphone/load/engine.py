"""One process's share of a load run: a :class:`~iaxphone.phone.Phone` placing calls.

Theory of operation
-------------------
:class:`LoadEngine` is the phone every front end uses (one socket, its
accounts, a line per call), with each line given audio of its own
(``line_audio``): the tone or WAV the scenario sends, and for calls that
expect something back an :class:`~iaxphone.load.expect.ExpectSink`
listening for it.  Its call log writes no history; each call's
:class:`~iaxphone.callrecord.CallSummary` (how it ended, its final media
statistics) becomes a :class:`~iaxphone.load.results.CallResult`.

:meth:`LoadEngine.place_call` is one call from dial to summary: dial,
wait for the answer (or give up after the scenario's answer timeout,
cause 19), send the DTMF, hold, hang up.  :func:`run_share` places a
worker's planned calls at their start times, takes a progress snapshot
every second, and at the scenario's duration stops placing calls and
hangs up those still up.  The locust agent calls ``place_call`` itself,
one call per Locust task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from iaxphone.aio.client import UnreachableError
from iaxphone.callrecord import CallLog, CallSummary
from iaxphone.media.virtual import (
    ArraySource,
    AudioFileError,
    NullSink,
    Samples,
    Sink,
    Source,
    ToneSource,
    load_wav,
)
from iaxphone.media.voice import OFF
from iaxphone.phone import LineChanged, LineInfo, LineState, Phone, PhoneAccount, PhoneEvent
from iaxphone.proto.endpoint import EndpointConfig
from iaxphone.target import Target, TargetError
from iaxphone.wire.constants import Cause

from .expect import ExpectSink
from .plan import PlannedCall
from .progress import Progress
from .results import DIAL_FAILED, CallResult, call_result, failed_call
from .scenario import CallAction, Scenario, ScenarioError

log = logging.getLogger("iaxphone.load")

FRAME_MS = 20
PROGRESS_INTERVAL_S = 1.0


@dataclass
class _Pending:
    """A line's futures and what it plays (the engine's own bookkeeping)."""

    action: CallAction
    talking: asyncio.Future[LineInfo]
    ended: asyncio.Future[CallSummary]
    sink: ExpectSink | None = None


class LoadEngine:
    """A phone for load: many lines at once, each with its own audio, no history."""

    def __init__(
        self, scenario: Scenario, worker: int = 0, local: tuple[str, int] = ("0.0.0.0", 0)
    ) -> None:
        self.scenario = scenario
        self.worker = worker
        server = (scenario.host, scenario.port)
        self.account_names = [f"load{i}-{a.user}" for i, a in enumerate(scenario.accounts)]
        accounts = [
            PhoneAccount(
                name,
                server,
                account.user,
                account.secret,
                accept_calls_from=(),
                encryption="off",
                trunk=scenario.trunk,
                voice=OFF,
            )
            for name, account in zip(self.account_names, scenario.accounts, strict=True)
        ]
        self.log = CallLog(None, None)
        self.log.listeners.append(self._on_summary)
        self.phone = Phone(
            accounts,
            formats=list(scenario.formats),
            local=local,
            frame_ms=FRAME_MS,
            call_log=self.log,
            endpoint_config=EndpointConfig(),
            register=False,
            line_audio=self._line_audio,
            line_stats=False,
        )
        self._pending: dict[int, _Pending] = {}
        self._wavs: dict[tuple[str, int], Samples] = {}
        self.placed = 0
        self.answered = 0
        self.failures: Counter[str] = Counter()
        self.results: list[CallResult] = []

    async def __aenter__(self) -> LoadEngine:
        await self.phone.start()
        self.phone.subscribe(self._on_event)
        if self.scenario.register:
            for name in self.account_names:
                await self.phone.register(name)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.phone.stop()

    # ------------------------------------------------------------------ the phone's hooks

    def _line_audio(self, line: LineInfo, rate: int) -> tuple[Source, Sink]:
        pending = self._pending.get(line.id)
        action = pending.action if pending is not None else CallAction()
        source: Source
        if action.play is not None:
            source = ArraySource(self._wav(action, rate), rate)
        else:
            source = ToneSource(action.tone_hz, rate)
        if action.expect == "none" or pending is None:
            return source, NullSink(rate)
        listen_for = None if action.expect == "echo" and action.play is not None else action.tone_hz
        pending.sink = ExpectSink(rate, listen_for)
        return source, pending.sink

    def _wav(self, action: CallAction, rate: int) -> Samples:
        assert action.play is not None
        key = (str(action.play), rate)
        if key not in self._wavs:
            self._wavs[key] = load_wav(action.play, rate)
        return self._wavs[key]

    def check_audio(self) -> None:
        """Read every WAV the scenario plays, before a call (ScenarioError if one is bad)."""
        for destination in self.scenario.destinations:
            if destination.action.play is not None:
                try:
                    self._wav(destination.action, 8000)
                except AudioFileError as exc:
                    raise ScenarioError(str(exc)) from None

    def _on_event(self, event: PhoneEvent) -> None:
        if isinstance(event, LineChanged) and event.line.state is LineState.TALKING:
            pending = self._pending.get(event.line.id)
            if pending is not None and not pending.talking.done():
                pending.talking.set_result(event.line)

    def _on_summary(self, summary: CallSummary) -> None:
        pending = self._pending.get(summary.line_id)
        if pending is not None and not pending.ended.done():
            pending.ended.set_result(summary)

    # ------------------------------------------------------------------ calls

    def _record(self, result: CallResult) -> CallResult:
        self.results.append(result)
        if result.failure is not None:
            self.failures[result.failure] += 1
        return result

    async def place_call(self, index: int, destination: int, account: int) -> CallResult:
        """One call from dial to summary (never raises for the call's own failures)."""
        scenario = self.scenario
        dest = scenario.destinations[destination]
        name = self.account_names[account]
        user = scenario.accounts[account].user
        self.placed += 1
        loop = asyncio.get_running_loop()
        try:
            line_id = await self.phone.dial(
                Target(scenario.host, scenario.port, dest.number), account=name
            )
        except (UnreachableError, TargetError, OSError):
            return self._record(failed_call(index, self.worker, user, dest.number, DIAL_FAILED))
        pending = _Pending(dest.action, loop.create_future(), loop.create_future())
        self._pending[line_id] = pending
        try:
            summary = await self._run_line(line_id, pending)
        finally:
            self._pending.pop(line_id, None)
        if summary.answered:
            self.answered += 1
        sink = pending.sink
        expect_ok = None if dest.action.expect == "none" else bool(sink and sink.passed())
        if not summary.answered:
            expect_ok = None
        return self._record(call_result(summary, index, self.worker, user, expect_ok, FRAME_MS))

    async def _run_line(self, line_id: int, pending: _Pending) -> CallSummary:
        scenario = self.scenario
        waiting: set[asyncio.Future[object]] = {pending.talking, pending.ended}  # type: ignore[arg-type]
        await asyncio.wait(
            waiting, timeout=scenario.answer_timeout_s, return_when=asyncio.FIRST_COMPLETED
        )
        if pending.ended.done():
            return pending.ended.result()
        if not pending.talking.done():
            with contextlib.suppress(KeyError):
                await self.phone.hangup(line_id, "no answer", Cause.NO_ANSWER)
            return await pending.ended
        helper = None
        if pending.action.dtmf:
            helper = asyncio.ensure_future(
                self.phone.dtmf(line_id, pending.action.dtmf, feedback=False)
            )
        try:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(pending.ended), scenario.hold_s)
        finally:
            if helper is not None:
                helper.cancel()
                await asyncio.gather(helper, return_exceptions=True)
            if not pending.ended.done():
                with contextlib.suppress(KeyError):
                    await self.phone.hangup(line_id)
        return await pending.ended

    # ------------------------------------------------------------------ progress

    def progress(self, elapsed_s: float, setup_rate: float, cpu_percent: float) -> Progress:
        now = self.phone.wall_clock()
        up = 0
        received = 0
        expected = 0.0
        mos = 0.0
        for line in self.phone.lines.values():
            if line.audio is None or line.info.state is not LineState.TALKING:
                continue
            stats = line.audio.session.snapshot()
            up += 1
            received += stats.traffic.packets_received
            if line.info.answered is not None:
                expected += max(0.0, now - line.info.answered) * 1000.0 / FRAME_MS
            mos += stats.mos
        return Progress(
            elapsed_s=elapsed_s,
            placed=self.placed,
            up=up,
            answered=self.answered + up,
            failures=tuple(self.failures.most_common()),
            setup_rate=setup_rate,
            frames_received=received,
            frames_expected=expected,
            mos_sum=mos,
            cpu_percent=cpu_percent,
        )


class _Meter:
    """Set-up rate and CPU between two progress snapshots."""

    def __init__(self) -> None:
        self.wall = time.monotonic()
        self.cpu = time.process_time()
        self.answered = 0

    def read(self, answered: int) -> tuple[float, float]:
        wall, cpu = time.monotonic(), time.process_time()
        span = max(wall - self.wall, 1e-6)
        rate = (answered - self.answered) / span
        cpu_percent = 100.0 * (cpu - self.cpu) / span
        self.wall, self.cpu, self.answered = wall, cpu, answered
        return rate, cpu_percent


async def run_share(
    engine: LoadEngine,
    calls: list[PlannedCall],
    on_progress: Callable[[Progress], None] | None = None,
    on_result: Callable[[CallResult], None] | None = None,
) -> list[CallResult]:
    """Place ``calls`` at their times; every second, a progress snapshot; the results."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    duration = engine.scenario.duration_s
    meter = _Meter()
    tasks: list[asyncio.Task[CallResult]] = []

    async def one(planned: PlannedCall) -> CallResult:
        result = await engine.place_call(planned.index, planned.destination, planned.account)
        if on_result is not None:
            on_result(result)
        return result

    async def report() -> None:
        while True:
            await asyncio.sleep(PROGRESS_INTERVAL_S)
            answered = engine.answered + len(
                [p for p in engine._pending.values() if p.talking.done()]
            )
            rate, cpu = meter.read(answered)
            if on_progress is not None:
                on_progress(engine.progress(loop.time() - start, rate, cpu))

    reporter = asyncio.ensure_future(report())
    try:
        for planned in calls:
            at = start + planned.at_s
            if duration is not None and planned.at_s >= duration:
                break
            delay = at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(one(planned)))
        if tasks:
            pending = asyncio.gather(*tasks)
            timeout = None if duration is None else max(0.0, start + duration - loop.time())
            done, _ = await asyncio.wait({pending}, timeout=timeout)
            if not done:  # the run's time is up: hang up what is still up
                for line_id in list(engine.phone.lines):
                    with contextlib.suppress(KeyError):
                        await engine.phone.hangup(line_id)
            results = await pending
        else:
            results = []
    finally:
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter
        for task in tasks:
            task.cancel()
    if on_progress is not None:
        rate, cpu = meter.read(engine.answered)
        on_progress(engine.progress(loop.time() - start, rate, cpu))
    return list(results)


__all__ = ["LoadEngine", "run_share"]
