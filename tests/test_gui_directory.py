"""The contacts panel: lamps and presence from a live PbxClient, call and transfer signals."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import pytest
from PyQt6.QtCore import QEvent, QPoint, QPointF, Qt
from PyQt6.QtGui import QDragEnterEvent, QDropEvent
from PyQt6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from iaxphone.gui.directory import (
    MIME_TYPE,
    NO_AMI,
    DirectoryPanel,
    TransferDropTarget,
    contact_mime,
)
from iaxphone.pbx.ami import LampChanged, LinkChanged, PbxEvent, Resynced
from iaxphone.pbx.models import Extension, LampState, PbxState, Presence
from tests.ami import console_client
from tests.guiloop import PbxWaiter, desk_phone, run_on_qt_loop, until
from tests.pbx import Pbx


def drop(widget: QLabel, number: str) -> tuple[bool, bool]:
    """Drag ``number`` over ``widget`` and drop it: (enter accepted, drop accepted)."""
    mime = contact_mime(number)
    copy = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(
        QPoint(5, 5), copy, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(widget, enter)
    dropped = QDropEvent(
        QPointF(5, 5),
        copy,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        QEvent.Type.Drop,
    )
    QApplication.sendEvent(widget, dropped)
    return enter.isAccepted(), dropped.isAccepted()


@pytest.mark.pbx
def test_lamps_and_presence_follow_a_real_phone_and_double_click_calls(
    pbx: Pbx, qapp: QApplication, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        async with console_client(pbx) as client, desk_phone(pbx, 6008) as phone:
            waiter = PbxWaiter(client)
            panel = DirectoryPanel(client, names={"6008": "Hal Hughes"})
            qtbot.addWidget(panel)
            panel.show()
            assert [f"{n}" for n in range(6001, 6011)] == [
                n for n in panel.items if n.startswith("60") and len(n) == 4
            ]
            assert panel.status.text() == f"{len(client.state.extensions)} extensions"
            item = panel.items["6008"]
            assert "Hal Hughes" in item.text()
            await waiter.until(lambda: panel.lamp_of("6008") is LampState.IDLE)
            assert item.text().endswith("—  available")  # idle, no presence set

            line_id = await phone.dial("600")  # the echo test: 6008 is in use
            await waiter.until(lambda: item.text().endswith("—  on a call"), timeout=15)
            assert panel.lamp_of("6008") is LampState.IN_USE

            await client.set_presence("6008", Presence.AWAY)
            await waiter.until(lambda: client.state.extensions["6008"].presence is Presence.AWAY)
            assert item.text().endswith("—  on a call")  # the call matters more than "away"

            phone.hold(line_id)  # the lamp shows the held call
            await waiter.until(lambda: panel.lamp_of("6008") is LampState.ON_HOLD)
            assert item.text().endswith("—  on a call (on hold)")
            phone.resume(line_id)
            await waiter.until(lambda: panel.lamp_of("6008") is LampState.IN_USE)

            await phone.hangup(line_id)
            await waiter.until(lambda: item.text().endswith("—  away"), timeout=15)
            await client.set_presence("6008", Presence.AVAILABLE)
            await waiter.until(lambda: item.text().endswith("—  available"))

            # Double-click and Enter both ask for a call to the contact.
            rect = panel.contacts.visualItemRect(item)
            viewport = panel.contacts.viewport()
            with qtbot.waitSignal(panel.call_requested, timeout=2000) as clicked:
                # A real double-click is press, release, double-click (QTest sends only the last).
                qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())
                qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())
            assert clicked.args == ["6008"]
            panel.contacts.setCurrentItem(panel.items["6003"])
            with qtbot.waitSignal(panel.call_requested, timeout=2000) as entered:
                qtbot.keyClick(panel.contacts, Qt.Key.Key_Return)
            assert entered.args == ["6003"]

            # Dragging a contact out carries its number; the handset's drop target
            # turns it into a transfer request.
            mime = panel.contacts.mimeData([item])
            assert bytes(mime.data(MIME_TYPE).data()) == b"6008" and mime.text() == "6008"
            display = QLabel("talking")
            qtbot.addWidget(display)
            target = TransferDropTarget(display)
            with qtbot.waitSignal(target.transfer_requested, timeout=2000) as transfer:
                assert drop(display, str(bytes(mime.data(MIME_TYPE).data()).decode())) == (
                    True,
                    True,
                )
            assert transfer.args == ["6008"]
            await until(phone, lambda: phone.lines == {})

    run_on_qt_loop(qapp, scenario())


def test_filter_hides_contacts_that_do_not_match(qtbot: QtBot) -> None:
    """Without a PBX: the panel reads only ``state`` and ``subscribe`` of its client."""
    state = PbxState()
    state.extensions = {
        "6001": Extension("6001", "office", "IAX2/6001", LampState.IDLE),
        "6002": Extension("6002", "office", "IAX2/6002", LampState.IN_USE, Presence.DND),
        "600": Extension("600", "office", "", LampState.UNAVAILABLE),
    }
    client = SimpleNamespace(state=state, subscribe=lambda listener: None)
    panel = DirectoryPanel(client, names={"6001": "Alice Archer"})  # type: ignore[arg-type]
    qtbot.addWidget(panel)
    assert list(panel.items) == ["600", "6001", "6002"]  # numeric order
    qtbot.keyClicks(panel.filter, "alice")
    assert panel.visible_numbers() == ["6001"]
    panel.filter.setText("on a call")
    assert panel.visible_numbers() == ["6002"]
    panel.filter.setText("")
    assert panel.visible_numbers() == ["600", "6001", "6002"]
    panel.set_name("6002", "Bob Baker")
    panel.filter.setText("bob")
    assert panel.visible_numbers() == ["6002"]


def test_a_contact_reads_as_one_phrase_a_person_understands(qtbot: QtBot) -> None:
    state = PbxState()
    state.extensions = {  # not registered, though its presence says available
        "6003": Extension("6003", "office", "IAX2/6003", LampState.UNAVAILABLE, Presence.AVAILABLE),
        "6004": Extension("6004", "office", "IAX2/6004", LampState.IDLE, Presence.DND),
        "6005": Extension("6005", "office", "IAX2/6005", LampState.IDLE, Presence.XA),
        "6006": Extension("6006", "office", "IAX2/6006", LampState.RINGING, Presence.AWAY),
        "6007": Extension("6007", "office", "IAX2/6007", LampState.UNKNOWN),
    }
    client = SimpleNamespace(state=state, subscribe=lambda listener: None)
    panel = DirectoryPanel(client)  # type: ignore[arg-type]
    qtbot.addWidget(panel)
    said = {number: item.text().split("—  ", 1)[1] for number, item in panel.items.items()}
    assert said == {
        "6003": "offline",
        "6004": "do not disturb",
        "6005": "away",
        "6006": "ringing",
        "6007": "status unknown",
    }


def test_dropping_a_contact_on_the_call_display_requests_a_transfer(qtbot: QtBot) -> None:
    display = QLabel("talking")
    qtbot.addWidget(display)
    on_call = [False]
    target = TransferDropTarget(display, can_transfer=lambda: on_call[0])
    assert display.acceptDrops()
    requests: list[str] = []
    target.transfer_requested.connect(requests.append)
    assert drop(display, "6004") == (False, False)  # no call to transfer
    assert requests == []
    on_call[0] = True
    assert drop(display, "6004") == (True, True)
    assert requests == ["6004"]


def test_without_ami_the_panel_is_disabled_and_says_why(qtbot: QtBot) -> None:
    panel = DirectoryPanel(None)
    qtbot.addWidget(panel)
    assert panel.status.text() == NO_AMI == "presence needs AMI (--ami)"
    assert not panel.contacts.isEnabled() and not panel.filter.isEnabled()
    assert panel.items == {} and panel.lamp_of("6001") is None


def test_a_lost_ami_link_greys_the_list_until_the_resync(qtbot: QtBot) -> None:
    listeners: list[Callable[[PbxEvent], None]] = []
    state = PbxState()
    state.extensions = {"6001": Extension("6001", "office", "IAX2/6001", LampState.IDLE)}
    client = SimpleNamespace(state=state, subscribe=listeners.append)
    panel = DirectoryPanel(client)  # type: ignore[arg-type]
    qtbot.addWidget(panel)
    (tell,) = listeners
    tell(LinkChanged(False))
    assert not panel.contacts.isEnabled()
    assert panel.status.text() == "AMI link lost: reconnecting (lamps may be stale)"
    tell(LinkChanged(True))
    assert panel.status.text() == "AMI link back: reading the lamps again"
    assert not panel.contacts.isEnabled()
    # The re-sync replaces the whole state: a new extension appears, lamps are fresh.
    fresh = PbxState()
    fresh.extensions = {
        "6001": Extension("6001", "office", "IAX2/6001", LampState.BUSY),
        "6002": Extension("6002", "office", "IAX2/6002", LampState.IDLE),
    }
    client.state = fresh
    tell(Resynced(2, 0))
    assert panel.contacts.isEnabled() and panel.status.text() == "2 extensions"
    assert list(panel.items) == ["6001", "6002"]
    assert panel.items["6001"].text().endswith("busy")
    # A lamp event for an extension the panel has not seen takes the whole list again.
    fresh.extensions["6003"] = Extension("6003", "office", "IAX2/6003", LampState.RINGING)
    tell(LampChanged("6003", LampState.RINGING))
    assert panel.items["6003"].text().endswith("ringing")
