"""The capability probe and the DND mechanisms, against scripted AMI answers."""

from __future__ import annotations

from typing import Any

import pytest

from iaxphone.pbx.capabilities import Facility, probe
from iaxphone.pbx.dnd import DndMechanism, detect, devstate_means_dnd, set_actions


def sender(actions: set[str], loaded: set[str] | None = None) -> Any:
    """An AMI that lists ``actions`` and, if ``loaded`` is given, answers ModuleCheck."""

    async def send(**fields: str) -> list[dict[str, str]]:
        if fields["Action"] == "ListCommands":
            reply = {"Response": "Success"}
            reply.update({name: f"{name}.  (Priv: call,all)" for name in actions})
            return [reply]
        if fields["Action"] == "ModuleCheck" and loaded is not None:
            return [{"Response": "Success" if fields["Module"] in loaded else "Error"}]
        raise AssertionError(f"unexpected action {fields}")

    return send


CORE = {"Redirect", "Setvar", "Originate", "ExtensionStateList", "CoreShowChannels", "Getvar"}


async def test_a_missing_module_is_named_when_the_user_holds_the_class() -> None:
    caps = await probe(sender(CORE | {"QueueStatus", "ConfbridgeListRooms"}))
    assert not caps.has(Facility.PARKING)
    assert caps.why_not(Facility.PARKING) == (
        "this PBX has no call parking (res_parking is not loaded)"
    )
    assert caps.has(Facility.QUEUES) and caps.has(Facility.CONFERENCE)
    assert {"call", "originate", "reporting"} <= caps.write_classes
    assert "system" not in caps.write_classes
    # ChanSpy registers no action: without ModuleCheck it is assumed, and said so.
    assert caps.has(Facility.SUPERVISION)
    assert "listen, whisper and barge: assumed (ModuleCheck needs the class system)" in (
        caps.summary()
    )


async def test_a_missing_class_is_named_when_the_module_cannot_be_blamed() -> None:
    caps = await probe(sender({"Originate"}))  # no call, no reporting
    assert caps.why_not(Facility.PARKING) == (
        "call parking: the AMI user needs the class call for ParkedCalls"
    )


async def test_module_check_decides_when_the_user_may_send_it() -> None:
    caps = await probe(sender(CORE | {"ModuleCheck", "DBPut"}, loaded={"app_queue"}))
    assert caps.modules_checked
    assert caps.why_not(Facility.SUPERVISION) == (
        "this PBX has no listen, whisper and barge (app_chanspy is not loaded)"
    )
    assert caps.why_not(Facility.PARKING) == (
        "this PBX has no call parking (res_parking is not loaded)"
    )


async def test_an_asterisk_that_will_not_list_is_assumed_complete() -> None:
    async def refuse(**fields: str) -> list[dict[str, str]]:
        raise RuntimeError("no ListCommands here")

    caps = await probe(refuse)
    assert all(caps.has(f) for f in Facility)


@pytest.mark.parametrize(
    ("hints", "configured", "mechanism"),
    [
        (["IAX2/6001,CustomPresence:6001"], "auto", DndMechanism.PRESENCE),
        (["IAX2/6001&Custom:DND6001", "Queue:400_avail"], "auto", DndMechanism.DEVSTATE),
        (["SIP/1000"], "auto", DndMechanism.NONE),
        (["SIP/1000"], "astdb", DndMechanism.ASTDB),
        (["IAX2/6001&Custom:DND6001"], "presence", DndMechanism.PRESENCE),
    ],
)
def test_the_mechanism_comes_from_the_hints_or_the_config(
    hints: list[str], configured: str, mechanism: DndMechanism
) -> None:
    assert detect(hints, configured)[0] is mechanism


def test_each_mechanism_switches_dnd_the_pbxs_own_way() -> None:
    assert set_actions(DndMechanism.PRESENCE, "6001", True) == [
        {"Action": "Setvar", "Variable": "PRESENCE_STATE(CustomPresence:6001)", "Value": "dnd,,"}
    ]
    on = set_actions(DndMechanism.DEVSTATE, "6001", True)
    assert {"Action": "DBPut", "Family": "DND", "Key": "6001", "Val": "YES"} in on
    assert {"Action": "Setvar", "Variable": "DEVICE_STATE(Custom:DND6001)", "Value": "BUSY"} in on
    off = set_actions(DndMechanism.DEVSTATE, "6001", False)
    assert {"Action": "DBDel", "Family": "DND", "Key": "6001"} in off
    assert set_actions(DndMechanism.ASTDB, "6001", False) == [
        {"Action": "DBDel", "Family": "DND", "Key": "6001"}
    ]
    assert set_actions(DndMechanism.NONE, "6001", True) == []
    assert devstate_means_dnd("BUSY") and not devstate_means_dnd("NOT_INUSE")
