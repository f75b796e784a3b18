"""The operator console's models against the bundled PBX: each checked with the PBX's own view."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from iaxphone.pbx.ami import AmiPermissionError, PbxClient
from iaxphone.pbx.console import (
    CallMovedError,
    ConsoleChanged,
    ConsoleModel,
    ConsoleOfflineError,
)
from iaxphone.pbx.directory import Kind
from iaxphone.pbx.link import Link
from iaxphone.pbx.models import LampState, Presence
from iaxphone.pbx.permissions import Feature
from iaxphone.pbx.supervision import SpyMode, SupervisionState
from tests.pbx import Pbx
from tests.phones import answered_call, call_from, phone, pump_audio
from tests.test_pbx_ami import Relay

pytestmark = pytest.mark.pbx

USERS = {"operator": "operator-secret", "frontdesk": "frontdesk-secret"}


class Watch:
    """Wakes a waiter whenever the model says something changed."""

    def __init__(self, model: ConsoleModel) -> None:
        self.model = model
        self._changed = asyncio.Event()
        model.subscribe(self._on)

    def _on(self, _event: ConsoleChanged) -> None:
        self._changed.set()

    async def until(self, predicate: Callable[[], Any], timeout: float = 10) -> Any:
        """The first truthy value of ``predicate()``, re-evaluated after every change."""

        async def loop() -> Any:
            while True:
                self._changed.clear()
                value = predicate()
                if value:
                    return value
                await self._changed.wait()

        return await asyncio.wait_for(loop(), timeout)


@contextlib.asynccontextmanager
async def console(
    pbx: Pbx, user: str = "operator", operator: str | None = "6010", port: int | None = None
) -> AsyncIterator[tuple[ConsoleModel, Watch]]:
    client = PbxClient(pbx.host, port or pbx.ami_port, user, USERS[user], reconnect_timeout=0.5)
    model = ConsoleModel(client, operator=operator)
    watch = Watch(model)
    await client.connect()
    try:
        yield model, watch
    finally:
        client.close()


async def pbx_channels(model: ConsoleModel) -> dict[str, dict[str, str]]:
    """The PBX's own CoreShowChannels, by channel name."""
    return {
        str(m["Channel"]): dict(m)
        for m in await model.client.list_items("CoreShowChannel", Action="CoreShowChannels")
    }


async def talking_pairs(model: ConsoleModel) -> set[frozenset[str]]:
    """Which devices share a bridge, from CoreShowChannels."""
    bridges: dict[str, set[str]] = {}
    for name, channel in (await pbx_channels(model)).items():
        if channel.get("BridgeId"):
            bridges.setdefault(channel["BridgeId"], set()).add(name.rsplit("-", 1)[0])
    return {frozenset(devices) for devices in bridges.values() if len(devices) == 2}


async def wait_pair(model: ConsoleModel, a: str, b: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while frozenset({a, b}) not in await talking_pairs(model):
        assert time.monotonic() < deadline, f"{a} and {b} never talked"
        await asyncio.sleep(0.1)


async def test_tiles_come_from_the_pbx_with_names_kinds_and_voicemail(pbx: Pbx) -> None:
    async with console(pbx) as (model, _watch):
        tiles = {t.number: t for t in model.tiles()}
        assert tiles["6001"].name == "Alice Archer" and tiles["6001"].kind is Kind.PHONE
        assert tiles["6010"].name == "Reception"
        assert tiles["610"].kind is Kind.QUEUE and tiles["610"].name == "Queue sales"
        assert tiles["802"].kind is Kind.ROOM
        # 6090 has no hint and no mailbox: found as an IAX2 peer, named by its caller ID
        assert tiles["6090"].name == "Secure Desk"
        assert tiles["6090"].lamp is LampState.UNAVAILABLE
        new, old = await model.client.mailbox_count("6001@office")
        assert (tiles["6001"].voicemail_new, tiles["6001"].voicemail_old) == (new, old)
        assert model.link.state is Link.ONLINE


async def test_permissions_come_from_the_pbx(pbx: Pbx) -> None:
    async with console(pbx) as (operator, _w1), console(pbx, "frontdesk") as (frontdesk, _w2):
        assert operator.allowed(Feature.SUPERVISE) is None
        assert operator.allowed(Feature.QUEUE_PAUSE) is None
        assert operator.allowed(Feature.ROOM_RECORD) is None
        assert frontdesk.allowed(Feature.REDIRECT) is None
        assert frontdesk.allowed(Feature.SUPERVISE) == (
            "listen, whisper, barge needs the AMI class originate"
        )
        assert (
            frontdesk.allowed(Feature.QUEUE_ADD) == "add a queue member needs the AMI class agent"
        )
        assert frontdesk.allowed(Feature.ROOM_RECORD) == "record a room needs the AMI class system"
        with pytest.raises(AmiPermissionError, match="needs the AMI class agent"):
            await frontdesk.queue_add("sales", "6009")
        # The PBX agrees: the same action sent anyway is refused, naming the class.
        with pytest.raises(AmiPermissionError, match="needs agent"):
            await frontdesk.client.action(Action="QueueAdd", Queue="sales", Interface="IAX2/6009")


async def test_tile_shows_who_talks_to_whom_since_when(pbx: Pbx) -> None:
    async with (
        console(pbx) as (model, watch),
        phone(pbx, 6001) as alice,
        phone(pbx, 6002) as bob,
    ):
        started = time.time()
        call = await call_from(alice, pbx, 6001, "6002")
        ringing = await watch.until(lambda: model.tile("6002").lamp is LampState.RINGING)
        assert ringing
        assert model.tile("6002").talking_to == "Alice Archer <6001>"
        answered = await asyncio.wait_for(bob.incoming.get(), 5)
        answered.answer()
        tile = await watch.until(
            lambda: (
                (t := model.tile("6002")).talking_since is not None
                and t.lamp is LampState.IN_USE
                and t
            )
        )
        assert tile.talking_to == "Alice Archer"
        assert started - 1 <= tile.talking_since <= time.time()
        assert model.tile("6001").talking_to == "Bob Baker"
        assert tile.call is not None and tile.call.channel.startswith("IAX2/6001-")
        await wait_pair(model, "IAX2/6001", "IAX2/6002")  # the PBX's view agrees
        await call.hangup()
        await watch.until(lambda: model.tile("6002").talking_to == "")


async def test_presence_note_and_dnd_on_the_tile(pbx: Pbx) -> None:
    async with console(pbx) as (model, watch):
        await model.set_presence("6003", Presence.DND, "at the dentist")
        try:
            tile = await watch.until(lambda: (t := model.tile("6003")).dnd and t.note and t)
            assert tile.note == "at the dentist"
            (reply,) = await model.client.action(
                Action="Getvar", Variable="PRESENCE_STATE(CustomPresence:6003,value)"
            )
            assert reply["Value"] == "dnd"  # the PBX's view
        finally:
            await model.set_presence("6003", Presence.AVAILABLE)
        await watch.until(lambda: not model.tile("6003").dnd)


async def test_queue_callers_positions_abandon_and_take_one(pbx: Pbx) -> None:
    async with (
        console(pbx) as (model, watch),
        phone(pbx, 6007) as grace,
        phone(pbx, 6008) as heidi,
        phone(pbx, 6010) as reception,
    ):
        abandoned = model.queue_tracker.queues["sales"].abandoned
        first = await call_from(grace, pbx, 6007, "610")
        await watch.until(lambda: model.queue_tracker.queues["sales"].waiting == 1)
        second = await call_from(heidi, pbx, 6008, "610")
        sales = await watch.until(
            lambda: (q := model.queue_tracker.queues["sales"]).waiting == 2 and q
        )
        assert [(c.position, c.caller_number, c.caller_name) for c in sales.callers] == [
            (1, "6007", "Grace Green"),
            (2, "6008", "Heidi Hill"),
        ]
        assert sales.longest_wait(time.time()) >= sales.callers[1].waited(time.time())
        entries = await model.client.list_items("QueueEntry", Action="QueueStatus", Queue="sales")
        assert [e["CallerIDNum"] for e in entries] == ["6007", "6008"]  # the PBX's view
        await first.hangup()
        sales = await watch.until(
            lambda: (q := model.queue_tracker.queues["sales"]).waiting == 1 and q
        )
        assert sales.abandoned == abandoned + 1
        assert [(c.position, c.caller_number) for c in sales.callers] == [(1, "6008")]
        ref = model.queue_caller_ref("sales", sales.callers[0].uniqueid)
        await model.take(ref)
        ringing = await asyncio.wait_for(reception.incoming.get(), 5)
        ringing.answer()
        await wait_pair(model, "IAX2/6008", "IAX2/6010")
        await watch.until(lambda: model.queue_tracker.queues["sales"].waiting == 0)
        await second.hangup()


async def test_queue_members_added_paused_and_removed(pbx: Pbx) -> None:
    async with console(pbx) as (model, watch):
        await model.queue_add("support", "6009")
        member = await watch.until(
            lambda: model.queue_tracker.queues["support"].member("IAX2/6009")
        )
        assert member.name == "Ivan Irons" and member.dynamic and not member.paused
        try:
            await model.queue_pause("6009", True, "lunch", queue="support")
            member = await watch.until(
                lambda: (
                    (m := model.queue_tracker.queues["support"].member("IAX2/6009"))
                    and m.paused
                    and m
                )
            )
            assert member.paused_reason == "lunch"
            (seen,) = await model.client.list_items(
                "QueueMember", Action="QueueStatus", Queue="support", Member="IAX2/6009"
            )
            assert (seen["Paused"], seen["PausedReason"]) == ("1", "lunch")  # the PBX's view
            await model.queue_pause("6009", False, queue="support")
            await watch.until(
                lambda: not model.queue_tracker.queues["support"].member("IAX2/6009").paused
            )
        finally:
            await model.queue_remove("support", "6009")
        await watch.until(lambda: model.queue_tracker.queues["support"].member("IAX2/6009") is None)
        left = await model.client.list_items(
            "QueueMember", Action="QueueStatus", Queue="support", Member="IAX2/6009"
        )
        assert left == []
        static = model.queue_tracker.queues["support"].member("IAX2/6004")
        assert static is not None and static.name == "Dave Dunn" and not static.dynamic


async def test_park_a_tiles_call_and_retrieve_it_to_the_operator(pbx: Pbx) -> None:
    async with (
        console(pbx) as (model, watch),
        phone(pbx, 6004) as dave,
        phone(pbx, 6005) as erin,
        phone(pbx, 6010) as reception,
    ):
        call, _answered = await answered_call(dave, erin, pbx, 6004, "6005")
        tile = await watch.until(lambda: (t := model.tile("6005")).talking_since and t.call and t)
        assert tile.call.label == "6005's caller" and tile.call.channel.startswith("IAX2/6004-")
        await model.park(tile.call)
        parked = await watch.until(lambda: model.parking() and model.parking()[0])
        now = time.time()
        assert parked.caller_number == "6004" and parked.caller_name == "Dave Dunn"
        assert parked.parked_for(now) < 5
        assert parked.rings_back_in(now) is not None and 50 < parked.rings_back_in(now) <= 60
        (listed,) = await model.client.list_items("ParkedCall", Action="ParkedCalls")
        assert listed["ParkingSpace"] == parked.slot  # the PBX's view
        await model.take(model.parked_ref(parked.slot))
        ringing = await asyncio.wait_for(reception.incoming.get(), 5)
        ringing.answer()
        await wait_pair(model, "IAX2/6004", "IAX2/6010")
        await watch.until(lambda: not model.parking())
        await call.hangup()


async def test_room_talking_mute_lock_record_and_kick(pbx: Pbx) -> None:
    async with (
        console(pbx) as (model, watch),
        phone(pbx, 6001) as alice,
        phone(pbx, 6002) as bob,
    ):
        a = await call_from(alice, pbx, 6001, "801")
        await a.wait_answered(timeout=5)
        b = await call_from(bob, pbx, 6002, "801")
        await b.wait_answered(timeout=5)
        room = await watch.until(
            lambda: (r := model.room_tracker.rooms.get("801")) and len(r.participants) == 2 and r
        )
        assert [p.caller_number for p in room.participants] == ["6001", "6002"]
        assert room.participants[0].joined_at <= room.participants[1].joined_at
        talk = asyncio.ensure_future(pump_audio(a, 150))
        try:
            await watch.until(lambda: model.room_tracker.rooms["801"].participants[0].talking)
        finally:
            await talk
        bobs = room.participants[1].uniqueid
        await model.room_mute("801", bobs, True)
        await watch.until(lambda: model.room_tracker.rooms["801"].participant(bobs).muted)
        listed = await model.client.list_items(
            "ConfbridgeList", Action="ConfbridgeList", Conference="801"
        )
        assert {m["CallerIDNum"]: m["Muted"] for m in listed} == {"6001": "No", "6002": "Yes"}
        await model.room_mute("801", bobs, False)
        await watch.until(lambda: not model.room_tracker.rooms["801"].participant(bobs).muted)
        await model.room_lock("801", True)
        (rooms,) = [
            m
            for m in await model.client.list_items(
                "ConfbridgeListRooms", Action="ConfbridgeListRooms"
            )
            if m["Conference"] == "801"
        ]
        assert rooms["Locked"] == "Yes" and model.room_tracker.rooms["801"].locked
        await model.room_lock("801", False)
        await model.room_record("801", True)
        await watch.until(lambda: model.room_tracker.rooms["801"].recording)
        await model.room_record("801", False)
        await watch.until(lambda: not model.room_tracker.rooms["801"].recording)
        await model.room_kick("801", bobs)
        await b.wait_ended(timeout=5)
        await watch.until(lambda: len(model.room_tracker.rooms["801"].participants) == 1)
        listed = await model.client.list_items(
            "ConfbridgeList", Action="ConfbridgeList", Conference="801"
        )
        assert [m["CallerIDNum"] for m in listed] == ["6001"]
        await a.hangup()
        await watch.until(lambda: "801" not in model.room_tracker.rooms)


@pytest.mark.parametrize(
    ("mode", "options"), [(SpyMode.LISTEN, "qE"), (SpyMode.WHISPER, "qwE"), (SpyMode.BARGE, "qBE")]
)
async def test_supervision_rings_the_operator_into_chanspy(
    pbx: Pbx, mode: SpyMode, options: str
) -> None:
    async with (
        console(pbx) as (model, watch),
        phone(pbx, 6001) as alice,
        phone(pbx, 6002) as bob,
        phone(pbx, 6010) as reception,
    ):
        call, answered = await answered_call(alice, bob, pbx, 6001, "6002")
        tile = await watch.until(lambda: (t := model.tile("6002")).talking_since and t.call and t)
        session = await model.supervise(tile.call, mode, "6002")
        assert session.state is SupervisionState.RINGING
        ringing = await asyncio.wait_for(reception.incoming.get(), 5)
        ringing.answer()
        active = await watch.until(
            lambda: model.supervision.state is SupervisionState.ACTIVE and model.supervision
        )
        assert active.banner.endswith("6002") and active.spy_channel.startswith("IAX2/6010-")
        channels = await pbx_channels(model)
        spy = channels[active.spy_channel]
        assert spy["Application"] == "ChanSpy"  # the PBX's view
        assert spy["ApplicationData"] == f"{tile.call.channel},{options}"
        await call.hangup()
        await watch.until(lambda: model.supervision.state is SupervisionState.ENDED)
        await ringing.hangup()
        deadline = time.monotonic() + 5
        while active.spy_channel in await pbx_channels(model):
            assert time.monotonic() < deadline, "the spy channel stayed"
            await asyncio.sleep(0.1)
        del answered


async def test_without_originate_there_is_no_supervision(pbx: Pbx) -> None:
    async with (
        console(pbx, "frontdesk") as (model, watch),
        phone(pbx, 6001) as alice,
        phone(pbx, 6002) as bob,
    ):
        call, _answered = await answered_call(alice, bob, pbx, 6001, "6002")
        tile = await watch.until(lambda: (t := model.tile("6002")).talking_since and t.call and t)
        with pytest.raises(AmiPermissionError, match="needs the AMI class originate"):
            await model.supervise(tile.call, SpyMode.LISTEN, "6002")
        assert not [c for c in await pbx_channels(model) if c.startswith("IAX2/6010-")]
        await call.hangup()


async def test_a_call_another_operator_moved_gives_one_line(pbx: Pbx) -> None:
    async with (
        console(pbx) as (first, watch1),
        console(pbx, "frontdesk", operator="6009") as (second, watch2),
        phone(pbx, 6004) as dave,
        phone(pbx, 6005) as erin,
    ):
        call, _answered = await answered_call(erin, dave, pbx, 6005, "6004")
        mine = await watch1.until(lambda: model_call(first, "6004"))
        theirs = await watch2.until(lambda: model_call(second, "6004"))
        assert mine == theirs  # both consoles see the same call
        await first.transfer(mine, "600")  # the first operator sends 6004's caller to the echo test
        await watch2.until(lambda: model_call(second, "6004") is None)
        with pytest.raises(CallMovedError) as moved:
            await second.transfer(theirs, "6003")
        assert str(moved.value) == "6004's caller was transferred by another operator"
        channels = await pbx_channels(second)
        assert channels[mine.channel]["Application"] == "Echo"  # the second did not move it
        await call.hangup()
        await watch2.until(lambda: second.place_of(mine.uniqueid) is None)
        with pytest.raises(CallMovedError) as gone:
            await second.park(theirs)
        assert str(gone.value) == "6004's caller hung up"


def model_call(model: ConsoleModel, number: str) -> Any:
    """The tile's call once it is bridged (a ringing call's place changes when answered)."""
    tile = model.tile(number)
    return tile.call if tile.talking_since is not None else None


async def test_offline_since_then_everything_resyncs(pbx: Pbx) -> None:
    relay = Relay((pbx.host, pbx.ami_port))
    port = await relay.start()
    try:
        async with console(pbx, port=port) as (model, watch), phone(pbx, 6007) as grace:
            relay.cut()
            cut_at = time.time()
            await watch.until(lambda: model.link.state is Link.OFFLINE)
            assert cut_at - 1 <= model.link.since <= time.time()
            with pytest.raises(ConsoleOfflineError, match="offline since"):
                await model.queue_pause("6001", True)
            call = await call_from(grace, pbx, 6007, "611")  # joins while the console is blind
            await call.wait_answered(timeout=5)
            support = await watch.until(
                lambda: (
                    model.link.online and (q := model.queue_tracker.queues["support"]).waiting and q
                ),
                timeout=15,
            )
            assert support.callers[0].caller_number == "6007"
            assert model.tile("6007").lamp is LampState.IN_USE
            await call.hangup()
            await watch.until(lambda: model.queue_tracker.queues["support"].waiting == 0)
    finally:
        relay.close()


async def test_pick_up_a_ringing_tile_at_the_operators_phone(pbx: Pbx) -> None:
    async with (
        console(pbx) as (model, watch),
        phone(pbx, 6001) as alice,
        phone(pbx, 6003),
        phone(pbx, 6010) as reception,
    ):
        call = await call_from(alice, pbx, 6001, "6003")
        await watch.until(lambda: model.tile("6003").lamp is LampState.RINGING)
        assert model.tile("6003").call is not None
        picking = asyncio.ensure_future(model.pickup("6003"))  # returns once 6010 answered
        ringing = await asyncio.wait_for(reception.incoming.get(), 5)
        ringing.answer()
        await picking
        await wait_pair(model, "IAX2/6001", "IAX2/6010")
        await watch.until(lambda: model.tile("6010").talking_to == "Alice Archer")
        await call.hangup()


async def test_send_a_call_to_voicemail_a_queue_and_a_room(pbx: Pbx) -> None:
    async with (
        console(pbx) as (model, watch),
        phone(pbx, 6004) as dave,
        phone(pbx, 6005) as erin,
    ):
        call, _answered = await answered_call(dave, erin, pbx, 6004, "6005")
        ref = await watch.until(lambda: (t := model.tile("6005")).talking_since and t.call)
        await model.transfer(ref, "611")  # into the support queue
        support = await watch.until(
            lambda: (q := model.queue_tracker.queues["support"]).waiting and q
        )
        assert support.callers[0].caller_number == "6004"
        ref = model.queue_caller_ref("support", support.callers[0].uniqueid)
        await model.transfer(ref, "802")  # from the queue into room 802
        # The room appears (ConfbridgeStart) a moment before its first participant joins.
        room = await watch.until(
            lambda: (r := model.room_tracker.rooms.get("802")) and r.participants and r
        )
        assert [p.caller_number for p in room.participants] == ["6004"]
        assert model.queue_tracker.queues["support"].waiting == 0
        person = room.participants[0]
        (here,) = [
            channel
            for channel in (await pbx_channels(model)).values()
            if channel["Uniqueid"] == person.uniqueid
        ]
        assert here["Application"] == "ConfBridge"
        ref = model.ref(model.channels.channels[person.uniqueid], "the caller in room 802")
        await model.to_voicemail(ref, "6000")  # general delivery: no desk phone's count
        deadline = time.monotonic() + 5
        while (await pbx_channels(model))[here["Channel"]]["Application"] != "VoiceMail":
            assert time.monotonic() < deadline, "the caller never reached voicemail"
            await asyncio.sleep(0.1)
        await call.hangup()


async def test_two_operators_and_a_waiting_caller(pbx: Pbx) -> None:
    async with (
        console(pbx) as (first, watch1),
        console(pbx, "frontdesk", operator="6009") as (second, watch2),
        phone(pbx, 6007) as grace,
        phone(pbx, 6008) as heidi,  # not a sales member,
    ):
        call = await call_from(grace, pbx, 6007, "610")
        waiting = await watch1.until(lambda: first.queue_tracker.queues["sales"].callers)
        theirs = await watch2.until(lambda: second.queue_tracker.queues["sales"].callers)
        seen = [(c.uniqueid, c.position, c.caller_number) for c in waiting]
        assert seen == [(c.uniqueid, c.position, c.caller_number) for c in theirs]
        mine = first.queue_caller_ref("sales", waiting[0].uniqueid)
        stale = second.queue_caller_ref("sales", theirs[0].uniqueid)
        await first.transfer(mine, "6008")  # redirect the waiting caller to a person
        ringing = await asyncio.wait_for(heidi.incoming.get(), 5)
        await watch2.until(lambda: not second.queue_tracker.queues["sales"].callers)
        with pytest.raises(CallMovedError) as taken:
            await second.take(stale)
        assert str(taken.value) == "the caller waiting in sales was taken by another operator"
        ringing.answer()
        await wait_pair(first, "IAX2/6007", "IAX2/6008")
        await call.hangup()
