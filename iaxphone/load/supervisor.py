"""Worker processes, started and watched: a load run over every core of one machine.

Theory of operation
-------------------
:func:`run_workers` starts ``workers`` processes (``python -m
iaxphone.load.worker``), gives each the scenario and its index on stdin,
and reads each one's JSON lines (:mod:`iaxphone.load.messages`): the
latest progress of each is merged into the run's progress line, and every
call result is kept.  Each worker places its own share of the plan
(:mod:`iaxphone.load.plan`), with its own socket and so its own trunk.

A worker that exits without its ``done`` line (killed, crashed) is
reported with how it ended ("killed by signal 9"), and each of its planned
calls that it never reported is counted as failed, cause "worker died":
the figures never lose calls.  A run that is stopped (Ctrl-C) sends each
worker SIGTERM, and they hang up their calls on the way out.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from .messages import line, parse_line, scenario_fields
from .plan import plan
from .progress import Progress
from .results import WORKER_DIED, CallResult, failed_call
from .scenario import Scenario
from .summary import WorkerReport

STOP_GRACE_S = 10.0  # after SIGTERM, how long a worker gets to hang up


@dataclass
class _Worker:
    index: int
    process: asyncio.subprocess.Process
    progress: Progress = field(default_factory=Progress)
    results: list[CallResult] = field(default_factory=list)
    cpu_s: float | None = None
    done: bool = False


def how_it_ended(returncode: int | None) -> str:
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = str(-returncode)
        return f"killed by signal {-returncode} ({name})"
    return f"exit {returncode}"


async def _read(worker: _Worker, on_change: Callable[[], None]) -> None:
    assert worker.process.stdout is not None
    while data := await worker.process.stdout.readline():
        message = parse_line(data)
        if message is None:
            continue
        kind, body = message
        if kind == "progress":
            worker.progress = Progress.from_fields(body)
            on_change()
        elif kind == "result":
            worker.results.append(CallResult.from_fields(body))
        elif kind == "done":
            worker.cpu_s = float(body.get("cpu_s", 0.0))
            worker.done = True


async def run_workers(
    scenario: Scenario,
    workers: int,
    on_progress: Callable[[Progress], None] | None = None,
    on_started: Callable[[int, int], None] | None = None,
    stop: asyncio.Event | None = None,
) -> tuple[list[CallResult], list[WorkerReport]]:
    """Run the scenario over ``workers`` processes; every call's result and each worker's end."""
    running: list[_Worker] = []
    for index in range(workers):
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "iaxphone.load.worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert process.stdin is not None
        orders = {"scenario": scenario_fields(scenario), "worker": index, "workers": workers}
        process.stdin.write(line("run", orders))
        await process.stdin.drain()
        process.stdin.close()
        running.append(_Worker(index, process))
        if on_started is not None:
            on_started(index, process.pid)

    def merged() -> None:
        if on_progress is None:
            return
        total = running[0].progress
        for worker in running[1:]:
            total = total.merge(worker.progress)
        on_progress(total)

    readers = [asyncio.ensure_future(_read(w, merged)) for w in running]
    exits = [asyncio.ensure_future(w.process.wait()) for w in running]
    stopping = asyncio.ensure_future(stop.wait()) if stop is not None else None
    try:
        waiting: set[asyncio.Future[object]] = set(exits)  # type: ignore[arg-type]
        if stopping is not None:
            waiting.add(stopping)  # type: ignore[arg-type]
        while not all(e.done() for e in exits):
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            waiting = {f for f in waiting if not f.done()}
            if stopping is not None and stopping.done():
                for worker in running:
                    if worker.process.returncode is None:
                        with contextlib.suppress(ProcessLookupError):
                            worker.process.send_signal(signal.SIGTERM)
                stopping = None
                await asyncio.wait(exits, timeout=STOP_GRACE_S)
                for worker in running:
                    if worker.process.returncode is None:
                        with contextlib.suppress(ProcessLookupError):
                            worker.process.kill()
        await asyncio.gather(*readers)
    finally:
        if stopping is not None:
            stopping.cancel()
        for worker in running:
            if worker.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    worker.process.kill()
                await worker.process.wait()

    planned = plan(scenario, workers)
    results: list[CallResult] = []
    reports: list[WorkerReport] = []
    for worker in running:
        died = not worker.done
        results.extend(worker.results)
        if died:
            seen = {r.index for r in worker.results}
            for call in planned:
                if call.worker == worker.index and call.index not in seen:
                    results.append(
                        failed_call(
                            call.index,
                            worker.index,
                            scenario.accounts[call.account].user,
                            scenario.destinations[call.destination].number,
                            WORKER_DIED,
                        )
                    )
        reports.append(
            WorkerReport(
                worker.index,
                worker.process.pid,
                len(worker.results),
                died,
                "finished" if worker.done else how_it_ended(worker.process.returncode),
                worker.cpu_s,
            )
        )
    return results, reports


__all__ = ["how_it_ended", "run_workers"]
