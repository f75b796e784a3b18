"""A worker process: ``python -m iaxphone.load.worker``, started by the supervisor.

It reads its orders from stdin (:mod:`iaxphone.load.messages`) and runs a
:class:`~iaxphone.load.engine.LoadEngine` of its own, in its own process
and event loop:

* ``run``: its share of the scenario's plan (every call ``i`` with
  ``i % workers == worker``), reporting progress and results as it goes;
* ``agent``: the Locust agent - it places one call per ``call`` line, as
  many at once as it is sent, until stdin closes.

Exit 0 when it finished, 2 for a scenario it cannot run (one line on stderr).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from typing import Any

from .engine import LoadEngine, run_share
from .messages import line, parse_line, scenario_from_fields
from .plan import plan
from .progress import Progress
from .results import CallResult
from .scenario import ScenarioError


def _write(kind: str, body: object) -> None:
    sys.stdout.buffer.write(line(kind, body))
    sys.stdout.buffer.flush()


def _progress(progress: Progress) -> None:
    _write("progress", progress.to_fields())


def _result(result: CallResult) -> None:
    _write("result", result.to_fields())


async def run_orders(orders: dict[str, Any]) -> None:
    scenario = scenario_from_fields(orders["scenario"])
    worker, workers = int(orders["worker"]), int(orders["workers"])
    mine = [call for call in plan(scenario, workers) if call.worker == worker]
    async with LoadEngine(scenario, worker) as engine:
        engine.check_audio()
        await run_share(engine, mine, _progress, _result)


async def run_agent(orders: dict[str, Any]) -> None:
    """Place a call for every ``call`` line on stdin; stop when stdin closes."""
    scenario = scenario_from_fields(orders["scenario"])
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    calls: set[asyncio.Task[None]] = set()
    async with LoadEngine(scenario, int(orders.get("worker", 0))) as engine:
        engine.check_audio()
        _write("ready", {})

        async def one(index: int, destination: int, account: int) -> None:
            _result(await engine.place_call(index, destination, account))

        while data := await reader.readline():
            message = parse_line(data)
            if message is None or message[0] != "call":
                continue
            index, destination, account = (int(v) for v in message[1])
            task = asyncio.ensure_future(one(index, destination, account))
            calls.add(task)
            task.add_done_callback(calls.discard)
        if calls:
            await asyncio.gather(*calls, return_exceptions=True)


def main() -> int:
    first = sys.stdin.buffer.readline()
    message = parse_line(first)
    if message is None or message[0] not in ("run", "agent"):
        print("iaxphone load worker: no orders on stdin", file=sys.stderr)
        return 2
    kind, orders = message
    cpu0 = time.process_time()
    # The supervisor stops the run (SIGTERM): calls up are hung up on the way out.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        asyncio.run(run_orders(orders) if kind == "run" else run_agent(orders))
    except ScenarioError as exc:
        print(f"iaxphone: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    with contextlib.suppress(BrokenPipeError):
        _write("done", {"cpu_s": time.process_time() - cpu0})
    return 0


if __name__ == "__main__":
    sys.exit(main())
