"""How fast the operator console's model follows the PBX: phone action -> tile, start -> full state.

One :class:`~iaxphone.pbx.console.ConsoleModel` (AMI user ``operator``) on
the bundled PBX while iaxphone endpoints make calls: each round, 6001
dials 6002 (-> 6002's tile rings), 6002 answers (-> 6002's tile names
Alice and has a talk timer), 6003 calls the sales queue (-> the queue
shows the caller) and hangs up (-> the queue is empty).  The time runs
from the endpoint's action to the moment a ``ConsoleChanged`` listener
sees the snapshot change: the AMI round trip, the trackers and the
snapshot, not Qt's painting.  "Start to full state" is ``connect()`` with
the console's whole resync (ListCommands, hints, peers, mailboxes,
peer names, channels, queues, rooms).  The process's CPU over the rounds
is its own (``time.process_time``), endpoints included.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from benchmarks.call_setup import PBX, percentile
from benchmarks.results import AMI_PORT, Result
from iaxphone.aio.client import IaxClient
from iaxphone.pbx.ami import PbxClient
from iaxphone.pbx.console import ConsoleChanged, ConsoleModel
from iaxphone.pbx.models import LampState
from iaxphone.proto.call import CallOptions
from iaxphone.proto.endpoint import EndpointConfig
from iaxphone.proto.registration import Account
from iaxphone.wire.constants import Format

SCENARIO = "Operator console: phone action -> tile (operator user, loopback)"


class Stopwatch:
    """Wakes on every ConsoleChanged; ``until`` times how long a snapshot took to show a fact.

    It also keeps the PBX's own ``Timestamp`` (manager.conf timestampevents,
    the same machine's wall clock) of the last event of each name, so the
    time from the PBX's event to the tile can be told apart from the time
    Asterisk takes to act.
    """

    def __init__(self, model: ConsoleModel) -> None:
        self.changed = asyncio.Event()
        self.stamps: dict[str, float] = {}
        model.subscribe(self._on)

        async def nothing() -> None:
            return None

        model.client.add_source(self._stamp, nothing)

    def _on(self, _event: ConsoleChanged) -> None:
        self.changed.set()

    def _stamp(self, message: object) -> None:
        get = getattr(message, "get", None)
        if get is not None and get("Timestamp"):
            self.stamps[str(get("Event"))] = float(get("Timestamp"))

    def since_event(self, name: str) -> float:
        """Milliseconds from the PBX's last ``name`` event to now."""
        return (time.time() - self.stamps[name]) * 1000

    async def until(self, started: float, holds: Callable[[], object]) -> float:
        while not holds():
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 5)
        return (time.perf_counter() - started) * 1000


async def endpoint(number: str) -> IaxClient:
    client = IaxClient(("127.0.0.1", 0), EndpointConfig(formats=[Format.ULAW]))
    await client.start()
    await client.register(Account(number, f"iax{number}secret", PBX))
    return client


async def measure(rounds: int) -> tuple[dict[str, list[float]], float, float, int]:
    times: dict[str, list[float]] = {
        "ringing": [],
        "answered": [],
        "dial -> queued": [],
        "QueueCallerJoin -> queue panel": [],
        "left": [],
    }
    client = PbxClient("127.0.0.1", AMI_PORT, "operator", "operator-secret")
    model = ConsoleModel(client, operator="6010")
    started = time.perf_counter()
    await client.connect()
    start_ms = (time.perf_counter() - started) * 1000
    watch = Stopwatch(model)
    alice, bob, carol = await endpoint("6001"), await endpoint("6002"), await endpoint("6007")
    cpu = time.process_time()
    wall = time.perf_counter()
    try:
        for _ in range(rounds):
            started = time.perf_counter()
            call = await alice.dial(PBX, CallOptions("6002", "6001", "iax6001secret"))
            times["ringing"].append(
                await watch.until(started, lambda: model.tile("6002").lamp is LampState.RINGING)
            )
            ringing = await asyncio.wait_for(bob.incoming.get(), 5)
            started = time.perf_counter()
            ringing.answer()
            times["answered"].append(
                await watch.until(started, lambda: model.tile("6002").talking_since is not None)
            )
            started = time.perf_counter()
            queued = await carol.dial(PBX, CallOptions("610", "6007", "iax6007secret"))
            times["dial -> queued"].append(
                await watch.until(started, lambda: model.queue_tracker.queues["sales"].waiting)
            )
            times["QueueCallerJoin -> queue panel"].append(watch.since_event("QueueCallerJoin"))
            started = time.perf_counter()
            await queued.hangup()
            times["left"].append(
                await watch.until(started, lambda: not model.queue_tracker.queues["sales"].waiting)
            )
            await call.hangup()
            try:
                await watch.until(
                    time.perf_counter(), lambda: model.tile("6002").lamp is LampState.IDLE
                )
            except TimeoutError:
                raise RuntimeError(f"6002 never idle again: {model.tile('6002')}") from None
    finally:
        cpu_share = (time.process_time() - cpu) / max(1e-9, time.perf_counter() - wall)
        extensions = len(model.directory)
        for phone in (alice, bob, carol):
            await phone.close()
        client.close()
    return times, start_ms, cpu_share * 100, extensions


def run(rounds: int = 20) -> list[Result]:
    times, start_ms, cpu, extensions = asyncio.run(measure(rounds))
    results = []
    for name, values in times.items():
        p95 = percentile(values, 0.95)
        results.append(Result(SCENARIO, f"{name}: p50 of {rounds}", percentile(values, 0.5), "ms"))
        if name == "dial -> queued":  # mostly Asterisk: call set-up, Answer(), Queue() starting
            results.append(Result(SCENARIO, f"{name}: p95", p95, "ms"))
        else:
            results.append(Result(SCENARIO, f"{name}: p95", p95, "ms", "< 100 ms", p95 < 100))
    results.append(Result(SCENARIO, f"start to full state ({extensions} tiles)", start_ms, "ms"))
    results.append(Result(SCENARIO, "process CPU during the rounds", cpu, "% of a core"))
    return results


if __name__ == "__main__":
    for result in run():
        print(result.row())
