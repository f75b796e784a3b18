"""Screenshots of the console against the bundled PBX: the idle office, and a busy one.

The busy office is real traffic through the PBX, made by iaxphone
endpoints: seven two-party calls (three between desk phones, three to
the echo and tone services, one at the operator's own softphone), three
callers waiting in the sales queue (its members are busy), two parked
calls and a three-party conference in room 800 - fifteen calls.  The
screenshots land in test-output/screenshots (console-idle,
console-busy, console-busy-dark); docs/screenshots/ holds copies and
the README shows the busy one.  Each screenshot is checked not to be
blank (guiloop.screenshot).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import pytest
from PyQt6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from iaxphone.gui.console.style import palette
from iaxphone.history import History
from iaxphone.linestate import LineState
from iaxphone.pbx.console import ConsoleModel
from iaxphone.pbx.models import LampState
from iaxphone.viewmodels.handset import Key
from tests.guiloop import run_on_qt_loop, screenshot, until
from tests.pbx import Pbx
from tests.phones import call_from, phone
from tests.test_console_pbx import pbx_channels
from tests.test_gui_console_phone import operator_console, ringing_line

pytestmark = pytest.mark.pbx


async def in_application(model: ConsoleModel, caller: str, application: str) -> str:
    """The channel of ``caller``'s call once the PBX runs ``application`` on it."""
    deadline = time.monotonic() + 10
    while True:
        channels = await pbx_channels(model)
        found = [
            name
            for name, channel in channels.items()
            if name.startswith(f"IAX2/{caller}-") and channel.get("Application") == application
        ]
        if found:
            return found[0]
        assert time.monotonic() < deadline, {n: c.get("Application") for n, c in channels.items()}
        await asyncio.sleep(0.05)


def test_idle_and_busy_office_screenshots(
    pbx: Pbx, qapp: QApplication, qtbot: QtBot, tmp_path: Path
) -> None:
    history = History(tmp_path / "history.sqlite3")

    async def scenario() -> None:
        async with (
            operator_console(pbx, qtbot, history) as (window, model, watch, operator),
            contextlib.AsyncExitStack() as stack,
        ):
            # Every desk phone registered (an unregistered IAX2 peer's lamp is "offline").
            desks = {n: await stack.enter_async_context(phone(pbx, n)) for n in range(6001, 6010)}
            bob, dave, frank, trunk = desks[6002], desks[6004], desks[6006], desks[6001]
            await watch.until(lambda: model.tile("6002").lamp is LampState.IDLE)
            window.refresh_clocks()
            screenshot(window, "console-idle")

            calls = []
            for caller, callee, answering in ((6001, "6002", bob), (6003, "6004", dave),
                                              (6005, "6006", frank)):  # fmt: skip
                calls.append(await call_from(trunk, pbx, caller, callee))
                (await asyncio.wait_for(answering.incoming.get(), 10)).answer()
            for caller, service in ((6007, "600"), (6008, "600"), (6009, "601")):
                calls.append(await call_from(trunk, pbx, caller, service))
            # A call at the operator's own softphone, answered from the bar.
            calls.append(await call_from(trunk, pbx, 6001, "6010"))
            await until(operator, lambda: ringing_line(operator) is not None)
            line_id = ringing_line(operator)
            assert line_id is not None
            window.operator_bar.press(Key.CALL)
            await operator.wait_line(line_id, LineState.TALKING)
            # Sales' members (6001-6003) are all on calls: these callers wait.
            for caller in (6004, 6005, 6006):
                calls.append(await call_from(trunk, pbx, caller, "610"))
            await watch.until(lambda: model.queue_tracker.queues["sales"].waiting == 3)
            # Two calls parked by the operator.
            for caller in (6002, 6003):
                calls.append(await call_from(trunk, pbx, caller, "601"))
            for call in calls[-2:]:
                await call.wait_answered(timeout=10)
            for caller in ("6002", "6003"):
                await model.client.park(await in_application(model, caller, "Milliwatt"))
            await watch.until(lambda: len(model.parking()) == 2)
            # A three-party conference.
            for caller in (6007, 6008, 6009):
                calls.append(await call_from(trunk, pbx, caller, "800"))
            await watch.until(
                lambda: (
                    (room := model.room_tracker.rooms.get("800")) is not None
                    and len(room.participants) == 3
                )
            )
            window.operator_bar.note.setText("asked about the March invoice")
            await asyncio.sleep(1.2)  # let the timers show a second or so (cosmetic)
            window.refresh_clocks()
            in_use = [t for t in model.tiles() if t.lamp is LampState.IN_USE]
            assert len(in_use) >= 9
            screenshot(window, "console-busy")
            app = QApplication.instance()
            assert isinstance(app, QApplication)
            before, style = app.palette(), app.style().name()  # type: ignore[union-attr]
            try:
                app.setStyle("Fusion")
                app.setPalette(palette(dark=True))
                window.refresh_clocks()
                QApplication.processEvents()
                screenshot(window, "console-busy-dark")
            finally:
                app.setStyle(style)
                app.setPalette(before)
            for call in calls:
                await call.hangup()

    try:
        run_on_qt_loop(qapp, scenario())
    finally:
        history.close()
