"""The console's own softphone against the bundled PBX: answer, hold, drop, pick up, note.

Each scenario drives the real window (ConsoleWindow with the operator's
Phone for 6010 and its HandsetModel) and checks the PBX's own view of the
result through AMI CoreShowChannels (who is bridged with whom) or
ParkedCalls, and the history file for the note.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PyQt6.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt
from PyQt6.QtGui import QDragEnterEvent, QDropEvent
from PyQt6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from iaxphone.gui.console.calllog import NOTE
from iaxphone.gui.console.tiles import MIME_CALL
from iaxphone.gui.console.window import ConsoleWindow
from iaxphone.history import History
from iaxphone.linestate import LineState
from iaxphone.pbx.console import ConsoleModel
from iaxphone.pbx.models import LampState
from iaxphone.phone import Phone
from iaxphone.viewmodels.handset import HandsetModel, Key
from tests.guiloop import desk_phone, run_on_qt_loop, until
from tests.pbx import Pbx
from tests.phones import call_from, phone
from tests.test_console_pbx import Watch, console, pbx_channels, wait_pair

pytestmark = pytest.mark.pbx


def drop(widget: QWidget, payload: str, x: int = 5, ctrl: bool = False) -> bool:
    """Drag ``payload`` (a Uniqueid, or line:ID) over ``widget`` and drop it at ``x``."""
    mime = QMimeData()
    mime.setData(MIME_CALL, payload.encode())
    move = Qt.DropAction.MoveAction
    modifiers = Qt.KeyboardModifier.ControlModifier if ctrl else Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(QPoint(x, 5), move, mime, Qt.MouseButton.LeftButton, modifiers)
    QApplication.sendEvent(widget, enter)
    dropped = QDropEvent(
        QPointF(x, 5), move, mime, Qt.MouseButton.LeftButton, modifiers, QEvent.Type.Drop
    )
    QApplication.sendEvent(widget, dropped)
    return enter.isAccepted() and dropped.isAccepted()


def connected(channels: dict[str, dict[str, str]], a: str, b: str) -> bool:
    """Devices ``a`` and ``b`` connected: through one bridge, or through bridges
    joined by a Local channel's two halves (the PBX's attended transfer)."""
    parent = {name: name for name in channels}

    def root(name: str) -> str:
        while parent[name] != name:
            name = parent[name]
        return name

    by_bridge: dict[str, str] = {}
    for name, channel in channels.items():
        links = []
        if channel.get("BridgeId"):
            links.append(by_bridge.setdefault(channel["BridgeId"], name))
        if name.startswith("Local/"):
            other = name[:-1] + ("2" if name.endswith("1") else "1")
            if other in channels:
                links.append(other)
        for link in links:
            parent[root(name)] = root(link)
    ends = {device: [n for n in channels if n.rsplit("-", 1)[0] == device] for device in (a, b)}
    return any(root(x) == root(y) for x in ends[a] for y in ends[b])


async def joined(model: ConsoleModel, a: str, b: str, timeout: float = 15) -> None:
    """Wait until the PBX's CoreShowChannels shows ``a`` and ``b`` connected."""
    deadline = time.monotonic() + timeout
    while not connected(channels := await pbx_channels(model), a, b):
        assert time.monotonic() < deadline, f"{a} and {b} never joined: {sorted(channels)}"
        await asyncio.sleep(0.1)


def ringing_line(operator: Phone) -> int | None:
    return next(
        (i for i, line in operator.lines.items() if line.info.state is LineState.INCOMING), None
    )


@contextlib.asynccontextmanager
async def operator_console(
    pbx: Pbx, qtbot: QtBot, history: History
) -> AsyncIterator[tuple[ConsoleWindow, ConsoleModel, Watch, Phone]]:
    async with console(pbx) as (model, watch), desk_phone(pbx, 6010, history) as operator:
        await until(operator, lambda: operator.registered.get("desk", False))
        handset = HandsetModel(operator, model.client, recordings=history.path.parent / "rec")
        window = ConsoleWindow(model, handset=handset)
        qtbot.addWidget(window)
        window.resize(1280, 800)
        window.show()
        try:
            yield window, model, watch, operator
        finally:
            handset.close()
            window.hide()


def test_own_call_answered_noted_held_and_dropped_on_a_tile(
    pbx: Pbx, qapp: QApplication, qtbot: QtBot, tmp_path: Path
) -> None:
    history = History(tmp_path / "history.sqlite3")

    async def scenario() -> None:
        async with (
            operator_console(pbx, qtbot, history) as (window, model, watch, operator),
            phone(pbx, 6001) as alice,
            phone(pbx, 6002) as bob,
        ):
            bar = window.operator_bar
            call = await call_from(alice, pbx, 6001, "6010")
            await until(operator, lambda: ringing_line(operator) is not None)
            assert bar.keys[Key.CALL].text() == "Answer" and bar.keys[Key.CALL].isEnabled()
            assert "Alice" in bar.caller.text() or "6001" in bar.caller.text()
            qtbot.mouseClick(bar.keys[Key.CALL], Qt.MouseButton.LeftButton)
            (line_id,) = operator.lines
            await operator.wait_line(line_id, LineState.TALKING)
            await wait_pair(model, "IAX2/6001", "IAX2/6010")  # the PBX: Alice talks to us
            assert bar.state.text().startswith("talking")

            # The note goes to this call's history row at once.
            bar.note.setText("wants the March invoice")
            bar.note.editingFinished.emit()
            assert history.recent(1)[0].note == "wants the March invoice"

            qtbot.mouseClick(bar.keys[Key.HOLD], Qt.MouseButton.LeftButton)
            await operator.wait_line(line_id, LineState.HELD)
            assert bar.keys[Key.HOLD].text() == "Resume"
            qtbot.mouseClick(bar.keys[Key.HOLD], Qt.MouseButton.LeftButton)
            await operator.wait_line(line_id, LineState.TALKING)

            # Drag the operator's own call onto Bob's tile: a blind transfer.
            await watch.until(lambda: model.tile("6010").lamp is LampState.IN_USE)
            assert drop(window.tiles["6002"], f"line:{line_id}")
            ringing = await asyncio.wait_for(bob.incoming.get(), 10)
            ringing.answer()
            await wait_pair(model, "IAX2/6001", "IAX2/6002")  # the PBX: Alice now talks to Bob
            await operator.wait_line(line_id, LineState.ENDED)
            (record,) = history.recent(1)
            assert (record.number, record.note) == ("6001", "wants the March invoice")
            assert window.calllog is not None
            item = window.calllog.row(0)
            assert item is not None and item.text(NOTE) == "wants the March invoice"
            # Editing the note in the call log keeps it with the same row.
            window.calllog.set_note(0, "invoice sent")
            assert history.get(record.id).note == "invoice sent"  # type: ignore[union-attr]
            await call.hangup()

    try:
        run_on_qt_loop(qapp, scenario())
    finally:
        history.close()


def test_click_a_ringing_tile_picks_up_and_double_click_calls_then_typed_transfer(
    pbx: Pbx, qapp: QApplication, qtbot: QtBot, tmp_path: Path
) -> None:
    history = History(tmp_path / "history.sqlite3")

    async def scenario() -> None:
        async with (
            operator_console(pbx, qtbot, history) as (window, model, watch, operator),
            phone(pbx, 6003) as carol,
            phone(pbx, 6004) as _dave,
            phone(pbx, 6005) as erin,
            phone(pbx, 6002) as bob,
        ):
            bar = window.operator_bar
            # Carol rings Dave, who does not answer: a click on Dave's tile takes it here.
            call = await call_from(carol, pbx, 6003, "6004")
            await watch.until(lambda: model.tile("6004").lamp is LampState.RINGING)
            window.refresh_clocks()
            qtbot.mouseClick(window.tiles["6004"], Qt.MouseButton.LeftButton)
            await wait_pair(model, "IAX2/6003", "IAX2/6010")  # the PBX: Carol talks to us
            (line_id,) = operator.lines
            qtbot.mouseClick(bar.keys[Key.HANG_UP], Qt.MouseButton.LeftButton)
            await operator.wait_line(line_id, LineState.ENDED)
            await call.wait_ended(timeout=10)  # Carol's call ended with ours

            # Double-click Erin's idle tile: the operator's phone calls her.
            await watch.until(lambda: model.tile("6005").lamp is LampState.IDLE)
            window.refresh_clocks()
            qtbot.mouseDClick(window.tiles["6005"], Qt.MouseButton.LeftButton)
            try:
                for_erin = await asyncio.wait_for(erin.incoming.get(), 10)
            except TimeoutError:
                infos = [line.info for line in operator.lines.values()]
                raise AssertionError(
                    f"{bar.message.text()!r} {window.status.text()!r} {infos}"
                ) from None
            for_erin.answer()
            await wait_pair(model, "IAX2/6010", "IAX2/6005")
            (to_erin,) = operator.lines
            await operator.wait_line(to_erin, LineState.TALKING)
            # The keyboard path: type a name in the number field, Enter - a blind transfer.
            bar.number.setFocus()
            qtbot.keyClicks(bar.number, "Bob Bak")
            qtbot.keyClick(bar.number, Qt.Key.Key_Return)
            for_bob = await asyncio.wait_for(bob.incoming.get(), 10)
            for_bob.answer()
            await joined(model, "IAX2/6005", "IAX2/6002")  # the PBX: Erin talks to Bob
            assert bar.number.text() == ""
            await for_bob.hangup()

    try:
        run_on_qt_loop(qapp, scenario())
    finally:
        history.close()


def test_own_call_dropped_on_the_parking_lot_and_ctrl_drop_consults(
    pbx: Pbx, qapp: QApplication, qtbot: QtBot, tmp_path: Path
) -> None:
    history = History(tmp_path / "history.sqlite3")

    async def scenario() -> None:
        async with (
            operator_console(pbx, qtbot, history) as (window, model, watch, operator),
            phone(pbx, 6007) as grace,
            phone(pbx, 6008) as heidi,
            phone(pbx, 6009) as ivan,
        ):
            bar = window.operator_bar
            first = await call_from(grace, pbx, 6007, "6010")
            await until(operator, lambda: ringing_line(operator) is not None)
            line_id = ringing_line(operator)
            assert line_id is not None
            qtbot.mouseClick(bar.keys[Key.CALL], Qt.MouseButton.LeftButton)
            await operator.wait_line(line_id, LineState.TALKING)
            await wait_pair(model, "IAX2/6007", "IAX2/6010")
            assert drop(window.parking, f"line:{line_id}")
            await watch.until(lambda: [p for p in model.parking() if p.caller_number == "6007"])
            listed = await model.client.list_items("ParkedCall", Action="ParkedCalls")
            assert [p for p in listed if p["ParkeeChannel"].startswith("IAX2/6007-")]  # the PBX's
            await operator.wait_line(line_id, LineState.ENDED)

            # Heidi calls; Ctrl+drop on Ivan's tile consults Ivan first (attended).
            second = await call_from(heidi, pbx, 6008, "6010")
            await until(operator, lambda: ringing_line(operator) is not None)
            line_id = ringing_line(operator)
            assert line_id is not None
            qtbot.mouseClick(bar.keys[Key.CALL], Qt.MouseButton.LeftButton)
            await operator.wait_line(line_id, LineState.TALKING)
            await wait_pair(model, "IAX2/6008", "IAX2/6010")
            assert drop(window.tiles["6009"], f"line:{line_id}", ctrl=True)
            for_ivan = await asyncio.wait_for(ivan.incoming.get(), 15)
            for_ivan.answer()
            await until(operator, bar.keys[Key.COMPLETE].isEnabled, timeout=15)
            # The PBX runs the consultation: we talk to Ivan (through a Local channel).
            await joined(model, "IAX2/6010", "IAX2/6009")
            qtbot.mouseClick(bar.keys[Key.COMPLETE], Qt.MouseButton.LeftButton)
            await joined(model, "IAX2/6008", "IAX2/6009")  # the PBX: Heidi talks to Ivan
            await operator.wait_line(line_id, LineState.ENDED)
            await first.hangup()
            await second.hangup()

    try:
        run_on_qt_loop(qapp, scenario())
    finally:
        history.close()
