"""PbxClient's event handling, replayed from a recorded AMI transcript (no PBX needed).

tests/golden/ami_office_transcript.txt is what the bundled PBX sent the console
user while 6003 called 6004, 6005 went into DND, 6003 held and resumed, was parked on 701 and
6004 picked it up (see record_ami_transcript.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from panoramisk import testing, utils
from panoramisk.message import Message

from iaxphone.pbx.ami import (
    AmiPermissionError,
    LampChanged,
    MailboxChanged,
    ParkingChanged,
    PbxClient,
    PbxEvent,
    PresenceChanged,
)
from iaxphone.pbx.models import LampState, Presence, lamp_from_status

TRANSCRIPT = Path(__file__).parent / "golden" / "ami_office_transcript.txt"


def recorded_events() -> list[Message]:
    out = []
    for block in TRANSCRIPT.read_text().split("\n\n"):
        headers = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if headers:
            out.append(Message(headers))
    return out


def replay() -> tuple[PbxClient, list[PbxEvent]]:
    client = PbxClient("127.0.0.1", 1, "console", "unused")
    seen: list[PbxEvent] = []
    client.subscribe(seen.append)
    for message in recorded_events():
        client.manager.dispatch(message)
    return client, seen


def test_lamps_follow_the_call_and_the_unregistration() -> None:
    _client, seen = replay()
    lamps_6004 = [e.lamp for e in seen if isinstance(e, LampChanged) and e.number == "6004"]
    assert lamps_6004 == [
        LampState.IDLE,
        LampState.RINGING,
        LampState.IN_USE,
        LampState.IDLE,
        LampState.IN_USE,
        LampState.IDLE,
        LampState.UNAVAILABLE,
    ]


def test_parking_slot_lamps_do_not_become_extensions() -> None:
    client, _seen = replay()
    assert "701" not in client.state.extensions  # its hint lives in context parkedcalls
    assert set(client.state.extensions) == {"6003", "6004", "6005"}


def test_park_and_retrieve_come_out_as_slot_changes() -> None:
    client, seen = replay()
    parking = [e for e in seen if isinstance(e, ParkingChanged)]
    assert [(e.slot, e.parked is not None) for e in parking] == [("701", True), ("701", False)]
    parked = parking[0].parked
    assert parked is not None
    assert parked.channel.startswith("IAX2/6003-") and parked.caller_number == "6003"
    assert parked.lot == "default" and parked.timeout_s == 60
    assert client.state.parked == {}


def test_presence_changes_reach_the_extension() -> None:
    client, seen = replay()
    presence = [(e.number, e.presence) for e in seen if isinstance(e, PresenceChanged)]
    assert presence == [("6005", Presence.DND), ("6005", Presence.AVAILABLE)]
    assert client.state.extensions["6005"].presence is Presence.AVAILABLE


def test_an_event_missing_its_extension_is_ignored() -> None:
    client = PbxClient("127.0.0.1", 1, "console", "unused")
    client.manager.dispatch(Message({"Event": "ExtensionStatus", "Context": "office"}))
    assert client.state.extensions == {}  # no Exten header: ignored


def test_status_codes_map_to_lamps() -> None:
    assert lamp_from_status(0) is LampState.IDLE
    assert lamp_from_status(1) is LampState.IN_USE
    assert lamp_from_status(2) is LampState.BUSY
    assert lamp_from_status(4) is LampState.UNAVAILABLE
    assert lamp_from_status(8) is LampState.RINGING
    assert lamp_from_status(9) is LampState.RINGING  # in use and ringing: a call waiting
    assert lamp_from_status(16) is LampState.ON_HOLD
    assert lamp_from_status(-1) is LampState.UNKNOWN
    assert lamp_from_status(-2) is LampState.UNAVAILABLE


def test_message_waiting_updates_the_mailbox() -> None:
    client = PbxClient("127.0.0.1", 1, "console", "unused")
    seen: list[PbxEvent] = []
    client.subscribe(seen.append)
    client.manager.dispatch(
        Message(
            {
                "Event": "MessageWaiting",
                "Mailbox": "6007@office",
                "Waiting": "1",
                "New": "2",
                "Old": "1",
            }
        )
    )
    assert seen == [MailboxChanged("6007@office", 2, 1)]
    assert client.state.mailboxes == {"6007@office": (2, 1)}


def test_hold_and_unhold_light_the_holders_lamp() -> None:
    _client, seen = replay()
    lamps_6003 = [e.lamp for e in seen if isinstance(e, LampChanged) and e.number == "6003"]
    assert lamps_6003[:4] == [
        LampState.IDLE,
        LampState.IN_USE,
        LampState.ON_HOLD,  # from the Hold event: no device-state change comes for IAX2
        LampState.IN_USE,
    ]


# Action answers recorded from the bundled PBX (console user), ActionID
# rewritten to the one panoramisk.testing gives every action.
GOLDEN = Path(__file__).parent / "golden"


def scripted(stream: Path, monkeypatch: pytest.MonkeyPatch) -> PbxClient:
    # panoramisk.testing switches the process-wide line ending to "\n" for its
    # streams; monkeypatch puts Asterisk's "\r\n" back for the tests after us.
    monkeypatch.setattr(utils, "EOL", utils.EOL)
    client = PbxClient("127.0.0.1", 1, "console", "unused")
    client.manager = testing.Manager(stream=str(stream))
    return client


async def test_mailbox_count_from_a_recorded_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    client = scripted(GOLDEN / "ami_mailbox_count.txt", monkeypatch)
    assert await client.mailbox_count("6007@office") == (3, 0)
    assert client.state.mailboxes["6007@office"] == (3, 0)


async def test_permission_denied_names_the_missing_privilege(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = scripted(GOLDEN / "ami_permission_denied.txt", monkeypatch)
    with pytest.raises(AmiPermissionError, match=r"AMI Command: permission denied .*needs command"):
        await client.action(Action="Command", Command="core show version")


def test_parked_call_timing_out_empties_the_slot() -> None:
    client = PbxClient("127.0.0.1", 1, "console", "unused")
    seen: list[PbxEvent] = []
    client.subscribe(seen.append)
    parked = {"ParkingSpace": "702", "Parkinglot": "default", "ParkeeChannel": "IAX2/6001-1"}
    client.manager.dispatch(Message({"Event": "ParkedCall", **parked}))
    client.manager.dispatch(Message({"Event": "ParkedCallTimeOut", **parked}))
    client.manager.dispatch(Message({"Event": "ParkedCallGiveUp", **parked}))  # already gone
    assert [(e.slot, e.parked is None) for e in seen if isinstance(e, ParkingChanged)] == [
        ("702", False),
        ("702", True),
    ]


def test_the_line_ending_is_asterisks_again() -> None:
    assert utils.EOL == "\r\n"  # runs after the scripted tests above
