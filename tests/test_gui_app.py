"""The main window against the bundled PBX: contacts dial, a dropped contact transfers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from PyQt6.QtCore import QEvent, QPoint, QPointF, Qt
from PyQt6.QtGui import QDragEnterEvent, QDropEvent
from PyQt6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from iaxphone.gui.app import MainWindow
from iaxphone.gui.directory import NO_AMI, contact_mime
from iaxphone.history import History
from iaxphone.media.virtual import NullSink, SilenceSource
from iaxphone.pbx.models import LampState
from iaxphone.phone import LineState, Phone, PhoneAccount
from iaxphone.wire.constants import Format
from tests.ami import console_client
from tests.guiloop import PbxWaiter, desk_phone, run_on_qt_loop, screenshot, until
from tests.pbx import Pbx
from tests.test_devices import FakeBackend
from tests.test_gui_settings import MemoryKeyring


def incoming(phone: Phone) -> int | None:
    return next(
        (i for i, line in phone.lines.items() if line.info.state is LineState.INCOMING), None
    )


@pytest.fixture
def in_memory_keyring() -> Iterator[None]:
    before = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    try:
        yield
    finally:
        keyring.set_keyring(before)


def peers_line(peers: str, user: str) -> str:
    """The row of ``iax2 show peers`` for ``user``."""
    return next(line for line in peers.splitlines() if line.startswith(f"{user} "))


def drop_on(widget: object, number: str) -> None:
    """Drag a contact onto ``widget`` and drop it (Qt delivers a drop only after an enter)."""
    mime = contact_mime(number)  # the events do not own it: keep it alive while they live
    enter = QDragEnterEvent(
        QPoint(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, enter)  # type: ignore[arg-type]
    assert enter.isAccepted()
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        QEvent.Type.Drop,
    )
    QApplication.sendEvent(widget, event)  # type: ignore[arg-type]


@pytest.mark.pbx
def test_double_click_a_contact_dials_it_and_dropping_one_transfers(
    pbx: Pbx, qapp: QApplication, qtbot: QtBot, tmp_path: Path
) -> None:
    history = History(tmp_path / "history.sqlite3")

    async def scenario() -> None:
        async with (
            console_client(pbx) as client,
            desk_phone(pbx, 6005, history) as alice,
            desk_phone(pbx, 6010) as carol,
            desk_phone(pbx, 6009) as dave,
        ):
            waiter = PbxWaiter(client)
            window = MainWindow(alice, pbx=client, history=history, config_path=tmp_path / "c.toml")
            qtbot.addWidget(window)
            window.show()
            directory = window.directory
            assert directory.contacts.isEnabled() and "6010" in directory.items
            assert window.history_view is not None
            assert window.history_view.summary.text() == "no calls yet"

            contacts = directory.contacts
            rect = contacts.visualItemRect(directory.items["6010"])
            qtbot.mouseClick(contacts.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
            qtbot.mouseDClick(contacts.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
            await until(carol, lambda: incoming(carol) is not None, timeout=15)
            assert [line.info.number for line in alice.lines.values()] == ["6010"]
            await waiter.until(lambda: directory.lamp_of("6010") is LampState.RINGING)
            screenshot(window, "main-window-dialling")
            assert not window.can_transfer()  # only a call in progress can be transferred

            for_carol = incoming(carol)
            assert for_carol is not None
            carol.answer(for_carol)
            (alice_line,) = alice.lines
            await alice.wait_line(alice_line, LineState.TALKING)
            assert window.can_transfer()

            drop_on(window.handset, "6009")  # Carol goes to Dave; Alice is out of it
            await until(dave, lambda: incoming(dave) is not None, timeout=15)
            await until(alice, lambda: alice_line not in alice.lines, timeout=15)
            assert window.statusBar().currentMessage() == "transferring 6010 to 6009"  # type: ignore[union-attr]
            for_dave = incoming(dave)
            assert for_dave is not None
            dave.answer(for_dave)  # Carol's call, transferred
            await dave.wait_line(for_dave, LineState.TALKING)
            await carol.hangup(for_carol)  # Carol and Dave are connected: Dave's call ends
            await dave.wait_line(for_dave, LineState.ENDED)
            assert window.history_view.records[0].number == "6010"  # re-read when the call ended

    try:
        run_on_qt_loop(qapp, scenario())
    finally:
        history.close()


def test_without_ami_the_window_opens_with_contacts_disabled(qtbot: QtBot, tmp_path: Path) -> None:
    phone = Phone(
        [PhoneAccount("desk", ("127.0.0.1", 4569), "6001", "x")],
        source=SilenceSource(8000),
        sink=NullSink(8000),
        formats=[Format.ULAW],
    )
    window = MainWindow(phone, config_path=tmp_path / "config.toml", audio_backend=FakeBackend())
    qtbot.addWidget(window)
    assert window.directory.status.text() == NO_AMI
    assert not window.directory.contacts.isEnabled()
    assert window.history_view is None
    window.transfer("6002")  # no call: says so, does nothing
    assert window.statusBar().currentMessage() == "no call to transfer"  # type: ignore[union-attr]
    window.settings_action.trigger()
    dialog = window.settings_dialog
    assert dialog is not None and dialog.isVisible() and dialog.isModal()
    dialog.reject()
    assert not dialog.isVisible()


@pytest.mark.pbx
def test_settings_apply_at_once_a_new_login_registers_and_codecs_serve_the_next_call(
    pbx: Pbx, qapp: QApplication, qtbot: QtBot, tmp_path: Path, in_memory_keyring: None
) -> None:
    path = tmp_path / "config.toml"
    address = f"{pbx.host}:{pbx.iax_port}"
    path.write_text(f'[accounts.desk]\nserver = "{address}"\nuser = "6008"\n', encoding="utf-8")

    async def scenario() -> None:
        async with desk_phone(pbx, 6008) as phone:
            window = MainWindow(
                phone, config_path=path, account_name="desk", audio_backend=FakeBackend()
            )
            qtbot.addWidget(window)
            await until(phone, lambda: phone.registered.get("desk", False))
            window.open_settings()
            dialog = window.settings_dialog
            assert dialog is not None
            page, calls = dialog.account_page, dialog.call_page
            page.user.setText("6010")
            page.secret.setText(pbx.extension(6010)[1])
            for row in range(calls.codecs.count()):
                item = calls.codecs.item(row)
                assert item is not None
                wanted = item.data(Qt.ItemDataRole.UserRole) == "gsm"
                item.setCheckState(Qt.CheckState.Checked if wanted else Qt.CheckState.Unchecked)
            qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
            await asyncio.wait(set(window._tasks))  # unregister 6008, register 6010
            assert phone.accounts["desk"].user == "6010" and phone.registered["desk"]
            peers = pbx.cli("iax2 show peers")
            assert peers_line(peers, "6010").count("127.0.0.1") == 1  # registered from here
            assert "(null)" in peers_line(peers, "6008")  # the old login is gone
            line = await phone.dial("600")
            await phone.wait_line(line, LineState.TALKING)
            assert phone.lines[line].info.codec == "gsm"
            assert "IAX2/6010-" in pbx.cli("core show channels")
            await phone.hangup(line)

    run_on_qt_loop(qapp, scenario())
