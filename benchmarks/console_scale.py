"""The operator console at office scale: 200 extensions, 50 calls, 20 waiting callers.

The bundled PBX has ten desk phones, so this benchmark makes a bigger one:
:func:`write_config` copies asterisk-conf/ into a temporary folder and adds
200 IAX2 peers 7000-7199 (hints, a dial pattern, voicemail boxes with full
names), and the PBX instance named by the environment
(IAXPHONE_PBX_INSTANCE and its ports) is restarted on that folder for the
run, then restarted again on asterisk-conf/ (``docker/pbx down``/``up``).

The load comes from another process (:mod:`benchmarks.console_load`, so
its calls do not count as the console's CPU): 50 calls from peers
7100-7149 to the echo service and 20 callers from 7150-7169 waiting in the
sales queue (its members are not registered in the benchmark PBX, so the
callers wait).  Then, in the console's process, one
:class:`~iaxphone.pbx.console.ConsoleModel` (AMI user ``operator``) and two
registered endpoints (7000, 7001) run rounds: 7000 calls 7001 (tile
rings), 7001 answers (tile talks, with a timer), 7000 hangs up (tile idle),
and an endpoint 7170 joins the queue and leaves it.  "PBX event -> tile"
is measured from the PBX's own ``Timestamp`` of the event that changes
the tile (ExtensionStatus, BridgeEnter, QueueCallerJoin, QueueCallerLeave;
manager.conf timestampevents, the same machine's clock) to the moment a
``ConsoleChanged`` listener sees the snapshot change.  The console's CPU
is its process's (``time.process_time``) over a 10 s window with the load
up and nothing else happening, and over the rounds (the two endpoints
included).  "Start to full state" is ``connect()`` - the whole resync - at
200 + extensions.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.call_setup import percentile
from benchmarks.console_tiles import Stopwatch
from benchmarks.results import AMI_PORT, PBX, Result
from iaxphone.aio.client import IaxClient
from iaxphone.pbx.ami import PbxClient
from iaxphone.pbx.console import ConsoleModel
from iaxphone.pbx.models import LampState
from iaxphone.proto.call import CallOptions
from iaxphone.proto.endpoint import EndpointConfig
from iaxphone.proto.registration import Account
from iaxphone.wire.constants import Format

SCENARIO = "Operator console at scale: 200 extensions, 50 calls, 20 waiting (loopback)"
PROJECT = Path(__file__).resolve().parent.parent
PBX_SCRIPT = PROJECT / "docker" / "pbx"
FIRST, COUNT = 7000, 200
CALLS, WAITING = 50, 20
IDLE_WINDOW_S = 10.0

PEER = """
[{n}]
type = friend
host = dynamic
context = office
auth = md5
requirecalltoken = yes
transfer = yes
disallow = all
allow = ulaw
secret = bench{n}secret
callerid = "Bench {n}" <{n}>
"""


def secret(number: int) -> str:
    return f"bench{number}secret"


def write_config(folder: Path) -> Path:
    """asterisk-conf/ plus 200 peers with hints and mailboxes, in ``folder``."""
    conf = folder / "asterisk-conf"
    shutil.copytree(PROJECT / "asterisk-conf", conf)
    numbers = range(FIRST, FIRST + COUNT)
    with (conf / "iax.conf").open("a") as iax:
        iax.write("\n; --- benchmark peers (benchmarks/console_scale.py) ---\n")
        iax.writelines(PEER.format(n=n) for n in numbers)
    extensions = (conf / "extensions.conf").read_text()
    hints = "".join(f"exten => {n},hint,IAX2/{n}\n" for n in numbers)
    dial = (
        "exten => _7XXX,1,NoOp(Benchmark call to ${EXTEN})\n"
        " same => n,Dial(IAX2/${EXTEN},20)\n"
        " same => n,Hangup()\n"
    )
    marker = "; --- calls between desk phones"
    assert marker in extensions, "extensions.conf changed: update console_scale.write_config"
    (conf / "extensions.conf").write_text(
        extensions.replace(marker, hints + dial + "\n" + marker, 1)
    )
    voicemail = (conf / "voicemail.conf").read_text()
    boxes = "".join(f"{n} => 1234,Bench {n}\n" for n in numbers)
    (conf / "voicemail.conf").write_text(voicemail.replace("[office]\n", "[office]\n" + boxes, 1))
    return conf


def pbx(command: str, conf: Path | None = None) -> None:
    env = dict(os.environ)
    if conf is not None:
        env["IAXPHONE_PBX_CONF"] = str(conf)
    else:
        env.pop("IAXPHONE_PBX_CONF", None)
    done = subprocess.run(
        [sys.executable, str(PBX_SCRIPT), command], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"docker/pbx {command}: {done.stdout}{done.stderr}".strip())


async def endpoint(number: int) -> IaxClient:
    client = IaxClient(("127.0.0.1", 0), EndpointConfig(formats=[Format.ULAW]))
    await client.start()
    await client.register(Account(str(number), secret(number), PBX))
    return client


async def wait(watch: Stopwatch, holds: Callable[[], object], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not holds():
        watch.changed.clear()
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the console never showed it")
        await asyncio.wait_for(watch.changed.wait(), left)


async def measure(rounds: int) -> dict[str, float | list[float] | int]:
    client = PbxClient("127.0.0.1", AMI_PORT, "operator", "operator-secret")
    model = ConsoleModel(client, operator="6010")
    started = time.perf_counter()
    await client.connect()
    start_ms = (time.perf_counter() - started) * 1000
    extensions = len(model.directory)
    watch = Stopwatch(model)
    window = console_window(model)
    started = time.perf_counter()
    window.rebuild()
    build_ms = (time.perf_counter() - started) * 1000
    load = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.console_load", str(CALLS), str(WAITING),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=str(PROJECT),
    )  # fmt: skip
    times: dict[str, list[float]] = {
        "ExtensionStatus -> ringing tile": [],
        "ExtensionStatus -> ringing tile redrawn (Qt)": [],
        "BridgeEnter -> talking tile": [],
        "ExtensionStatus -> idle tile": [],
        "QueueCallerJoin -> queue panel": [],
        "QueueCallerLeave -> queue panel": [],
    }
    try:
        assert load.stdout is not None
        line = await asyncio.wait_for(load.stdout.readline(), 120)
        if not line.startswith(b"ready"):
            raise RuntimeError(f"the load generator said {line!r}")
        sales = model.queue_tracker.queues
        await wait(watch, lambda: sales["sales"].waiting >= WAITING)
        await wait(watch, lambda: len(model.channels.channels) >= CALLS + WAITING)
        live_channels = len(model.channels.channels)
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.sleep(IDLE_WINDOW_S)
        idle_cpu = (time.process_time() - cpu) / (time.perf_counter() - wall) * 100
        # The window's one-second clock tick redraws every tile and panel.
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(int(IDLE_WINDOW_S)):
            window.refresh_clocks()
            await asyncio.sleep(1)
        tick_cpu = (time.process_time() - cpu) / (time.perf_counter() - wall) * 100
        caller, callee, queued = await endpoint(7000), await endpoint(7001), await endpoint(7170)
        cpu, wall = time.process_time(), time.perf_counter()
        try:
            for _ in range(rounds):
                call = await caller.dial(PBX, CallOptions("7001", "7000", secret(7000)))
                await wait(watch, lambda: model.tile("7001").lamp is LampState.RINGING)
                times["ExtensionStatus -> ringing tile"].append(
                    watch.since_event("ExtensionStatus")
                )
                window._redraw()  # what the window's one redraw per loop turn does
                times["ExtensionStatus -> ringing tile redrawn (Qt)"].append(
                    watch.since_event("ExtensionStatus")
                )
                ringing = await asyncio.wait_for(callee.incoming.get(), 10)
                ringing.answer()
                await wait(watch, lambda: model.tile("7001").talking_since is not None)
                times["BridgeEnter -> talking tile"].append(watch.since_event("BridgeEnter"))
                await call.hangup()
                await wait(watch, lambda: model.tile("7001").lamp is LampState.IDLE)
                times["ExtensionStatus -> idle tile"].append(watch.since_event("ExtensionStatus"))
                joined = await queued.dial(PBX, CallOptions("610", "7170", secret(7170)))
                await wait(watch, lambda: sales["sales"].waiting > WAITING)
                times["QueueCallerJoin -> queue panel"].append(watch.since_event("QueueCallerJoin"))
                await joined.hangup()
                await wait(watch, lambda: sales["sales"].waiting == WAITING)
                times["QueueCallerLeave -> queue panel"].append(
                    watch.since_event("QueueCallerLeave")
                )
            rounds_cpu = (time.process_time() - cpu) / (time.perf_counter() - wall) * 100
        finally:
            for phone in (caller, callee, queued):
                await phone.close()
    finally:
        if load.stdin is not None:
            load.stdin.close()
        try:
            await asyncio.wait_for(load.wait(), 30)
        except TimeoutError:
            load.kill()
            await load.wait()
        client.close()
    return {
        "start_ms": start_ms,
        "extensions": extensions,
        "channels": live_channels,
        "idle_cpu": idle_cpu,
        "tick_cpu": tick_cpu,
        "build_ms": build_ms,
        "rounds_cpu": rounds_cpu,
        **times,  # type: ignore[dict-item]
    }


def console_window(model: ConsoleModel) -> Any:
    """The real console window on ``model`` (Qt offscreen; drawn by hand, no Qt loop)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PyQt6.QtWidgets import QApplication  # noqa: PLC0415

    from iaxphone.gui.console.window import ConsoleWindow  # noqa: PLC0415

    global _APP  # noqa: PLW0603 (one QApplication per process)
    _APP = QApplication.instance() or QApplication(sys.argv[:1])
    window = ConsoleWindow(model)
    window.resize(1280, 800)
    window.ticker.stop()  # the benchmark ticks it, to measure the tick
    return window


_APP: object = None


def run(rounds: int = 20) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="iaxphone-console-scale-") as folder:
        conf = write_config(Path(folder))
        pbx("down")
        pbx("up", conf)
        try:
            figures = asyncio.run(measure(rounds))
        finally:
            pbx("down", conf)
            pbx("up")
    results = []
    for name, values in figures.items():
        if not isinstance(values, list):
            continue
        p95 = percentile(values, 0.95)
        results.append(Result(SCENARIO, f"{name}: p50 of {rounds}", percentile(values, 0.5), "ms"))
        results.append(Result(SCENARIO, f"{name}: p95", p95, "ms", "< 100 ms", p95 < 100))
    idle_cpu, rounds_cpu = float(figures["idle_cpu"]), float(figures["rounds_cpu"])
    tick_cpu = float(figures["tick_cpu"])
    results += [
        Result(
            SCENARIO,
            f"window: lay out {figures['extensions']} tiles (Qt offscreen)",
            float(figures["build_ms"]),
            "ms",
        ),
        Result(
            SCENARIO,
            f"start to full state ({figures['extensions']} tiles)",
            float(figures["start_ms"]),
            "ms",
        ),
        Result(
            SCENARIO,
            "start to full panel (connect, resync, window laid out)",
            float(figures["start_ms"]) + float(figures["build_ms"]),
            "ms",
        ),
        Result(SCENARIO, "live PBX channels during the rounds", float(figures["channels"]), ""),
        Result(
            SCENARIO,
            f"console CPU, load up, {IDLE_WINDOW_S:.0f} s window",
            idle_cpu,
            "% of a core",
            "< 20 %",
            idle_cpu < 20,
        ),
        Result(
            SCENARIO,
            "console CPU, load up, window redrawn every second (Qt offscreen)",
            tick_cpu,
            "% of a core",
            "< 20 %",
            tick_cpu < 20,
        ),
        Result(
            SCENARIO,
            "console CPU during the rounds (2 endpoints in-process)",
            rounds_cpu,
            "% of a core",
            "< 20 %",
            rounds_cpu < 20,
        ),
    ]
    return results


if __name__ == "__main__":
    for result in run():
        print(result.row())
