"""The console's Qt-free models on AMI messages recorded from the bundled PBX (no PBX, no Qt)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from panoramisk.message import Message

from iaxphone.pbx.ami import LinkChanged, PbxClient, Resynced
from iaxphone.pbx.channels import ChannelTracker
from iaxphone.pbx.conference import RoomTracker
from iaxphone.pbx.console import CallMovedError, ConsoleModel, ConsoleOfflineError
from iaxphone.pbx.directory import Kind, build
from iaxphone.pbx.link import Link, LinkStatus, LinkTrigger
from iaxphone.pbx.models import Extension, LampState
from iaxphone.pbx.permissions import Feature, Permissions
from iaxphone.pbx.queues import MemberStatus, QueueTracker
from iaxphone.pbx.supervision import (
    SpyMode,
    Supervision,
    SupervisionError,
    SupervisionState,
    SupervisionTrigger,
)


def channel(event: str, name: str, uid: str, **more: str) -> dict[str, str]:
    return {"Event": event, "Channel": name, "Uniqueid": uid, "Linkedid": "L1", **more}


# As the bundled PBX sent them (QueueStatus while 6007 waited in sales), trimmed.
QUEUE_STATUS: list[dict[str, str]] = [
    {
        "Event": "QueueParams",
        "Queue": "sales",
        "Strategy": "rrmemory",
        "Completed": "4",
        "Abandoned": "1",
        "ServiceLevel": "30",
        "ServicelevelPerf": "75.0",
        "Holdtime": "12",
        "TalkTime": "40",
    },
    {
        "Event": "QueueMember",
        "Queue": "sales",
        "Name": "Alice Archer",
        "Location": "IAX2/6001",
        "Membership": "static",
        "CallsTaken": "3",
        "InCall": "0",
        "Status": "1",
        "Paused": "0",
        "PausedReason": "",
    },
    {
        "Event": "QueueMember",
        "Queue": "sales",
        "Name": "Bob Baker",
        "Location": "IAX2/6002",
        "Membership": "static",
        "Status": "5",
        "Paused": "0",
    },
    {
        "Event": "QueueEntry",
        "Queue": "sales",
        "Position": "1",
        "Channel": "IAX2/6007-13263",
        "Uniqueid": "u44",
        "CallerIDNum": "6007",
        "CallerIDName": "Grace Green",
        "Wait": "7",
    },
]


def test_queue_status_then_events() -> None:
    changed: list[str] = []
    queues = QueueTracker(changed.append)
    queues.load(QUEUE_STATUS, now=1000.0)
    sales = queues.queues["sales"]
    assert sales.waiting == 1 and sales.longest_wait(1003.0) == 10.0
    assert (sales.answered, sales.answered_in_service_level, sales.abandoned) == (4, 3, 1)
    assert sales.service_level == 75.0
    assert sales.logged_in == 1 and sales.available == 1
    alice = sales.member("IAX2/6001")
    assert alice is not None and alice.calls_taken == 3 and alice.status is MemberStatus.IDLE
    join = channel("QueueCallerJoin", "IAX2/6008-1", "u46", Queue="sales", Position="2")
    queues.handle({**join, "CallerIDNum": "6008", "CallerIDName": "Heidi Hill"}, now=1004.0)
    assert [(c.position, c.caller_number) for c in queues.queues["sales"].callers] == [
        (1, "6007"),
        (2, "6008"),
    ]
    abandon = channel("QueueCallerAbandon", "IAX2/6007-13263", "u44", Queue="sales")
    queues.handle(abandon, now=1005.0)
    queues.handle({**abandon, "Event": "QueueCallerLeave"}, now=1005.0)
    sales = queues.queues["sales"]
    assert sales.abandoned == 2
    assert [(c.position, c.caller_number) for c in sales.callers] == [(1, "6008")]
    queues.handle({"Event": "AgentConnect", "Queue": "sales", "HoldTime": "45"}, now=1006.0)
    assert queues.queues["sales"].answered == 5
    assert queues.queues["sales"].answered_in_service_level == 3  # 45 s > 30 s
    pause = {
        "Event": "QueueMemberPause",
        "Queue": "sales",
        "MemberName": "Alice Archer",
        "Interface": "IAX2/6001",
        "Status": "1",
        "Paused": "1",
        "PausedReason": "lunch",
        "CallsTaken": "3",
    }
    queues.handle(pause, now=1007.0)
    alice = queues.queues["sales"].member("IAX2/6001")
    assert alice is not None and alice.paused and alice.paused_reason == "lunch"
    assert queues.queues["sales"].available == 0
    queues.handle({**pause, "Event": "QueueMemberRemoved"}, now=1008.0)
    assert queues.queues["sales"].member("IAX2/6001") is None
    assert queues.where("u46") == "sales" and queues.where("u44") is None
    assert set(changed) == {"sales"}


def test_channels_bridge_talk_and_moves() -> None:
    channels = ChannelTracker()
    channels.handle(channel("Newchannel", "IAX2/6001-1", "a", CallerIDNum="6001"), now=10.0)
    channels.handle(channel("Newchannel", "IAX2/6002-2", "b", CallerIDNum="6002"), now=10.5)
    channels.handle(channel("Newstate", "IAX2/6002-2", "b", ChannelStateDesc="Up"), now=12.0)
    for uid, name in (("a", "IAX2/6001-1"), ("b", "IAX2/6002-2")):
        channels.handle(channel("BridgeEnter", name, uid, BridgeUniqueid="B1"), now=12.1)
    alice = channels.channels["a"]
    assert [p.name for p in channels.peers(alice)] == ["IAX2/6002-2"]
    assert alice.bridged_at == 12.1 and channels.channels["b"].answered_at == 12.0
    assert channels.of_device("IAX2/6001") == [alice]
    channels.handle(channel("BridgeLeave", "IAX2/6001-1", "a", BridgeUniqueid="B1"), now=20.0)
    assert channels.channels["a"].moves == 1 and channels.peers(channels.channels["b"]) == []
    channels.handle(channel("Hangup", "IAX2/6001-1", "a"), now=21.0)
    assert "a" not in channels.channels


def test_channels_from_core_show_channels_date_back() -> None:
    channels = ChannelTracker()
    channels.load(
        [
            {
                "Event": "CoreShowChannel",
                "Channel": "IAX2/6008-8176",
                "Uniqueid": "u46",
                "ChannelStateDesc": "Up",
                "CallerIDNum": "6008",
                "ConnectedLineNum": "<unknown>",
                "Application": "ConfBridge",
                "Duration": "00:01:02",
                "BridgeId": "95a0",
            }
        ],
        now=1000.0,
    )
    (only,) = channels.channels.values()
    assert only.created_at == 938.0 and only.connected_number == "" and only.bridge == "95a0"


def test_room_events() -> None:
    rooms = RoomTracker()
    base = {"Conference": "800", "BridgeUniqueid": "95a0"}
    rooms.handle({"Event": "ConfbridgeStart", **base}, now=1.0)
    join = channel("ConfbridgeJoin", "IAX2/6008-8176", "u46", CallerIDNum="6008", **base)
    rooms.handle({**join, "Muted": "No"}, now=2.0)
    rooms.handle({**join, "Event": "ConfbridgeTalking", "TalkingStatus": "on"}, now=3.0)
    person = rooms.rooms["800"].participants[0]
    assert person.talking and not person.muted and person.joined_at == 2.0
    rooms.handle({**join, "Event": "ConfbridgeMute"}, now=4.0)
    rooms.handle({**join, "Event": "ConfbridgeTalking", "TalkingStatus": "off"}, now=4.5)
    person = rooms.rooms["800"].participants[0]
    assert person.muted and not person.talking
    rooms.handle({"Event": "ConfbridgeRecord", **base}, now=5.0)
    assert rooms.rooms["800"].recording
    rooms.set_locked("800", True)
    assert rooms.rooms["800"].locked and rooms.where("u46") == "800"
    rooms.handle({**join, "Event": "ConfbridgeLeave"}, now=6.0)
    assert rooms.rooms["800"].participants == ()
    rooms.handle({"Event": "ConfbridgeEnd", **base}, now=7.0)
    assert rooms.rooms == {}


def test_directory_from_hints_peers_and_mailboxes() -> None:
    hints = {
        "6001": "IAX2/6001,CustomPresence:6001",
        "610": "Queue:sales_avail",
        "800": "confbridge:800",
    }
    peers = [
        {"Event": "PeerEntry", "ObjectName": "6001", "IPaddress": "127.0.0.1"},
        {"Event": "PeerEntry", "ObjectName": "6090", "IPaddress": "(null)"},
        {"Event": "PeerEntry", "ObjectName": "trunk1", "IPaddress": "(null)"},
    ]
    mailboxes = [
        {
            "Event": "VoicemailUserEntry",
            "VMContext": "office",
            "VoiceMailbox": "6001",
            "Fullname": "Alice Archer",
        }
    ]
    entries = build(hints, peers, mailboxes, {"6090": "Secure Desk"}, "office")
    assert set(entries) == {"6001", "610", "800", "6090"}  # no trunk: not a number
    assert entries["6001"].name == "Alice Archer" and entries["6001"].mailbox == "6001@office"
    assert (entries["610"].kind, entries["610"].target) == (Kind.QUEUE, "sales")
    assert (entries["800"].kind, entries["800"].target) == (Kind.ROOM, "800")
    assert entries["6090"].name == "Secure Desk" and entries["6090"].registered is False


def test_permissions_from_list_commands() -> None:
    reply = {
        "Response": "Success",
        "ActionID": "1",
        "Redirect": "Redirect (transfer) a call.  (Priv: call,all)",
        "QueueStatus": "Show queue status.  (Priv: <none>)",
    }
    permissions = Permissions.from_list_commands(reply)
    assert permissions.actions == {"Redirect", "QueueStatus"}
    assert permissions.missing(Feature.REDIRECT) is None
    assert permissions.missing(Feature.SUPERVISE) == (
        "listen, whisper, barge needs the AMI class originate"
    )
    assert permissions.missing(Feature.ROOM_RECORD) == "record a room needs the AMI class system"
    assert permissions.missing(Feature.CHAT) == "chat needs the AMI class call"
    assert Permissions(frozenset({"SendText"})).allows(Feature.CHAT)


def test_link_states_keep_offline_since_until_resynced() -> None:
    status = LinkStatus().after(LinkTrigger.UP, 1.0).after(LinkTrigger.RESYNCED, 2.0)
    assert status == LinkStatus(Link.ONLINE, 2.0)
    down = status.after(LinkTrigger.DOWN, 10.0)
    assert down == LinkStatus(Link.OFFLINE, 10.0)
    assert down.after(LinkTrigger.DOWN, 11.0) == down  # the first drop is the one shown
    back = down.after(LinkTrigger.UP, 20.0)
    assert back == LinkStatus(Link.RESYNCING, 10.0) and not back.online
    assert back.after(LinkTrigger.RESYNCED, 21.0) == LinkStatus(Link.ONLINE, 21.0)


def test_supervision_table() -> None:
    session = Supervision(SpyMode.WHISPER, "IAX2/6004-1", "6004", "IAX2/6010")
    assert SpyMode.WHISPER.options == "qwE" and SpyMode.BARGE.options == "qBE"
    active = session.after(SupervisionTrigger.ANSWERED, spy_channel="IAX2/6010-9")
    assert active.state is SupervisionState.ACTIVE and active.banner == "WHISPERING to 6004"
    ended = active.after(SupervisionTrigger.HUNG_UP)
    assert not ended.live
    with pytest.raises(SupervisionError, match="ended: answered not allowed"):
        ended.after(SupervisionTrigger.ANSWERED)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def office_model() -> tuple[PbxClient, ConsoleModel, Clock]:
    """A model on a client that never connects: messages go in through dispatch."""
    clock = Clock()
    client = PbxClient("127.0.0.1", 1, "operator", "unused", clock=clock)
    model = ConsoleModel(client, operator="6010")
    hints = {n: f"IAX2/{n},CustomPresence:{n}" for n in ("6003", "6004", "6005", "6010")}
    for number, hint in hints.items():
        client.state.extensions[number] = Extension(number, "office", hint, LampState.IDLE)
    model.directory = build(hints, [], [], {"6004": "Dave Dunn", "6005": "Erin East"}, "office")
    model.permissions = Permissions.everything()
    model._on_pbx(LinkChanged(True))
    model._on_pbx(Resynced(4, 0))
    return client, model, clock


def feed(client: PbxClient, *messages: dict[str, Any]) -> None:
    for message in messages:
        client.manager.dispatch(Message(message))


def talking(client: PbxClient, a: tuple[str, str], b: tuple[str, str], bridge: str) -> None:
    for name, uid in (a, b):
        feed(client, channel("Newchannel", name, uid, ChannelStateDesc="Up"))
        feed(client, channel("BridgeEnter", name, uid, BridgeUniqueid=bridge))


def test_tile_names_the_party_and_the_call_it_would_move() -> None:
    client, model, _clock = office_model()
    talking(client, ("IAX2/6005-1", "e"), ("IAX2/6004-2", "d"), "B1")
    tile = model.tile("6004")
    assert tile.talking_to == "Erin East" and tile.talking_since == 1000.0
    assert tile.call is not None and tile.call.label == "6004's caller"
    assert tile.call.channel == "IAX2/6005-1"


def test_a_call_moved_elsewhere_is_refused_with_one_line() -> None:
    client, model, _clock = office_model()
    talking(client, ("IAX2/6005-1", "e"), ("IAX2/6004-2", "d"), "B1")
    ref = model.tile("6004").call
    assert ref is not None
    model.verify(ref)  # still there
    # Another operator sends 6004's caller to 6003, who answers.
    feed(client, channel("BridgeLeave", "IAX2/6005-1", "e", BridgeUniqueid="B1"))
    feed(client, channel("Hangup", "IAX2/6004-2", "d"))
    talking(client, ("IAX2/6003-3", "c"), ("IAX2/6005-1", "e"), "B2")
    with pytest.raises(CallMovedError) as moved:
        model.verify(ref)
    assert str(moved.value) == "6004's caller was transferred by another operator (now with 6003)"
    feed(
        client,
        {
            "Event": "ParkedCall",
            "ParkingSpace": "701",
            "ParkeeChannel": "IAX2/6005-1",
            "ParkeeUniqueid": "e",
        },
    )
    with pytest.raises(CallMovedError, match="was parked on 701 by another operator"):
        model.verify(ref)
    feed(client, channel("Hangup", "IAX2/6005-1", "e"))
    feed(client, {"Event": "ParkedCallGiveUp", "ParkingSpace": "701"})
    with pytest.raises(CallMovedError, match=r"^6004's caller hung up$"):
        model.verify(ref)


async def test_offline_actions_say_since_when() -> None:
    client, model, clock = office_model()
    talking(client, ("IAX2/6005-1", "e"), ("IAX2/6004-2", "d"), "B1")
    ref = model.tile("6004").call
    assert ref is not None
    clock.now = 2000.0
    model._on_pbx(LinkChanged(False))
    assert model.link == LinkStatus(Link.OFFLINE, 2000.0)
    with pytest.raises(ConsoleOfflineError, match="offline since"):
        await model.transfer(ref, "6003")


async def test_missing_class_refused_before_any_round_trip() -> None:
    _client, model, _clock = office_model()
    model.permissions = Permissions(frozenset({"Redirect"}))
    assert model.allowed(Feature.QUEUE_PAUSE) == "pause a queue member needs the AMI class agent"
    with pytest.raises(Exception, match="needs the AMI class agent"):
        await model.queue_pause("6004", True, "lunch")
    panel = ConsoleModel(PbxClient("127.0.0.1", 1, "x", "y"), operator=None)
    assert panel.allowed(Feature.DIAL) is not None and "no phone" in str(
        panel.allowed(Feature.DIAL)
    )


async def test_supervision_is_active_once_chanspy_starts_on_the_operators_phone() -> None:
    client, model, _clock = office_model()
    talking(client, ("IAX2/6005-1", "e"), ("IAX2/6004-2", "d"), "B1")
    ref = model.tile("6004").call
    assert ref is not None
    sent: list[dict[str, str]] = []

    async def action(**fields: str) -> list[dict[str, str]]:
        sent.append(fields)
        return [{"Response": "Success"}, {"Event": "OriginateResponse", "Response": "Success"}]

    client.action = action  # type: ignore[method-assign, assignment]
    session = await model.supervise(ref, SpyMode.BARGE, "6004")
    assert session.state is SupervisionState.RINGING
    await asyncio.gather(*model._tasks)  # the originate, answered
    (originate,) = sent
    assert (originate["Context"], originate["Exten"]) == ("supervision", "barge")
    assert originate["Variable"] == "SPY_CHANNEL=IAX2/6005-1"
    feed(
        client,
        {"Event": "Newstate", "Channel": "IAX2/6010-9", "Uniqueid": "s", "ChannelStateDesc": "Up"},
    )
    assert model.supervision is not None and model.supervision.state is SupervisionState.RINGING
    feed(
        client,
        {"Event": "ChanSpyStart", "SpyerChannel": "IAX2/6010-9", "SpyeeChannel": "IAX2/6005-1"},
    )
    assert model.supervision.state is SupervisionState.ACTIVE
    assert model.supervision.banner == "BARGED into 6004"
    feed(client, channel("Hangup", "IAX2/6005-1", "e"))
    assert model.supervision.state is SupervisionState.ENDED
