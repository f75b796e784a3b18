"""The handset window driving a real Phone against the bundled PBX (Qt offscreen)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from iaxphone.gui.handset import HandsetWindow
from iaxphone.media.virtual import MemorySink
from iaxphone.pbx.models import Presence
from iaxphone.phone import LineState
from iaxphone.viewmodels.handset import IDLE_HINT
from tests.ami import AmiWatcher, console_client
from tests.guiloop import (
    PbxWaiter,
    desk_phone,
    gui_env,
    registered,
    run_gui_until,
    run_on_qt_loop,
    screenshot,
    until,
)
from tests.pbx import Pbx


def test_dial_the_echo_test_from_the_keypad_and_watch_the_call(
    pbx: Pbx, qapp: QApplication, qtbot: QtBot
) -> None:
    def ours(event: Any) -> bool:
        return str(event.Channel).startswith("IAX2/6001-")

    async def scenario() -> None:
        async with AmiWatcher(pbx) as ami, desk_phone(pbx, 6001) as phone:
            window = HandsetWindow(phone)
            qtbot.addWidget(window)
            window.show()
            assert window.registration.text() == "desk: registered"
            for key in "600":
                qtbot.mouseClick(window.keys[key], Qt.MouseButton.LeftButton)
            assert window.number.text() == "600"
            qtbot.mouseClick(window.call_button, Qt.MouseButton.LeftButton)
            await until(phone, lambda: window.call_state.text() == "talking")
            assert window.caller.text() == "to 600"
            assert window.codec.text() == "ulaw encrypted"  # desk phones use AES-128
            # Ten stats a second feed the graphs; the echo returns our tone.
            await until(phone, lambda: (~_nan(window.level_graph.samples)).sum() >= 10)
            levels = window.level_graph.samples[~_nan(window.level_graph.samples)]
            assert levels.max() > -40  # the 440 Hz tone came back, not silence
            assert window.mos.text().startswith("MOS ")
            assert window.timer.text() == "0:00"
            await until(phone, lambda: window.timer.text() == "0:01")  # the call timer runs
            screenshot(window, "handset-in-call")
            qtbot.mouseClick(window.hold_button, Qt.MouseButton.LeftButton)
            await until(phone, lambda: window.call_state.text() == "held")
            assert window.hold_button.isChecked()
            await ami.wait_for(lambda e: e.Event == "Hold" and ours(e))  # the PBX holds it
            qtbot.mouseClick(window.hold_button, Qt.MouseButton.LeftButton)
            await until(phone, lambda: window.call_state.text() == "talking")
            await ami.wait_for(lambda e: e.Event == "Unhold" and ours(e))
            # Mute: the echo test returns what we send, so the speaker falls silent.
            qtbot.mouseClick(window.mute_button, Qt.MouseButton.LeftButton)
            assert phone.active_line is not None and phone.active_line.info.muted
            await until(phone, lambda: window.level_graph.series["speaker"][-1] < -60)
            qtbot.mouseClick(window.mute_button, Qt.MouseButton.LeftButton)
            await until(phone, lambda: window.level_graph.series["speaker"][-1] > -40)
            qtbot.keyClick(window, Qt.Key.Key_Escape)
            await until(phone, lambda: window.call_state.text() == "ended")
            assert window.line is not None and window.line.state is LineState.ENDED

    run_on_qt_loop(qapp, scenario())


def test_idle_window_then_an_incoming_call_answered_with_enter(
    pbx: Pbx, qapp: QApplication, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        async with desk_phone(pbx, 6002) as bob, desk_phone(pbx, 6003) as carol:
            window = HandsetWindow(bob)
            qtbot.addWidget(window)
            window.show()
            assert window.call_state.text() == "idle"
            screenshot(window, "handset-idle")
            line_id = await carol.dial("6002")
            await until(bob, lambda: window.call_state.text() == "incoming")
            assert window.caller.text().startswith("from ") and "6003" in window.caller.text()
            assert window.call_button.text() == "&Answer"
            speaker = bob.gate.sink  # no ringing device given: it rings on the phone's speaker
            assert isinstance(speaker, MemorySink) and np.abs(speaker.samples).max() > 3000
            assert window.ringer.ringing and window.notifier.shown
            screenshot(window, "handset-ringing")
            qtbot.keyClick(window.number, Qt.Key.Key_Return)
            await until(bob, lambda: window.call_state.text() == "talking")
            assert not window.ringer.ringing
            await carol.wait_line(line_id, LineState.TALKING)
            await carol.hangup(line_id)
            await until(bob, lambda: window.call_state.text() == "ended")

    run_on_qt_loop(qapp, scenario())


def test_with_ami_the_dnd_key_is_published_to_the_pbx(
    pbx: Pbx, qapp: QApplication, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        async with console_client(pbx) as client, desk_phone(pbx, 6007) as bob:
            waiter = PbxWaiter(client)
            window = HandsetWindow(bob, pbx=client)
            qtbot.addWidget(window)
            qtbot.mouseClick(window.dnd_button, Qt.MouseButton.LeftButton)
            await waiter.until(lambda: client.state.extensions["6007"].presence is Presence.DND)
            qtbot.mouseClick(window.dnd_button, Qt.MouseButton.LeftButton)
            await waiter.until(
                lambda: client.state.extensions["6007"].presence is Presence.AVAILABLE
            )
            assert not bob.dnd

    run_on_qt_loop(qapp, scenario())


def test_dnd_key_refuses_calls_busy(pbx: Pbx, qapp: QApplication, qtbot: QtBot) -> None:
    async def scenario() -> None:
        async with (
            AmiWatcher(pbx) as ami,
            desk_phone(pbx, 6004) as bob,
            desk_phone(pbx, 6005) as carol,
        ):
            window = HandsetWindow(bob)
            qtbot.addWidget(window)
            qtbot.mouseClick(window.dnd_button, Qt.MouseButton.LeftButton)
            assert bob.dnd and window.message.text() == "do not disturb"
            line_id = await carol.dial("6004")
            dial_end = await ami.wait_for(
                lambda e: e.Event == "DialEnd" and str(e.DestChannel).startswith("IAX2/6004")
            )
            assert dial_end.DialStatus == "BUSY"  # then the PBX offers Bob's voicemail
            await carol.hangup(line_id)
            qtbot.mouseClick(window.dnd_button, Qt.MouseButton.LeftButton)
            assert not bob.dnd and window.message.text() == IDLE_HINT  # the idle phone's hint

    run_on_qt_loop(qapp, scenario())


def _nan(values: Any) -> Any:
    return np.isnan(values)


pytestmark = pytest.mark.pbx


async def test_iaxphone_gui_registers_and_closes_on_sigterm(pbx: Pbx, tmp_path: Path) -> None:
    user, secret = pbx.extension(6009)
    server = ["--server", f"{pbx.host}:{pbx.iax_port}", "--user", user, "--secret", secret]
    async with AmiWatcher(pbx) as ami:
        code, err = await run_gui_until(ami, tmp_path, server, registered("6009"))
    assert code == 0, err
    assert b"Traceback" not in err


def test_without_a_display_gui_says_so(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "iaxphone.cli",
            "gui",
            "--server",
            "127.0.0.1",
            "--user",
            "6001",
            "--secret",
            "x",
        ],
        env=gui_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert (
        result.stderr.strip() == "iaxphone: no display (set DISPLAY, or use the iaxphone command)"
    )
    bare = subprocess.run(
        [sys.executable, "-m", "iaxphone.cli"],
        env=gui_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bare.returncode == 2 and "COMMAND" in bare.stderr  # no display: usage, not a window


def test_a_pasted_iax_uri_dials_and_a_bad_one_is_said(
    pbx: Pbx, qapp: QApplication, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        async with desk_phone(pbx, 6009) as phone:
            window = HandsetWindow(phone)
            qtbot.addWidget(window)
            window.show()
            clipboard = QApplication.clipboard()
            assert clipboard is not None
            clipboard.setText("not a number!")
            window.number.setFocus()
            qtbot.keyClick(window.number, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
            qtbot.keyClick(window.number, Qt.Key.Key_Return)
            await asyncio.wait(set(window._tasks))  # the dial fails without a phone event
            assert "neither an extension nor an iax: URI" in window.message.text()
            assert not phone.lines
            window.number.clear()
            clipboard.setText(f"iax:6009@{pbx.host}:{pbx.iax_port}/600")
            qtbot.keyClick(window.number, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
            assert window.number.text() == f"iax:6009@{pbx.host}:{pbx.iax_port}/600"
            qtbot.keyClick(window.number, Qt.Key.Key_Return)
            await until(phone, lambda: window.call_state.text() == "talking")
            assert window.caller.text() == "to 600"
            qtbot.keyClick(window, Qt.Key.Key_Escape)
            await until(phone, lambda: window.call_state.text() == "ended")

    run_on_qt_loop(qapp, scenario())


def test_an_open_padlock_on_a_call_the_pbx_does_not_encrypt(
    pbx: Pbx, qapp: QApplication, qtbot: QtBot
) -> None:
    """Encryption allowed (offered), 6091 has it off at the PBX: shown as in clear."""

    async def scenario() -> None:
        async with desk_phone(pbx, 6091) as phone:  # encryption = no for 6091
            window = HandsetWindow(phone)
            qtbot.addWidget(window)
            window.show()
            await phone.dial("600")
            await until(phone, lambda: window.call_state.text() == "talking")
            assert window.codec.text().startswith("ulaw not encrypted")
            assert phone.active_line is not None and not phone.active_line.info.encrypted
            assert phone.active_line.info.encryption == "allowed-unused"
            assert window.padlock.pixmap() is not None and not window.padlock.pixmap().isNull()
            assert "not encrypted" in window.padlock.toolTip()
            qtbot.keyClick(window, Qt.Key.Key_Escape)
            await until(phone, lambda: window.call_state.text() == "ended")

    run_on_qt_loop(qapp, scenario())
