"""The real console window against the bundled PBX: drops and keys, checked in CoreShowChannels."""

from __future__ import annotations

import asyncio

import pytest
from PyQt6.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt
from PyQt6.QtGui import QDragEnterEvent, QDropEvent
from PyQt6.QtWidgets import QApplication, QWidget

from iaxphone.gui.console.tiles import MIME_CALL
from iaxphone.gui.console.window import ConsoleWindow
from iaxphone.pbx.models import LampState
from iaxphone.pbx.permissions import Feature
from iaxphone.proto.events import TextReceived
from tests.guiloop import run_on_qt_loop, screenshot
from tests.pbx import Pbx
from tests.phones import answered_call, call_from, phone
from tests.test_console_pbx import console, pbx_channels, wait_pair

pytestmark = pytest.mark.pbx


def drop_call(widget: QWidget, uniqueid: str, x: int = 5) -> bool:
    """Drag a call (its Uniqueid) over ``widget`` and drop it at ``x``: the drop accepted?"""
    mime = QMimeData()
    mime.setData(MIME_CALL, uniqueid.encode())
    move = Qt.DropAction.MoveAction
    enter = QDragEnterEvent(
        QPoint(x, 5), move, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(widget, enter)
    dropped = QDropEvent(
        QPointF(x, 5),
        move,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        QEvent.Type.Drop,
    )
    QApplication.sendEvent(widget, dropped)
    return enter.isAccepted() and dropped.isAccepted()


def test_drop_a_tiles_call_on_another_tile_then_park_it_from_the_keyboard(
    pbx: Pbx, qapp: QApplication
) -> None:
    async def scenario() -> None:
        async with (
            console(pbx) as (model, watch),
            phone(pbx, 6004) as dave,
            phone(pbx, 6005) as erin,
            phone(pbx, 6006) as frank,
        ):
            window = ConsoleWindow(model)
            window.resize(1280, 800)
            window.show()
            call, _answered = await answered_call(dave, erin, pbx, 6004, "6005")
            ref = await watch.until(
                lambda: (t := model.tile("6005")).talking_since is not None and t.call
            )
            window.refresh_clocks()  # what the next redraw shows, now
            assert window.tiles["6005"].status.text().startswith("Dave Dunn")
            # Drop 6005's caller (Dave) on Frank's tile: a blind transfer.
            assert drop_call(window.tiles["6006"], ref.uniqueid)
            ringing = await asyncio.wait_for(frank.incoming.get(), 5)
            ringing.answer()
            await wait_pair(model, "IAX2/6004", "IAX2/6006")  # the PBX: Dave talks to Frank
            await watch.until(
                lambda: (t := model.tile("6006")).lamp is LampState.IN_USE and t.talking_since
            )
            window.refresh_clocks()
            assert window.tiles["6006"].status.text().startswith("Dave Dunn")
            # Keyboard: select Frank's tile, type "park", Enter.
            window.view.select("6006")
            window.target.setText("park")
            window._send_typed()
            parked = await watch.until(model.parking)
            assert parked[0].caller_number == "6004"
            window.refresh_clocks()
            assert window.parking.tree.topLevelItemCount() == 1
            (listed,) = await model.client.list_items("ParkedCall", Action="ParkedCalls")
            assert listed["ParkeeChannel"] == ref.channel  # the PBX parked Dave's leg
            screenshot(window, "console-live-parked")
            window.hide()
            await call.hangup()

    run_on_qt_loop(qapp, scenario())


def test_the_frontdesk_console_greys_supervision_and_says_why(pbx: Pbx, qapp: QApplication) -> None:
    async def scenario() -> None:
        async with (
            console(pbx, "frontdesk") as (model, watch),
            phone(pbx, 6001) as alice,
        ):
            window = ConsoleWindow(model)
            window.show()
            call = await call_from(alice, pbx, 6001, "600")
            await call.wait_answered(timeout=5)
            await watch.until(lambda: model.tile("6001").lamp is LampState.IN_USE)
            window.refresh_clocks()
            listen = [b for k, b in window.buttons.items() if getattr(k, "value", "") == "listen"]
            assert not listen[0].isEnabled()
            assert listen[0].toolTip() == "listen, whisper, barge needs the AMI class originate"
            assert not [c for c in await pbx_channels(model) if "ChanSpy" in c]
            window.hide()
            await call.hangup()

    run_on_qt_loop(qapp, scenario())


def test_the_message_key_sends_a_text_to_the_selected_phones_call(
    pbx: Pbx, qapp: QApplication
) -> None:
    async def scenario() -> None:
        async with console(pbx) as (model, watch), phone(pbx, 6002) as bob:
            window = ConsoleWindow(model)
            window.show()
            message_key = window.buttons[Feature.CHAT]
            assert message_key.text() == "Message" and message_key.isEnabled()
            window.view.select("6002")
            window.send_message("6002", "   ")
            assert window.status.text() == "no text to send"
            call = await call_from(bob, pbx, 6002, "600")
            await call.wait_answered(timeout=5)
            await watch.until(lambda: model.tile("6002").lamp is LampState.IN_USE)
            window.send_message("6002", "Bob, line 2 for you")
            got = await call.next_event(TextReceived, timeout=5)
            assert got.text == "Bob, line 2 for you"
            await asyncio.gather(*window._tasks)  # the action's answer
            assert window.status.text() == "text to 6002: done"
            window.hide()
            await call.hangup()

    run_on_qt_loop(qapp, scenario())
