"""The operator console's model: the whole office as frozen snapshots, and its actions.

Theory of operation
-------------------
:class:`ConsoleModel` sits on one :class:`~iaxphone.pbx.ami.PbxClient`.
It adds its trackers to the client (:meth:`PbxClient.add_source`), so each
resync - the first login and every reconnect - re-reads, after the lamps,
presence and parked calls the client already keeps, the directory
(hints, peers, mailboxes), the live channels, the queues, the rooms and
the AMI user's permissions; events keep them current in between.  The
model never reads a clock of its own: the client's ``clock`` stamps
everything.

Front ends read :meth:`ConsoleModel.tiles`, ``queues()``, ``parking()``,
``rooms()`` and ``link`` - all frozen - and subscribe for
:class:`ConsoleChanged` (which panel, which key) to redraw.

Actions take a :class:`CallRef`, captured from a snapshot when the
operator picked the call.  Before sending anything the model checks that
the call is still where the operator saw it (:meth:`ConsoleModel.verify`):
if another operator (or the parties) moved it meanwhile, the action
raises :class:`CallMovedError` with one line such as "6004's caller was
transferred by another operator", instead of acting on a stale picture.
An action the AMI user may not send raises
:class:`~iaxphone.pbx.ami.AmiPermissionError` naming the missing class,
before any round trip; while the link is down, :class:`ConsoleOfflineError`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .ami import (
    AmiError,
    AmiMessage,
    AmiPermissionError,
    LinkChanged,
    PbxClient,
    PbxEvent,
    Resynced,
)
from .channels import ChannelTracker, LiveChannel
from .conference import Room, RoomTracker
from .directory import DirectoryEntry, Kind, build, mailbox_counts
from .link import LinkStatus, LinkTrigger
from .models import LampState, ParkedCall, Presence
from .permissions import Feature, Permissions, needed_classes
from .queues import Queue, QueueTracker
from .supervision import (
    SUPERVISION_CONTEXT,
    SpyMode,
    Supervision,
    SupervisionState,
    SupervisionTrigger,
)

log = logging.getLogger("iaxphone.pbx.console")

VOICEMAIL_PREFIX = "*9"  # the bundled dialplan: *9NNNN leaves a message for NNNN


class ConsoleOfflineError(AmiError):
    """The AMI link is down: the console cannot act on the PBX now."""


class CallMovedError(AmiError):
    """The call is no longer where the operator saw it; ``str()`` is one line saying where."""


@dataclass(frozen=True)
class ConsoleChanged(PbxEvent):
    panel: str  # "tiles", "queues", "parking", "rooms", "link", "supervision", "all"
    key: str = ""  # the number, queue, slot or room; "" for the whole panel


@dataclass(frozen=True)
class Place:
    """Where a call is: in a bridge with someone, waiting in a queue, parked, in a room."""

    kind: str  # "bridge", "queue", "parked", "room", "ringing", "dialplan"
    key: str = ""  # the bridge id, queue name, slot or room
    with_whom: str = ""  # for a bridge: the other party's number


@dataclass(frozen=True)
class CallRef:
    """A call as the operator picked it from a snapshot."""

    uniqueid: str
    channel: str
    label: str  # "6004's caller", "the caller waiting in sales", "the call parked on 701"
    place: Place


@dataclass(frozen=True)
class Tile:
    """One busy-lamp tile."""

    number: str
    name: str
    kind: Kind
    lamp: LampState
    presence: Presence = Presence.NOT_SET
    note: str = ""
    talking_to: str = ""  # "Alice Archer <6001>"
    talking_since: float | None = None  # wall-clock seconds
    voicemail_new: int = 0
    voicemail_old: int = 0
    call: CallRef | None = None  # the party this extension talks to, or whoever rings it

    @property
    def dnd(self) -> bool:
        return self.presence is Presence.DND


def _party(name: str, number: str) -> str:
    if name and number and name != number:
        return f"{name} <{number}>"
    return name or number


class ConsoleModel:
    def __init__(
        self,
        client: PbxClient,
        operator: str | None = None,
        departments: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        """``operator``: the operator's own extension ("6010"), None for a panel without a phone."""
        self.client = client
        self.operator = operator
        self.departments = dict(departments or {})
        self.directory: dict[str, DirectoryEntry] = {}
        self.notes: dict[str, str] = {}  # presence notes by number
        self.permissions = Permissions(frozenset())
        self.link = LinkStatus()
        self.supervision: Supervision | None = None
        self._listeners: list[Callable[[ConsoleChanged], None]] = []
        self._tasks: set[asyncio.Future[list[AmiMessage]]] = set()
        self.channels = ChannelTracker(self._channel_changed)
        self.queue_tracker = QueueTracker(lambda name: self._changed("queues", name))
        self.room_tracker = RoomTracker(lambda name: self._changed("rooms", name))
        client.add_source(self._on_ami, self._resync)
        client.subscribe(self._on_pbx)

    # ---------------------------------------------------------------- notifications

    def subscribe(self, listener: Callable[[ConsoleChanged], None]) -> None:
        self._listeners.append(listener)

    def _changed(self, panel: str, key: str = "") -> None:
        event = ConsoleChanged(panel, key)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("console listener failed")

    def _channel_changed(self, channel: LiveChannel, gone: bool) -> None:
        number = self._number_of_device(channel.device)
        if number:
            self._changed("tiles", number)
        for peer in self.channels.peers(channel):
            peer_number = self._number_of_device(peer.device)
            if peer_number:
                self._changed("tiles", peer_number)
        session = self.supervision
        if (
            gone
            and session is not None
            and session.live
            and channel.name in (session.spy_channel, session.target_channel)
        ):
            self.supervision = session.after(SupervisionTrigger.HUNG_UP)
            self._changed("supervision")

    @property
    def now(self) -> float:
        return self.client.clock()

    # ---------------------------------------------------------------- PBX side

    def _on_pbx(self, event: PbxEvent) -> None:
        if isinstance(event, LinkChanged):
            trigger = LinkTrigger.UP if event.up else LinkTrigger.DOWN
            self.link = self.link.after(trigger, self.now)
            self._changed("link")
        elif isinstance(event, Resynced):
            self.link = self.link.after(LinkTrigger.RESYNCED, self.now)
            self._changed("all")
        elif hasattr(event, "number"):
            self._changed("tiles", str(getattr(event, "number", "")))
        elif hasattr(event, "slot"):
            self._changed("parking", str(getattr(event, "slot", "")))
        elif hasattr(event, "mailbox"):
            self._changed("tiles", str(getattr(event, "mailbox", "")).split("@")[0])

    def _on_ami(self, message: AmiMessage) -> None:
        now = self.now
        self.channels.handle(message, now)
        self.queue_tracker.handle(message, now)
        self.room_tracker.handle(message, now)
        event = message.get("Event")
        if event == "PresenceStateChange":
            entity = str(message.get("Presentity", ""))
            if entity.startswith("CustomPresence:"):
                number = entity.split(":", 1)[1]
                self.notes[number] = str(message.get("Message", "") or "")
                self._changed("tiles", number)
        elif event == "ChanSpyStart" and self.supervision is not None:
            self._supervision_started(message)

    async def _resync(self) -> None:
        """Re-read every panel (after each login); parts the user may not read stay empty."""
        client, now = self.client, self.now
        try:
            self.permissions = await client.permissions()
        except AmiError as exc:
            log.warning("cannot read the AMI user's permissions: %s", exc)
        hints = {number: ext.hint for number, ext in client.state.extensions.items()}
        peers = await self._optional("PeerEntry", Action="IAXpeerlist")
        mailboxes = await self._optional("VoicemailUserEntry", Action="VoicemailUsersList")
        named = {str(m.get("VoiceMailbox")) for m in mailboxes if m.get("Fullname")}
        caller_names: dict[str, str] = {}
        for number, hint in hints.items():
            if number not in named and hint.startswith("IAX2/"):
                caller_names[number] = await self._peer_name(number)
        for peer in peers:
            number = str(peer.get("ObjectName", ""))
            if number.isdigit() and number not in hints and number not in named:
                caller_names[number] = await self._peer_name(number)
        self.directory = build(hints, peers, mailboxes, caller_names, client.context)
        client.state.mailboxes.update(mailbox_counts(mailboxes, client.context))
        presence_notes = await self._optional("PresenceStateChange", Action="PresenceStateList")
        for message in presence_notes:
            entity = str(message.get("Presentity", ""))
            if entity.startswith("CustomPresence:"):
                self.notes[entity.split(":", 1)[1]] = str(message.get("Message", "") or "")
        self.channels.load(await self._optional("CoreShowChannel", Action="CoreShowChannels"), now)
        self.queue_tracker.load(await self._optional("", Action="QueueStatus"), now)
        rooms = await self._optional("ConfbridgeListRooms", Action="ConfbridgeListRooms")
        people: list[AmiMessage] = []
        for room in rooms:
            people += await self._optional(
                "ConfbridgeList", Action="ConfbridgeList", Conference=str(room["Conference"])
            )
        self.room_tracker.load(rooms, people, now)

    async def _optional(self, event: str, **fields: str) -> list[AmiMessage]:
        """A list action's items, or none when the user may not send it (or nothing is there)."""
        try:
            messages = await self.client.action(**fields)
        except AmiPermissionError as exc:
            log.info("%s", exc)
            return []
        except AmiError:  # e.g. ConfbridgeListRooms: "No active conferences."
            return []
        return [m for m in messages if (m.get("Event") == event if event else "Event" in m)]

    async def _peer_name(self, number: str) -> str:
        try:
            (reply,) = (
                await self.client.action(
                    Action="Getvar", Variable=f"IAXPEER({number},callerid_name)"
                )
            )[:1]
        except AmiError:
            return ""
        return str(reply.get("Value", "") or "")

    # ---------------------------------------------------------------- snapshots

    def _number_of_device(self, device: str) -> str:
        for entry in self.directory.values():
            if entry.device and entry.device == device:
                return entry.number
        prefix, _, tail = device.partition("/")
        if prefix == "IAX2" and tail in self.directory:
            return tail
        return ""

    def tiles(self) -> list[Tile]:
        return [self.tile(number) for number in sorted(self.directory)]

    def tile(self, number: str) -> Tile:
        entry = self.directory[number]
        extension = self.client.state.extensions.get(number)
        if extension is not None:
            lamp = extension.lamp
            presence = extension.presence
        elif entry.registered is False:
            lamp, presence = LampState.UNAVAILABLE, Presence.NOT_SET
        else:
            lamp, presence = LampState.IDLE, Presence.NOT_SET
        counts = self.client.state.mailboxes.get(entry.mailbox, (0, 0))
        talking_to, since, call = "", None, None
        # A queue's or a room's hint state means something else than a phone's
        # ("no member free", "nobody in"): their tiles show what waits inside.
        if entry.kind is Kind.QUEUE:
            queue = self.queue_tracker.queues.get(entry.target)
            waiting = queue.waiting if queue is not None else 0
            lamp = LampState.RINGING if waiting else LampState.IDLE
            talking_to = f"{waiting} waiting" if waiting else ""
        elif entry.kind is Kind.ROOM:
            room = self.room_tracker.rooms.get(entry.target)
            people = len(room.participants) if room is not None else 0
            lamp = LampState.IN_USE if people else LampState.IDLE
            talking_to = f"{people} in the room" if people else ""
        if entry.device:
            mine = self.channels.of_device(entry.device)
            if mine and extension is None:
                lamp = LampState.RINGING if mine[0].state == "Ringing" else LampState.IN_USE
            for channel in mine:
                room_name = self.room_tracker.where(channel.uniqueid)
                if room_name is not None:  # a conference: the room, not one of its people
                    talking_to, since = f"Room {room_name}", channel.bridged_at
                    break
                peers = self.channels.peers(channel)
                if peers:
                    other = peers[0]
                    talking_to = self._who(other)
                    since = channel.bridged_at
                    call = self.ref(other, f"{number}'s caller")
                    break
                if channel.state in ("Ringing", "Ring") and channel.connected_number:
                    talking_to = _party(channel.connected_name, channel.connected_number)
                    caller = self._caller_of(channel)
                    if caller is not None:
                        call = self.ref(caller, f"the call ringing {number}")
        return Tile(
            number=number,
            name=entry.name,
            kind=entry.kind,
            lamp=lamp,
            presence=presence,
            note=self.notes.get(number, ""),
            talking_to=talking_to,
            talking_since=since,
            voicemail_new=counts[0],
            voicemail_old=counts[1],
            call=call,
        )

    def _who(self, channel: LiveChannel) -> str:
        """A party as a tile names it: an office phone by its directory name, else caller ID."""
        number = self._number_of_device(channel.device)
        if number:
            return self.directory[number].name
        return _party(channel.caller_name, channel.caller_number)

    def _caller_of(self, ringing: LiveChannel) -> LiveChannel | None:
        """The channel that dials a ringing one (same linkedid, not itself)."""
        for channel in self.channels.channels.values():
            if channel.linkedid == ringing.linkedid and channel.uniqueid != ringing.uniqueid:
                return channel
        return None

    def queues(self) -> list[Queue]:
        return [self.queue_tracker.queues[name] for name in sorted(self.queue_tracker.queues)]

    def parking(self) -> list[ParkedCall]:
        return sorted(self.client.state.parked.values(), key=lambda p: int(p.slot or 0))

    def rooms(self) -> list[Room]:
        return [self.room_tracker.rooms[name] for name in sorted(self.room_tracker.rooms)]

    def department_of(self, number: str) -> str:
        for name, numbers in self.departments.items():
            if number in numbers:
                return name
        kind = self.directory[number].kind if number in self.directory else Kind.OTHER
        return {Kind.QUEUE: "Queues", Kind.ROOM: "Rooms"}.get(kind, "Office")

    # ---------------------------------------------------------------- where calls are

    def place_of(self, uniqueid: str) -> Place | None:
        """Where the call with this Uniqueid is now (None: it hung up)."""
        channel = self.channels.channels.get(uniqueid)
        for parked in self.client.state.parked.values():
            if parked.uniqueid == uniqueid or (channel and parked.channel == channel.name):
                return Place("parked", parked.slot)
        queue = self.queue_tracker.where(uniqueid)
        if queue is not None:
            return Place("queue", queue)
        room = self.room_tracker.where(uniqueid)
        if room is not None:
            return Place("room", room)
        if channel is None:
            return None
        peers = self.channels.peers(channel)
        if peers:
            other = peers[0]
            with_whom = self._number_of_device(other.device) or other.caller_number
            return Place("bridge", channel.bridge, with_whom)
        if channel.state in ("Ringing", "Ring"):
            return Place("ringing", channel.connected_number)
        return Place("dialplan", channel.application)

    def ref(self, channel: LiveChannel, label: str) -> CallRef:
        place = self.place_of(channel.uniqueid) or Place("dialplan")
        return CallRef(channel.uniqueid, channel.name, label, place)

    def queue_caller_ref(self, queue: str, uniqueid: str) -> CallRef:
        caller = self.queue_tracker.queues[queue].caller(uniqueid)
        if caller is None:
            raise CallMovedError(f"no caller {uniqueid} waits in {queue}")
        return CallRef(
            caller.uniqueid, caller.channel, f"the caller waiting in {queue}", Place("queue", queue)
        )

    def parked_ref(self, slot: str) -> CallRef:
        parked = self.client.state.parked.get(slot)
        if parked is None:
            raise CallMovedError(f"nothing is parked on {slot}")
        uniqueid = parked.uniqueid
        if not uniqueid:
            channel = self.channels.by_name(parked.channel)
            uniqueid = channel.uniqueid if channel else ""
        return CallRef(
            uniqueid, parked.channel, f"the call parked on {slot}", Place("parked", slot)
        )

    def verify(self, ref: CallRef) -> None:
        """Raise CallMovedError when the call is no longer where the operator saw it."""
        now_at = self.place_of(ref.uniqueid)
        if now_at == ref.place:
            return
        if now_at is None:
            raise CallMovedError(f"{ref.label} hung up")
        if now_at.kind == "parked":
            raise CallMovedError(f"{ref.label} was parked on {now_at.key} by another operator")
        if now_at.kind == "queue":
            raise CallMovedError(
                f"{ref.label} was sent to the {now_at.key} queue by another operator"
            )
        if now_at.kind == "room":
            raise CallMovedError(f"{ref.label} was moved to room {now_at.key} by another operator")
        if ref.place.kind == "parked":
            raise CallMovedError(f"{ref.label} was picked up by another operator")
        if ref.place.kind == "queue":
            raise CallMovedError(f"{ref.label} was taken by another operator")
        if now_at.kind == "bridge" and now_at.with_whom:
            raise CallMovedError(
                f"{ref.label} was transferred by another operator (now with {now_at.with_whom})"
            )
        raise CallMovedError(f"{ref.label} was transferred by another operator")

    # ---------------------------------------------------------------- actions

    def allowed(self, feature: Feature) -> str | None:
        """None when the console may offer ``feature``; else the greyed key's tooltip."""
        if feature in (Feature.DIAL, Feature.SUPERVISE) and self.operator is None:
            return f"{feature.value} needs an account: this console has no phone of its own"
        return self.permissions.missing(feature)

    def _require(self, feature: Feature) -> None:
        if not self.link.online:
            since = time.strftime("%H:%M:%S", time.localtime(self.link.since))
            raise ConsoleOfflineError(f"the PBX link is down (offline since {since})")
        missing = self.allowed(feature)
        if missing is not None:
            needed = needed_classes(feature.action)
            raise AmiPermissionError(
                f"AMI {feature.action}: not allowed ({missing})", feature.action, needed
            )

    async def _moving(self, ref: CallRef, feature: Feature, number: str) -> None:
        self._require(feature)
        self.verify(ref)
        try:
            await self.client.redirect(ref.channel, number)
        except AmiPermissionError:
            raise
        except AmiError as exc:
            self.verify(ref)  # the call moved between our check and the PBX's
            raise AmiError(f"cannot move {ref.label}: {exc}") from None

    async def transfer(self, ref: CallRef, number: str) -> None:
        """Blind transfer: send the call to an extension (a phone, queue, room or service)."""
        await self._moving(ref, Feature.REDIRECT, number)

    async def to_voicemail(self, ref: CallRef, mailbox_number: str) -> None:
        await self._moving(ref, Feature.REDIRECT, f"{VOICEMAIL_PREFIX}{mailbox_number}")

    async def take(self, ref: CallRef) -> None:
        """Bring the call (a waiting caller, a parked call) to the operator's own phone."""
        if self.operator is None:
            raise AmiError("this console has no phone of its own to take calls on")
        await self._moving(ref, Feature.REDIRECT, self.operator)

    async def park(self, ref: CallRef) -> None:
        self._require(Feature.PARK)
        self.verify(ref)
        try:
            await self.client.park(ref.channel)
        except AmiPermissionError:
            raise
        except AmiError as exc:
            self.verify(ref)
            raise AmiError(f"cannot park {ref.label}: {exc}") from None

    async def call(self, number: str) -> None:
        """Ring the operator's phone, then ``number`` (click-to-call)."""
        self._require(Feature.DIAL)
        assert self.operator is not None
        await self.client.originate(f"IAX2/{self.operator}", number)

    async def pickup(self, number: str) -> None:
        """Take the call ringing ``number`` at the operator's phone."""
        self._require(Feature.DIAL)
        assert self.operator is not None
        await self.client.pickup(f"IAX2/{self.operator}", number)

    async def send_text(self, number: str, message: str) -> str:
        """Send a text message to the phone on ``number``'s tile, in its live call (SendText).

        The text goes to the phone's own channel (its newest), so its user
        reads it in the call's chat; returns the channel's name.
        """
        self._require(Feature.CHAT)
        entry = self.directory.get(number)
        mine = self.channels.of_device(entry.device) if entry is not None and entry.device else []
        if not mine:
            raise CallMovedError(f"{number} has no live call to send a text to")
        channel = mine[-1].name
        try:
            await self.client.send_text(channel, message)
        except AmiPermissionError:
            raise
        except AmiError as exc:
            raise AmiError(f"cannot send a text to {number}: {exc}") from None
        return channel

    async def set_presence(self, number: str, presence: Presence, note: str = "") -> None:
        self._require(Feature.PRESENCE)
        await self.client.set_presence(number, presence, note)

    # queues
    async def queue_add(self, queue: str, number: str, paused: bool = False) -> None:
        self._require(Feature.QUEUE_ADD)
        entry = self.directory.get(number)
        name = entry.name if entry is not None else number
        await self.client.action(
            Action="QueueAdd",
            Queue=queue,
            Interface=f"IAX2/{number}",
            MemberName=name,
            StateInterface=f"IAX2/{number}",
            Paused="true" if paused else "false",
        )

    async def queue_remove(self, queue: str, number: str) -> None:
        self._require(Feature.QUEUE_REMOVE)
        await self.client.action(Action="QueueRemove", Queue=queue, Interface=f"IAX2/{number}")

    async def queue_pause(
        self, number: str, paused: bool, reason: str = "", queue: str | None = None
    ) -> None:
        """Pause (with a reason) or unpause a member, in one queue or in all of its queues."""
        self._require(Feature.QUEUE_PAUSE)
        fields = {"Action": "QueuePause", "Interface": f"IAX2/{number}"}
        fields["Paused"] = "true" if paused else "false"
        if queue:
            fields["Queue"] = queue
        if reason:
            fields["Reason"] = reason
        await self.client.action(**fields)

    # rooms
    def _participant_channel(self, room: str, uniqueid: str) -> str:
        known = self.room_tracker.rooms.get(room)
        person = known.participant(uniqueid) if known is not None else None
        if person is None:
            raise CallMovedError(f"that participant has left room {room}")
        return person.channel

    async def room_mute(self, room: str, uniqueid: str, muted: bool) -> None:
        self._require(Feature.ROOM_MUTE)
        channel = self._participant_channel(room, uniqueid)
        action = "ConfbridgeMute" if muted else "ConfbridgeUnmute"
        await self.client.action(Action=action, Conference=room, Channel=channel)

    async def room_kick(self, room: str, uniqueid: str) -> None:
        self._require(Feature.ROOM_KICK)
        channel = self._participant_channel(room, uniqueid)
        await self.client.action(Action="ConfbridgeKick", Conference=room, Channel=channel)

    async def room_lock(self, room: str, locked: bool) -> None:
        self._require(Feature.ROOM_LOCK)
        action = "ConfbridgeLock" if locked else "ConfbridgeUnlock"
        await self.client.action(Action=action, Conference=room)
        self.room_tracker.set_locked(room, locked)  # Asterisk sends no event for a lock

    async def room_record(self, room: str, on: bool) -> None:
        self._require(Feature.ROOM_RECORD)
        action = "ConfbridgeStartRecord" if on else "ConfbridgeStopRecord"
        await self.client.action(Action=action, Conference=room)

    # supervision
    async def supervise(self, ref: CallRef, mode: SpyMode, target_label: str) -> Supervision:
        """Ring the operator's phone into ChanSpy on ``ref``'s channel; returns while it rings.

        The session becomes ACTIVE when ChanSpy starts on the operator's answered phone
        (ChanSpyStart), FAILED when the
        phone does not answer in 30 s, ENDED when either side hangs up.
        """
        self._require(Feature.SUPERVISE)
        assert self.operator is not None
        self.verify(ref)
        device = f"IAX2/{self.operator}"
        session = Supervision(mode, ref.channel, target_label, device, started_at=self.now)
        self.supervision = session
        self._changed("supervision")
        fields = {
            "Action": "Originate",
            "Channel": device,
            "Context": SUPERVISION_CONTEXT,
            "Exten": mode.value,
            "Priority": "1",
            "Variable": f"SPY_CHANNEL={ref.channel}",
            "CallerID": f"{mode.value.capitalize()} {target_label} <{target_label}>",
            "Timeout": "30000",
            "Async": "true",
        }
        # Asterisk answers an async Originate only once the phone answered (or
        # gave up): wait for that in the background, the operator answers meanwhile.
        task = asyncio.ensure_future(self.client.action(**fields))
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._originated(done, session))
        return session

    def _originated(self, done: asyncio.Future[list[AmiMessage]], session: Supervision) -> None:
        self._tasks.discard(done)
        if done.cancelled():
            return
        failed = done.exception() is not None
        if not failed:
            result = next((m for m in done.result() if m.get("Event") == "OriginateResponse"), None)
            failed = result is not None and result.get("Response") != "Success"
        current = self.supervision
        if (
            failed
            and current is not None
            and current.state is SupervisionState.RINGING
            and current.started_at == session.started_at
        ):
            self.supervision = current.after(SupervisionTrigger.REFUSED)
            self._changed("supervision")

    def _supervision_started(self, message: AmiMessage) -> None:
        """ChanSpyStart: the operator's phone answered and ChanSpy runs on it."""
        session = self.supervision
        if session is None or session.state is not SupervisionState.RINGING:
            return
        spyer = str(message.get("SpyerChannel", ""))
        if spyer.rsplit("-", 1)[0] == session.operator_device:
            self.supervision = session.after(SupervisionTrigger.ANSWERED, spy_channel=spyer)
            self._changed("supervision")
