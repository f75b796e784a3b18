"""The console window (pytest-qt, offscreen) on a model fed with recorded-style AMI messages.

The screenshots land in test-output/screenshots (console-fed-idle, console-fed-busy);
docs/screenshots/ holds the README's copies, made on the real PBX by
tests/test_gui_console_screens.py.
"""

from __future__ import annotations

from PyQt6.QtCore import QPoint, Qt
from PyQt6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from iaxphone.gui.console.window import ConsoleWindow
from iaxphone.pbx.ami import LinkChanged, PbxClient, Resynced
from iaxphone.pbx.console import ConsoleModel
from iaxphone.pbx.directory import build
from iaxphone.pbx.models import Extension, LampState, Presence
from iaxphone.pbx.permissions import Permissions
from iaxphone.viewmodels.handset import Key
from tests.guiloop import screenshot
from tests.test_console_models import Clock, feed, talking

FIRST = [
    "Alice Archer",
    "Bob Baker",
    "Carol Cole",
    "Dave Dunn",
    "Erin East",
    "Frank Fox",
    "Grace Green",
    "Heidi Hill",
    "Ivan Irons",
    "Judy Jones",
    "Karl King",
    "Lena Lowe",
]


def office(phones: int = 64, user: str = "operator") -> tuple[PbxClient, ConsoleModel, Clock]:
    clock = Clock()
    client = PbxClient("127.0.0.1", 1, user, "unused", clock=clock)
    numbers = [str(6001 + i) for i in range(phones)]
    names = {
        n: f"{FIRST[i % len(FIRST)]} {i // len(FIRST) + 1}" if i >= len(FIRST) else FIRST[i]
        for i, n in enumerate(numbers)
    }
    departments = {"Sales": numbers[:18], "Support": numbers[18:36], "Office": numbers[36:]}
    model = ConsoleModel(client, operator="6064", departments=departments)
    hints = {n: f"IAX2/{n},CustomPresence:{n}" for n in numbers}
    hints |= {"610": "Queue:sales_avail", "611": "Queue:support_avail", "800": "confbridge:800"}
    for number, hint in hints.items():
        client.state.extensions[number] = Extension(number, "office", hint, LampState.IDLE)
    mailboxes = [
        {
            "Event": "VoicemailUserEntry",
            "VMContext": "office",
            "VoiceMailbox": n,
            "Fullname": names[n],
        }
        for n in numbers
    ]
    model.directory = build(hints, [], mailboxes, {}, "office")
    model.permissions = Permissions.everything()
    model._on_pbx(LinkChanged(True))
    model._on_pbx(Resynced(len(hints), 0))
    return client, model, clock


def lamp(client: PbxClient, number: str, status: int) -> None:
    feed(
        client,
        {"Event": "ExtensionStatus", "Exten": number, "Context": "office", "Status": str(status)},
    )


def busy_office(client: PbxClient, model: ConsoleModel, clock: Clock) -> None:
    """10 calls, 3 callers waiting in sales, 2 parked calls, a 3-party conference."""
    for i in range(10):
        a, b = str(6001 + 2 * i), str(6002 + 2 * i)
        clock.now = 1000.0 + 17 * i
        talking(client, (f"IAX2/{a}-{i}", f"a{i}"), (f"IAX2/{b}-{i}", f"b{i}"), f"B{i}")
        lamp(client, a, 1)
        lamp(client, b, 1)
    feed(client, {"Event": "Hold", "Channel": "IAX2/6003-1", "Uniqueid": "a1"})
    lamp(client, "6030", 8)
    feed(
        client,
        {
            "Event": "Newchannel",
            "Channel": "IAX2/6031-r",
            "Uniqueid": "r1",
            "Linkedid": "R",
            "ChannelStateDesc": "Up",
            "CallerIDNum": "6031",
        },
    )
    feed(
        client,
        {
            "Event": "Newchannel",
            "Channel": "IAX2/6030-r",
            "Uniqueid": "r2",
            "Linkedid": "R",
            "ChannelStateDesc": "Ringing",
            "ConnectedLineNum": "6031",
            "ConnectedLineName": "Grace Green 3",
        },
    )
    lamp(client, "6040", 4)
    lamp(client, "6041", 4)
    feed(
        client,
        {
            "Event": "PresenceStateChange",
            "Presentity": "CustomPresence:6033",
            "Status": "dnd",
            "Message": "in a meeting",
        },
    )
    feed(client, {"Event": "MessageWaiting", "Mailbox": "6034@office", "New": "3", "Old": "1"})
    model.queue_tracker.load(
        [
            {
                "Event": "QueueParams",
                "Queue": "sales",
                "Completed": "41",
                "Abandoned": "3",
                "ServiceLevel": "30",
                "ServicelevelPerf": "87.8",
            },
            *[
                {
                    "Event": "QueueMember",
                    "Queue": "sales",
                    "Name": FIRST[i],
                    "Location": f"IAX2/{6001 + i}",
                    "Status": "2" if i < 2 else "1",
                    "InCall": "1" if i < 2 else "0",
                    "CallsTaken": str(9 - i),
                    "Paused": "1" if i == 2 else "0",
                    "PausedReason": "lunch" if i == 2 else "",
                }
                for i in range(4)
            ],
            *[
                {
                    "Event": "QueueEntry",
                    "Queue": "sales",
                    "Position": str(p + 1),
                    "Channel": f"IAX2/trunk1-{p}",
                    "Uniqueid": f"q{p}",
                    "CallerIDNum": f"0201555{p:04d}",
                    "CallerIDName": ["Acme Ltd", "J. Smith", ""][p],
                    "Wait": str(95 - 30 * p),
                }
                for p in range(3)
            ],
            {
                "Event": "QueueParams",
                "Queue": "support",
                "Completed": "12",
                "Abandoned": "0",
                "ServiceLevel": "30",
                "ServicelevelPerf": "100.0",
            },
        ],
        now=1200.0,
    )
    clock.now = 1250.0
    for slot, who, parked_for in (("701", "6050", "40"), ("702", "6051", "5")):
        feed(
            client,
            {
                "Event": "ParkedCall",
                "ParkingSpace": slot,
                "Parkinglot": "default",
                "ParkeeChannel": f"IAX2/{who}-p",
                "ParkeeUniqueid": f"p{slot}",
                "ParkeeCallerIDNum": who,
                "ParkeeCallerIDName": model.directory[who].name,
                "ParkerDialString": "IAX2/6064",
                "ParkingTimeout": str(60 - int(parked_for)),
                "ParkingDuration": parked_for,
            },
        )
    feed(client, {"Event": "ConfbridgeStart", "Conference": "800"})
    for k, who in enumerate(("6052", "6053", "6054")):
        clock.now = 1100.0 + 20 * k
        feed(
            client,
            {
                "Event": "ConfbridgeJoin",
                "Conference": "800",
                "Channel": f"IAX2/{who}-c",
                "Uniqueid": f"c{k}",
                "CallerIDNum": who,
                "CallerIDName": model.directory[who].name,
                "Muted": "Yes" if k == 2 else "No",
            },
        )
    feed(
        client,
        {
            "Event": "ConfbridgeTalking",
            "Conference": "800",
            "Uniqueid": "c0",
            "TalkingStatus": "on",
        },
    )
    feed(client, {"Event": "ConfbridgeRecord", "Conference": "800"})
    clock.now = 1260.0


def show(qtbot: QtBot, model: ConsoleModel, clock: Clock) -> ConsoleWindow:
    window = ConsoleWindow(model, clock=clock)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    window.rebuild()
    QApplication.processEvents()
    return window


def visible_tiles(window: ConsoleWindow) -> int:
    field = window.field
    viewport = field.parentWidget()
    assert viewport is not None
    count = 0
    for widget in window.tiles.values():
        top_left = widget.mapTo(viewport, QPoint(0, 0))
        bottom = top_left.y() + widget.height()
        right = top_left.x() + widget.width()
        if top_left.y() >= 0 and bottom <= viewport.height() and right <= viewport.width():
            count += 1
    return count


def test_idle_office_shows_sixty_extensions_at_1280x800(qtbot: QtBot) -> None:
    _client, model, clock = office()
    window = show(qtbot, model, clock)
    assert visible_tiles(window) >= 60
    screenshot(window, "console-fed-idle")


def test_busy_office_draws_every_panel(qtbot: QtBot) -> None:
    client, model, clock = office()
    busy_office(client, model, clock)
    window = show(qtbot, model, clock)
    window.refresh_clocks()
    tile = window.tiles["6002"]
    assert tile.status.text().startswith("Alice Archer")  # who, then the talk time
    assert window.tiles["6002"].timer.text() == "4:20"  # bridged at 1000, now 1260
    assert window.tiles["6020"].timer.text() == "1:47"  # bridged at 1153
    assert window.tiles["6033"].status.text().startswith("DND")
    assert window.tiles["6034"].voicemail.text() == "✉3"
    sales = window.queues.tree.topLevelItem(0)
    # waited 95 s at 1200, now 1260
    assert sales is not None and sales.text(0) == "sales: 3 waiting, longest 2:35  ✔41 ✖3 88%"
    assert sales.isFirstColumnSpanned()
    caller = sales.child(0)
    assert (caller.text(0), caller.text(2)) == ("#1 Acme Ltd", "02015550000")
    assert window.parking.tree.topLevelItemCount() == 2
    room = window.rooms.tree.topLevelItem(0)
    assert room is not None and room.childCount() == 3 and "recording" in room.text(1)
    assert room.child(0).text(1) == "talking" and room.child(2).text(1) == "muted"
    screenshot(window, "console-fed-busy")


def test_keys_and_typed_target_and_greyed_supervision(qtbot: QtBot) -> None:
    client, model, clock = office(user="frontdesk")
    busy_office(client, model, clock)
    model.permissions = Permissions(frozenset({"Redirect", "Park", "Setvar"}))
    window = show(qtbot, model, clock)
    window.view.select("6001")
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert window.view.selected == "6002" and window.tiles["6002"].selected
    window.refresh_clocks()
    listen = window.buttons[next(k for k in window.buttons if getattr(k, "value", "") == "listen")]
    assert not listen.isEnabled()
    assert listen.toolTip() == "listen, whisper, barge needs the AMI class originate"
    window.target.setText("nobody")
    window._send_typed()
    assert window.status.text() == "nobody is called 'nobody'"
    window.search.setText("Bob")
    assert set(window.tiles) == {"6002", "6014", "6026", "6038", "6050", "6062"}


def test_offline_is_shown_with_its_time(qtbot: QtBot) -> None:
    _client, model, clock = office(phones=4)
    window = show(qtbot, model, clock)
    clock.now = 5000.0
    model._on_pbx(LinkChanged(False))
    window.refresh_clocks()
    assert window.link.text().startswith("▲ PBX offline since ")
    assert Presence.NOT_SET is model.tile("6001").presence


def test_busy_office_in_a_dark_scheme(qtbot: QtBot, qapp: QApplication) -> None:
    from PyQt6.QtGui import QColor, QPalette  # noqa: PLC0415

    before = qapp.palette()
    dark = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Window, "#202124"),
        (QPalette.ColorRole.WindowText, "#e8e8e8"),
        (QPalette.ColorRole.Base, "#2b2c30"),
        (QPalette.ColorRole.AlternateBase, "#33353a"),
        (QPalette.ColorRole.Text, "#e8e8e8"),
        (QPalette.ColorRole.Button, "#33353a"),
        (QPalette.ColorRole.ButtonText, "#e8e8e8"),
        (QPalette.ColorRole.Mid, "#55575c"),
        (QPalette.ColorRole.PlaceholderText, "#a0a0a0"),
        (QPalette.ColorRole.Highlight, "#3d7bd9"),
    ):
        dark.setColor(role, QColor(colour))
    qapp.setPalette(dark)
    try:
        client, model, clock = office()
        busy_office(client, model, clock)
        window = show(qtbot, model, clock)
        tile = window.tiles["6001"]
        # The tile's text follows the scheme: light text on a dark tile.
        assert tile.name.palette().color(QPalette.ColorRole.WindowText).lightness() > 200
        screenshot(window, "console-busy-dark")
    finally:
        qapp.setPalette(before)


def test_queue_member_keys_and_a_selection_that_survives_the_clock(
    qtbot: QtBot, qapp: QApplication
) -> None:
    import asyncio  # noqa: PLC0415

    import qasync  # noqa: PLC0415

    client, model, clock = office()
    busy_office(client, model, clock)
    sent: list[dict[str, str]] = []

    async def action(**fields: str) -> list[dict[str, str]]:
        sent.append(fields)
        return [{"Response": "Success"}]

    client.action = action  # type: ignore[method-assign, assignment]
    window = show(qtbot, model, clock)
    tree = window.queues.tree
    sales = tree.topLevelItem(0)
    assert sales is not None
    tree.setCurrentItem(sales.child(4))  # Bob Baker's member row (after 3 callers, Alice)
    clock.now += 1
    window.refresh_clocks()  # the tree is redrawn every second
    current = tree.currentItem()
    assert current is not None and current.text(0).strip() == "Bob Baker"
    window.queues.member.setText("6009")
    loop = qasync.QEventLoop(qapp)
    try:

        async def press() -> None:
            window.queues.add_button.click()
            window.queues.member.clear()
            window.queues.remove_button.click()  # the selected member: Bob (6002)
            await asyncio.gather(*window._tasks)

        loop.run_until_complete(press())
    finally:
        loop.close()
        asyncio.set_event_loop(None)
    assert [(f["Action"], f["Queue"], f["Interface"]) for f in sent] == [
        ("QueueAdd", "sales", "IAX2/6009"),
        ("QueueRemove", "sales", "IAX2/6002"),
    ]
    model.permissions = Permissions(frozenset({"Redirect"}))
    window.refresh_clocks()
    assert not window.queues.add_button.isEnabled()
    assert window.queues.add_button.toolTip() == "add a queue member needs the AMI class agent"
    assert not window.rooms.record_button.isEnabled()
    assert window.queues.take_button.isEnabled()  # Redirect is enough for it


def test_without_an_account_the_bar_is_a_panel_and_says_so(qtbot: QtBot) -> None:
    _client, model, clock = office()
    window = show(qtbot, model, clock)
    bar = window.operator_bar
    assert bar.state.text() == "panel only"
    assert all(not key.isEnabled() for key in bar.keys.values())
    assert all(not key.isEnabled() for key in bar.pad.values())
    assert bar.keys[Key.CALL].toolTip().startswith("No account")
    assert window.calllog is None  # no phone, no call log of its own
    retrieve = window.parking.retrieve_button  # "Retrieve to my phone": there is none
    assert not retrieve.isEnabled()
    assert retrieve.toolTip().startswith("a panel only")
