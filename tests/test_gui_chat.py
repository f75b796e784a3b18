"""The handset's chat pane against the bundled PBX: typed, echoed by the dialplan, sent over AMI."""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from iaxphone.gui.handset import HandsetWindow
from tests.ami import console_client
from tests.guiloop import desk_phone, run_on_qt_loop, screenshot, until
from tests.pbx import Pbx


def test_the_chat_pane_shows_typed_received_and_pbx_texts(
    pbx: Pbx, qapp: QApplication, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        async with console_client(pbx) as ami, desk_phone(pbx, 6005) as phone:
            window = HandsetWindow(phone)
            qtbot.addWidget(window)
            window.show()
            chat = window.chat
            assert not chat.field.isEnabled()  # no call, no chat
            window.dial("603")

            def texts() -> list[str]:
                return [e.text for e in chat.model.view().entries]

            # The dialplan's SendText (a loaded machine draws slowly: generous timeouts)
            await until(phone, lambda: texts() == ["Text echo ready"], timeout=30)
            await until(phone, chat.field.isEnabled, timeout=30)
            assert chat.title.text().startswith("<b>Chat with 603")
            qtbot.keyClicks(chat.field, "Hello from the handset")
            chat.field.insert(" ✓")  # QTest types ASCII only
            qtbot.keyClick(chat.field, Qt.Key.Key_Return)
            assert chat.field.text() == ""
            await until(phone, lambda: texts()[-1] == "echo: Hello from the handset ✓", timeout=30)
            ours = [c for c in await ami.channels() if c.name.startswith("IAX2/6005-")]
            newest = min(ours, key=lambda c: c.duration_s)  # a crashed run's call may linger
            await ami.send_text(newest.name, "Reception: your visitor is here")
            await until(phone, lambda: texts()[-1] == "Reception: your visitor is here", timeout=30)
            assert [e.direction for e in chat.model.view().entries] == [
                "in",
                "out",
                "in",
                "in",
            ]
            assert "Hello from the handset ✓" in chat.transcript.toPlainText()
            screenshot(window, "handset-chat")
            window.hang_up()
            await until(phone, lambda: window.call_state.text() == "ended", timeout=30)
            assert not chat.field.isEnabled()
            assert len(texts()) == 4  # the ended call's conversation can still be read

    run_on_qt_loop(qapp, scenario())
