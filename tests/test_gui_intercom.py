"""The handset window shows that the PBX's intercom answered a call for you, and that the
microphone is muted (Qt offscreen, against the bundled PBX)."""

from __future__ import annotations

from PyQt6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from iaxphone.gui.handset import HandsetWindow
from tests.guiloop import desk_phone, run_on_qt_loop, screenshot, until
from tests.pbx import Pbx
from tests.phones import call_from, phone


def test_an_intercom_call_is_shown_as_answered_for_you_with_the_microphone_muted(
    pbx: Pbx, qapp: QApplication, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        async with desk_phone(pbx, 6004) as desk, phone(pbx, 6010, register=False) as caller:
            window = HandsetWindow(desk)
            qtbot.addWidget(window)
            window.show()
            call = await call_from(caller, pbx, 6010, "*806004")
            expected = "talking (intercom: answered for you, microphone muted)"
            await until(desk, lambda: window.call_state.text() == expected)
            assert window.mute_button.isChecked()
            assert not window.ringer.ringing
            screenshot(window, "handset-intercom")
            await call.hangup()
            await until(desk, lambda: window.call_state.text() == "ended")

    run_on_qt_loop(qapp, scenario())
