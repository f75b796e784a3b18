"""iaxphone's typed layer over the Asterisk Manager Interface (panoramisk).

Theory of operation
-------------------
:class:`PbxClient` owns one panoramisk ``Manager``.  Every time the login
succeeds - the first time and after each reconnect (retried after 1, 2,
4 ... up to 30 s) - it re-reads the whole state with list
actions (``ExtensionStateList``, ``PresenceStateList``, ``ParkedCalls``)
and then keeps it current from events (``ExtensionStatus``,
``PresenceStateChange``, ``ParkedCall``, ``UnParkedCall``,
``ParkedCallTimeOut``, ``ParkedCallGiveUp``, ``MessageWaiting``, and
``Hold``/``Unhold``/``Hangup`` for the on-hold lamp, which Asterisk does not
publish as a device state for IAX2 channels; they are also passed on as
:class:`ChannelHoldChanged` and :class:`ChannelHungUp`, which is how a
consultation the PBX runs is seen to end).  Listeners get typed
:class:`PbxEvent` objects; nothing else in iaxphone speaks AMI.

Actions return plain values or raise :class:`AmiError` with Asterisk's own
message; a refused privilege raises :class:`AmiPermissionError` naming the
AMI class the user lacks.  Losing the AMI link never touches calls: those
are IAX2.

The operator console's trackers (:mod:`iaxphone.pbx.console`) hook in
with :meth:`PbxClient.add_source`: each gets every raw AMI event and is
re-read, after the state above, at every resync; ``Resynced`` follows
once all of them are current.  :meth:`PbxClient.permissions` asks the PBX
(``ListCommands``) which actions this AMI user may send.

Nothing is assumed about the PBX (:mod:`iaxphone.pbx.capabilities`): each
resync first probes what it offers (``capabilities``), reads hints from
every context, finds the phones' own dialplan context (``IAXPEER(N,context)``)
unless one is given, skips what is not there (no ``ParkedCalls`` without
res_parking) and reads and sets DND the PBX's own way
(:mod:`iaxphone.pbx.dnd`).  An action the PBX does not know raises
:class:`AmiUnsupportedError`, never a generic failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from panoramisk import Manager

from iaxphone.errors import IaxphoneError

from .capabilities import FACILITY_MODULE, Capabilities, Facility, not_loaded, probe
from .dnd import (
    DndMechanism,
    astdb_means_dnd,
    detect,
    devstate_means_dnd,
    dnd_device_number,
    set_actions,
)
from .models import (
    ChannelInfo,
    Extension,
    LampState,
    ParkedCall,
    PbxState,
    Presence,
    lamp_from_status,
)
from .permissions import ACTION_CLASSES, Permissions, needed_classes

log = logging.getLogger("iaxphone.pbx")

# The AMI privilege each action needs (manager.conf write classes): the
# table in permissions.py, from Asterisk 22's registrations.
PRIVILEGE = {action: needed_classes(action) for action in ACTION_CLASSES}


class AmiError(IaxphoneError):
    """Asterisk answered ``Response: Error``; ``str()`` is its message."""


class AmiPermissionError(AmiError):
    """The AMI user lacks the privilege an action needs; ``needed`` names the class(es)."""

    def __init__(self, message: str, action: str = "", needed: str = "") -> None:
        super().__init__(message)
        self.action = action
        self.needed = needed


class AmiUnsupportedError(AmiError):
    """The PBX does not offer what was asked (its module is not loaded, or no such
    mechanism exists there); ``str()`` says what is missing and why."""


class AmiLoginError(AmiError):
    """Asterisk refused the AMI username or secret."""


class OriginateError(AmiError):
    """The phone an Originate rang did not answer; ``reason`` is Asterisk's code."""

    def __init__(self, message: str, reason: int) -> None:
        super().__init__(message)
        self.reason = reason


# OriginateResponse "Reason" (the AST_CONTROL code that ended the first leg).
ORIGINATE_REASONS = {
    0: "no such phone or it is unreachable",
    1: "hung up",
    3: "no answer",
    5: "busy",
    8: "congestion",
}

# Actions answered with an event list; every other action gets one response.
LIST_ACTIONS = frozenset(
    {
        "ExtensionStateList",
        "PresenceStateList",
        "ParkedCalls",
        "CoreShowChannels",
        "QueueStatus",
        "QueueSummary",
        "ConfbridgeList",
        "ConfbridgeListRooms",
        "IAXpeerlist",
        "VoicemailUsersList",
        "DeviceStateList",
        "DBGet",
    }
)

# The facility whose module registers an action (for "this PBX has no ...").
_ACTION_FACILITY = {action: f for f, (_module, action) in FACILITY_MODULE.items() if action}

# A message as the trackers see it: header name -> value.
AmiMessage = Mapping[str, Any]


@dataclass(frozen=True)
class PbxEvent:
    """Base of what a PbxClient tells its listeners."""


@dataclass(frozen=True)
class Resynced(PbxEvent):
    extensions: int
    parked: int


@dataclass(frozen=True)
class LampChanged(PbxEvent):
    number: str
    lamp: LampState


@dataclass(frozen=True)
class PresenceChanged(PbxEvent):
    number: str
    presence: Presence


@dataclass(frozen=True)
class ParkingChanged(PbxEvent):
    slot: str
    parked: ParkedCall | None  # None: the slot emptied (retrieved, timed out, gave up)


@dataclass(frozen=True)
class MailboxChanged(PbxEvent):
    mailbox: str  # "6001@office"
    new: int
    old: int


@dataclass(frozen=True)
class LinkChanged(PbxEvent):
    up: bool


@dataclass(frozen=True)
class ChannelHoldChanged(PbxEvent):
    channel: str  # "IAX2/6001-1234"
    held: bool


@dataclass(frozen=True)
class ChannelHungUp(PbxEvent):
    channel: str


class _Manager(Manager):  # type: ignore[misc]
    """panoramisk's Manager with exponential reconnect back-off (1, 2, 4 ... 30 s,
    back to the first step after a login), and nothing reconnects once closed."""

    stopped = False
    first_delay = 1.0
    max_delay = 30.0
    _next_delay = 1.0

    def connect(self, *args: Any, **kwargs: Any) -> Any:
        if self.stopped:
            return None
        return super().connect(*args, **kwargs)

    def _back_off(self) -> None:
        self.reconnect_timeout = self._next_delay  # what panoramisk waits before retrying
        self._next_delay = min(self._next_delay * 2, self.max_delay)

    def reset_back_off(self) -> None:
        self._next_delay = self.first_delay

    def connection_made(self, f: asyncio.Future[Any]) -> None:
        if f.exception() is not None:
            self._back_off()
        super().connection_made(f)

    def connection_lost(self, exc: Exception | None) -> None:
        self._back_off()
        super().connection_lost(exc)


class PbxClient:
    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        context: str | None = None,
        dnd: str = "auto",
        ping_interval: float = 10.0,
        ping_timeout: float = 5.0,
        reconnect_timeout: float = 1.0,
        max_reconnect_timeout: float = 30.0,
        tls: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # The phones' dialplan context (originate, transfers): given, or found at resync.
        self.context = context or "default"
        self._context_given = bool(context)
        self.dnd_mode = dnd  # "auto" or a DndMechanism value ([ami] dnd)
        self.capabilities = Capabilities.everything()
        self._peer_devices: set[str] = set()  # IAX2/N of extensions that have no hint
        self.clock = clock  # wall-clock seconds: when a call was parked, since when offline
        self._sources: list[tuple[Callable[[AmiMessage], None], Callable[[], Awaitable[None]]]] = []
        self.state = PbxState()
        self._listeners: list[Callable[[PbxEvent], None]] = []
        self._logged_in = asyncio.Event()
        self._login_failed: str | None = None
        self._resync_task: asyncio.Task[None] | None = None
        self._keepalive_task: asyncio.Task[None] | None = None
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.resyncs = 0
        self.address = (host, port)
        self.manager = _Manager(
            host=host,
            port=port,
            username=username,
            secret=secret,
            ping_delay=10**6,  # panoramisk's pinger never checks the answer: ours does
            ping_interval=10**6,
            reconnect_timeout=1,
            ssl=tls,
            on_login=self._on_login,
            on_disconnect=self._on_disconnect,
        )
        self.manager.first_delay = self.manager._next_delay = reconnect_timeout
        self.manager.max_delay = max_reconnect_timeout
        for name, handler in (
            ("ExtensionStatus", self._on_extension_status),
            ("PresenceStateChange", self._on_presence),
            ("ParkedCall", self._on_parked),
            ("UnParkedCall", self._on_unparked),
            ("ParkedCallTimeOut", self._on_unparked),
            ("ParkedCallGiveUp", self._on_unparked),
            ("MessageWaiting", self._on_message_waiting),
            ("Hold", self._on_hold),
            ("Unhold", self._on_unhold),
            ("Hangup", self._on_hangup),
            ("DeviceStateChange", self._on_device_state),
        ):
            self.manager.register_event(name, self._wrap(handler))
        self.manager.register_event("*", self._wrap(self._to_sources))

    # ------------------------------------------------------------------ life cycle

    async def connect(self, timeout: float = 10.0) -> None:
        """Connect, log in and read the whole state.

        Raises AmiError when nothing listens at the address, AmiLoginError on a
        refused login.  Once connected, a lost link is retried for ever.
        """
        try:
            await asyncio.wait_for(self.manager.connect(), timeout)
        except (TimeoutError, OSError) as exc:
            self.close()
            host, port = self.address
            raise AmiError(f"cannot reach AMI at {host}:{port}: {_reason(exc)}") from None
        login = self.manager.authenticated_future
        if login is not None:
            reply = await asyncio.wait_for(login, timeout)
            if not getattr(reply, "success", False):
                self.close()
                raise AmiLoginError(f"AMI login refused: {reply.get('Message', 'no reason given')}")
        await asyncio.wait_for(self._logged_in.wait(), timeout)
        if self._resync_task is not None:
            await asyncio.wait_for(self._resync_task, timeout)

    def close(self) -> None:
        self.manager.stopped = True
        for task in (self._resync_task, self._keepalive_task):
            if task is not None:
                task.cancel()
        self.manager.close()

    def subscribe(self, listener: Callable[[PbxEvent], None]) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[PbxEvent], None]) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def add_source(
        self, on_event: Callable[[AmiMessage], None], resync: Callable[[], Awaitable[None]]
    ) -> None:
        """A tracker: ``on_event`` sees every AMI event, ``resync`` runs at every resync."""
        self._sources.append((on_event, resync))

    def emit(self, event: PbxEvent) -> None:
        """Tell the listeners (the trackers' own typed events go out this way too)."""
        self._emit(event)

    def _to_sources(self, message: Any) -> None:
        for on_event, _resync in self._sources:
            try:
                on_event(message)
            except Exception:
                log.exception("AMI event %s could not be tracked", message.get("Event"))

    def _emit(self, event: PbxEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("PBX listener failed")

    def _on_login(self, manager: Manager) -> None:
        self.manager.reset_back_off()
        self._emit(LinkChanged(True))
        self._resync_task = asyncio.ensure_future(self.resync())
        self._resync_task.add_done_callback(self._ready)

    def _ready(self, _resync: asyncio.Task[None]) -> None:
        self._logged_in.set()
        if self._keepalive_task is None or self._keepalive_task.done():
            self._keepalive_task = asyncio.ensure_future(self._keepalive())

    async def _keepalive(self) -> None:
        """Ping every ping_interval; a link that stops answering is cut and redialled.

        A silently dead path (a NAT dropping state, a cable pulled on the far
        side) never closes the TCP connection by itself.
        """
        while True:
            await asyncio.sleep(self.ping_interval)
            if not self._logged_in.is_set():
                return
            try:
                await asyncio.wait_for(
                    self.manager.send_action({"Action": "Ping"}), self.ping_timeout
                )
            except TimeoutError:
                log.warning("AMI did not answer a ping in %.1f s: reconnecting", self.ping_timeout)
                transport = getattr(self.manager.protocol, "transport", None)
                if transport is not None:
                    transport.abort()  # connection_lost follows: back-off, reconnect, resync
                return

    def _on_disconnect(self, manager: Manager, exc: Exception | None) -> None:
        self._logged_in.clear()
        self._emit(LinkChanged(False))

    @staticmethod
    def _wrap(handler: Callable[[Any], None]) -> Callable[[Manager, Any], None]:
        def callback(manager: Manager, message: Any) -> None:
            try:
                handler(message)
            except Exception:
                log.exception("AMI event %s could not be handled", message.get("Event"))

        return callback

    # ------------------------------------------------------------------ actions

    async def action(self, **fields: str) -> list[Any]:
        """Send one action; every message of its answer, or AmiError."""
        listing = fields.get("Action") in LIST_ACTIONS or fields.get("Action") == "Originate"
        reply = await self.manager.send_action(fields, as_list=None if listing else False)
        messages = reply if isinstance(reply, list) else [reply]
        first = messages[0] if messages else None
        if first is not None and first.get("Response") == "Error":
            message = str(first.get("Message", "error"))
            if message == "Permission denied":
                action = fields.get("Action", "")
                needed = PRIVILEGE.get(action, "a privilege")
                raise AmiPermissionError(
                    f"AMI {action}: permission denied (the AMI user needs {needed})",
                    action,
                    needed,
                )
            action = fields.get("Action", "")
            if message.startswith("Invalid/unknown command"):
                facility = _ACTION_FACILITY.get(action)
                if facility is not None:
                    why = not_loaded(facility, FACILITY_MODULE[facility][0])
                else:
                    why = "this PBX does not know the action (its module is not loaded)"
                raise AmiUnsupportedError(f"AMI {action}: {why}")
            raise AmiError(f"AMI {action}: {message}")
        return messages

    async def list_items(self, event: str, **fields: str) -> list[AmiMessage]:
        """The ``event`` messages of a list action's answer (e.g. QueueStatus -> QueueEntry)."""
        return [m for m in await self.action(**fields) if m.get("Event") == event]

    async def permissions(self) -> Permissions:
        """Which actions this AMI user may send, from the PBX's own ``ListCommands``."""
        (reply,) = (await self.action(Action="ListCommands"))[:1]
        return Permissions.from_list_commands(dict(reply))

    def why_not(self, facility: Facility) -> str | None:
        """None when the PBX offers ``facility``; else why not (from the last probe)."""
        return self.capabilities.why_not(facility)

    async def resync(self) -> None:
        """Probe the PBX, then re-read extensions, presence, DND and parked calls."""
        self.capabilities = caps = await probe(self.action)
        state = PbxState()
        for message in await self._listing("ExtensionStateList"):
            if message.get("Event") != "ExtensionStatus" or _slot_hint(message):
                continue
            number, context = str(message["Exten"]), str(message.get("Context", ""))
            known = state.extensions.get(number)
            if known is not None and (not self._context_given or known.context == self.context):
                continue  # the same number in several contexts: the phones' own, else the first
            state.extensions[number] = Extension(
                number,
                context,
                str(message.get("Hint", "")),
                lamp_from_status(int(message.get("Status", -1))),
            )
        await self._add_peers_without_hints(state)
        if not self._context_given:
            self.context = await self._find_context(state)
        mechanism, why = detect((e.hint for e in state.extensions.values()), self.dnd_mode)
        self.capabilities = caps = caps.with_dnd(mechanism, why)
        if caps.has(Facility.PRESENCE):
            for message in await self._listing("PresenceStateList"):
                if message.get("Event") == "PresenceStateChange":
                    state.presence_by_entity[str(message["Presentity"])] = Presence.parse(
                        str(message.get("Status", ""))
                    )
        for number, extension in state.extensions.items():
            extension.presence = state.presence_by_entity.get(
                state.presence_entity(number), Presence.NOT_SET
            )
        await self._read_dnd(state, mechanism)
        if caps.has(Facility.PARKING):
            for message in await self._listing("ParkedCalls"):
                if message.get("Event") == "ParkedCall":
                    parked = _parked(message, self.clock())
                    state.parked[parked.slot] = parked
        known_mailboxes, self.state = list(self.state.mailboxes), state
        for mailbox in known_mailboxes:  # counts may have changed while we were away
            with contextlib.suppress(AmiError):
                await self.mailbox_count(mailbox)
        for _on_event, source_resync in self._sources:
            await source_resync()
        self.resyncs += 1
        self._emit(Resynced(len(state.extensions), len(state.parked)))

    async def _listing(self, action: str, **fields: str) -> list[Any]:
        """A list action's messages, or none when the PBX or the user cannot answer it."""
        try:
            return await self.action(Action=action, **fields)
        except AmiError as exc:
            log.info("%s", exc)
            return []

    async def _getvar(self, variable: str) -> str | None:
        try:
            (reply,) = (await self.action(Action="Getvar", Variable=variable))[:1]
        except AmiError:
            return None
        value = reply.get("Value")
        return None if value is None else str(value)

    async def _add_peers_without_hints(self, state: PbxState) -> None:
        """On a PBX whose hints watch no IAX2 phone (Debian's stock dialplan), the numeric
        IAX2 peers are the extensions, their lamp the device state ``IAX2/N`` itself.
        Where hints do watch IAX2 phones, a peer without one (a trunk, a test peer)
        is left out, as the PBX's admin chose."""
        if not self.capabilities.may("IAXpeerlist"):
            return
        watched = {part for e in state.extensions.values() for part in re.split(r"[&,]", e.hint)}
        if any(part.startswith("IAX2/") for part in watched):
            return
        entries = {
            str(m.get("ObjectName", "")): m
            for m in await self._listing("IAXpeerlist")
            if m.get("Event") == "PeerEntry"
        }
        peers = list(entries)
        new = [n for n in peers if n.isdigit() and n not in state.extensions]
        new = [n for n in new if f"IAX2/{n}" not in watched]
        if not new:
            return
        devices: dict[str, str] = {}
        if self.capabilities.has(Facility.DEVICE_STATE):
            for m in await self._listing("DeviceStateList"):
                devices[str(m.get("Device", ""))] = str(m.get("State", ""))
        for number in new:
            lamp = _device_lamp(devices.get(f"IAX2/{number}", ""))
            if lamp is LampState.UNKNOWN:  # no device state yet: registered or not
                address = str(entries[number].get("IPaddress", "(null)"))
                registered = address not in ("(null)", "", "0.0.0.0", "-none-")
                lamp = LampState.IDLE if registered else LampState.UNAVAILABLE
            state.extensions[number] = Extension(number, "", f"IAX2/{number}", lamp)
            self._peer_devices.add(f"IAX2/{number}")

    async def _astdb_get(self, family: str, key: str) -> str | None:
        """An astdb value: DBGet (class system or reporting), else Getvar DB(...)
        (which live_dangerously = no refuses); None when absent or unreadable."""
        if self.capabilities.may("DBGet"):
            try:
                messages = await self.action(Action="DBGet", Family=family, Key=key)
            except AmiError:
                return None  # "Database entry not found"
            for m in messages:
                if m.get("Event") == "DBGetResponse":
                    return str(m.get("Val", ""))
            return None
        return await self._getvar(f"DB({family}/{key})")

    async def _find_context(self, state: PbxState) -> str:
        """The context the phones dial from: an IAX2 phone's own (IAXPEER), else the
        context most phone hints live in, else "default"."""
        phones = [n for n, e in state.extensions.items() if n.isdigit() and f"IAX2/{n}" in e.hint]
        if not phones and self.capabilities.may("IAXpeerlist"):
            for peer in await self._listing("IAXpeerlist"):
                name = str(peer.get("ObjectName", ""))
                if peer.get("Event") == "PeerEntry" and name.isdigit():
                    phones.append(name)
        for number in phones[:3]:
            context = await self._getvar(f"IAXPEER({number},context)")
            if context:
                return context
        contexts = [e.context for e in state.extensions.values() if e.context]
        return max(set(contexts), key=contexts.count) if contexts else "default"

    async def _read_dnd(self, state: PbxState, mechanism: DndMechanism) -> None:
        """DND of every phone from the PBX's own mechanism, shown as presence 'dnd'."""
        phones = [n for n in state.extensions if n.isdigit()]
        if mechanism is DndMechanism.DEVSTATE and self.capabilities.has(Facility.DEVICE_STATE):
            on = {
                number: devstate_means_dnd(str(m.get("State", "")))
                for m in await self._listing("DeviceStateList")
                if m.get("Event") == "DeviceStateChange"
                and (number := dnd_device_number(str(m.get("Device", "")))) is not None
            }
        elif mechanism in (DndMechanism.DEVSTATE, DndMechanism.ASTDB):
            on = {n: astdb_means_dnd(await self._astdb_get("DND", n) or "") for n in phones}
        else:
            return
        for number, dnd in on.items():
            extension = state.extensions.get(number)
            if extension is not None:
                extension.presence = _with_dnd(extension.presence, dnd)

    async def set_presence(self, number: str, presence: Presence, message: str = "") -> None:
        """Publish a phone's presence (the bundled dialplan sends callers of 'dnd' to busy)."""
        why = self.capabilities.why_not(Facility.PRESENCE)
        if why is not None:
            raise AmiUnsupportedError(why)
        await self.action(
            Action="Setvar",
            Variable=f"PRESENCE_STATE(CustomPresence:{number})",
            Value=f"{presence.value},,{message}",
        )

    async def set_dnd(self, number: str, on: bool) -> None:
        """Switch DND the way this PBX does it (see :mod:`iaxphone.pbx.dnd`)."""
        mechanism = self.capabilities.dnd
        if mechanism is DndMechanism.NONE:
            raise AmiUnsupportedError(
                f"this PBX has no do-not-disturb iaxphone can set ({self.capabilities.dnd_reason})"
            )
        for fields in set_actions(mechanism, number, on):
            try:
                await self.action(**fields)
            except AmiError as exc:
                if fields["Action"] == "DBDel" and "not found" in str(exc).lower():
                    continue  # DND was already off
                raise
        if mechanism is DndMechanism.ASTDB:  # nothing tells AMI: show it ourselves
            extension = self.state.extensions.get(number)
            if extension is not None:
                extension.presence = _with_dnd(extension.presence, on)
                self._emit(PresenceChanged(number, extension.presence))

    async def originate(
        self, from_channel: str, number: str, caller_id: str = "", ring_s: int = 30
    ) -> None:
        """Click-to-call: ring ``from_channel`` (e.g. IAX2/6001), then dial ``number``.

        Returns once that phone answered (the PBX is then dialling ``number``);
        raises :class:`OriginateError` when it did not within ``ring_s``.
        """
        fields = {
            "Action": "Originate",
            "Channel": from_channel,
            "Context": self.context,
            "Exten": number,
            "Priority": "1",
            "Async": "true",
            "Timeout": str(ring_s * 1000),
        }
        if caller_id:
            fields["CallerID"] = caller_id
        messages = await self.action(**fields)
        result = next((m for m in messages if m.get("Event") == "OriginateResponse"), None)
        if result is not None and result.get("Response") != "Success":
            reason = int(result.get("Reason", 0) or 0)
            raise OriginateError(
                f"{from_channel} did not take the call: {ORIGINATE_REASONS.get(reason, 'failed')}",
                reason,
            )

    async def retrieve_parked(self, to_channel: str, slot: str, ring_s: int = 30) -> None:
        """Ring ``to_channel``, then hand it the call parked on ``slot`` (the ParkedCall
        application: no dialplan needed, whichever context the lot lives in)."""
        why = self.capabilities.why_not(Facility.PARKING)
        if why is not None:
            raise AmiUnsupportedError(why)
        parked = self.state.parked.get(slot)
        lot = parked.lot if parked is not None and parked.lot else "default"
        messages = await self.action(
            Action="Originate",
            Channel=to_channel,
            Application="ParkedCall",
            Data=f"{lot},{slot}",
            Async="true",
            Timeout=str(ring_s * 1000),
        )
        result = next((m for m in messages if m.get("Event") == "OriginateResponse"), None)
        if result is not None and result.get("Response") != "Success":
            reason = int(result.get("Reason", 0) or 0)
            raise OriginateError(
                f"{to_channel} did not take the call: {ORIGINATE_REASONS.get(reason, 'failed')}",
                reason,
            )

    async def pickup(self, my_channel: str, ringing_number: str) -> None:
        """Directed pickup: ring my phone, then take the call ringing ``ringing_number``."""
        await self.originate(my_channel, f"*8{ringing_number}")

    async def park(self, channel: str, announce_to: str | None = None) -> None:
        """Park a channel (the other party of one of our calls); ParkingChanged tells the slot."""
        why = self.capabilities.why_not(Facility.PARKING)
        if why is not None:
            raise AmiUnsupportedError(why)
        fields = {"Action": "Park", "Channel": channel}
        if announce_to:
            fields["AnnounceChannel"] = announce_to
        await self.action(**fields)

    async def blind_transfer(self, channel: str, number: str) -> None:
        await self.action(
            Action="BlindTransfer", Channel=channel, Exten=number, Context=self.context
        )

    async def redirect(self, channel: str, number: str, context: str | None = None) -> None:
        """Send a channel elsewhere in the dialplan (operator transfer, voicemail, a room)."""
        await self.action(
            Action="Redirect",
            Channel=channel,
            Exten=number,
            Context=context or self.context,
            Priority="1",
        )

    async def send_text(self, channel: str, message: str) -> None:
        """Send a text message to a live channel (SendText); an IAX2 phone gets a TEXT frame.

        AMI headers are single lines, so line breaks become spaces; the
        channel driver takes the text up to its first NUL, so NULs go too.
        """
        text = " ".join(message.replace("\0", "").splitlines()).strip()
        if not text:
            raise ValueError("empty text message")
        await self.action(Action="SendText", Channel=channel, Message=text)

    async def attended_transfer(self, channel: str, number: str) -> None:
        """Atxfer: the channel's bridge peer waits while ``channel`` consults ``number``."""
        await self.action(Action="Atxfer", Channel=channel, Exten=number, Context=self.context)

    async def cancel_attended_transfer(self, channel: str) -> None:
        """Abandon the consultation ``channel`` started; it returns to its first call."""
        await self.action(Action="CancelAtxfer", Channel=channel)

    async def mailbox_count(self, mailbox: str) -> tuple[int, int]:
        """(new, old) messages in ``mailbox`` ("6001@office"); also kept in state.mailboxes."""
        (reply,) = (await self.action(Action="MailboxCount", Mailbox=mailbox))[:1]
        counts = int(reply.get("NewMessages", 0)), int(reply.get("OldMessages", 0))
        self.state.mailboxes[mailbox] = counts
        return counts

    async def channels(self) -> list[ChannelInfo]:
        out = []
        for message in await self.action(Action="CoreShowChannels"):
            if message.get("Event") != "CoreShowChannel":
                continue
            out.append(
                ChannelInfo(
                    name=str(message.get("Channel", "")),
                    caller_number=str(message.get("CallerIDNum", "")),
                    caller_name=str(message.get("CallerIDName", "")),
                    connected_number=str(message.get("ConnectedLineNum", "")),
                    state=str(message.get("ChannelStateDesc", "")),
                    application=str(message.get("Application", "")),
                    duration_s=_seconds(str(message.get("Duration", "0"))),
                    bridge=str(message.get("BridgeId", "")),
                )
            )
        return out

    # ------------------------------------------------------------------ events

    def _on_extension_status(self, message: Any) -> None:
        if _slot_hint(message):
            return
        number, context = str(message["Exten"]), str(message.get("Context", ""))
        known = self.state.extensions.get(number)
        if known is not None and known.context and context and known.context != context:
            return  # the same number's hint in another context
        extension = self.state.extensions.setdefault(number, Extension(number, context))
        extension.hint = str(message.get("Hint", extension.hint))
        with self._lamp_watch(extension):
            extension.device_lamp = lamp_from_status(int(message.get("Status", -1)))

    def _on_hold(self, message: Any) -> None:
        channel = str(message.get("Channel", ""))
        extension = self._extension_of(channel)
        if extension is not None:
            with self._lamp_watch(extension):
                extension.held_channels.add(channel)
        self._emit(ChannelHoldChanged(channel, held=True))

    def _on_unhold(self, message: Any) -> None:
        channel = str(message.get("Channel", ""))
        self._release_hold(channel)
        self._emit(ChannelHoldChanged(channel, held=False))

    def _on_hangup(self, message: Any) -> None:
        channel = str(message.get("Channel", ""))
        self._release_hold(channel)
        self._emit(ChannelHungUp(channel))

    def _release_hold(self, channel: str) -> None:
        extension = self._extension_of(channel)
        if extension is not None and channel in extension.held_channels:
            with self._lamp_watch(extension):
                extension.held_channels.discard(channel)

    def _extension_of(self, channel: str) -> Extension | None:
        """The extension whose device owns ``channel`` ("IAX2/6001-1234" -> 6001)."""
        device = channel.rsplit("-", 1)[0]
        for extension in self.state.extensions.values():
            if device and device in re.split(r"[&,]", extension.hint):
                return extension
        return None

    @contextlib.contextmanager
    def _lamp_watch(self, extension: Extension) -> Iterator[None]:
        """Emit LampChanged if what the body does changes the extension's lamp."""
        before = extension.lamp
        yield
        if extension.lamp is not before:
            self._emit(LampChanged(extension.number, extension.lamp))

    def _on_presence(self, message: Any) -> None:
        entity = str(message.get("Presentity", ""))
        presence = Presence.parse(str(message.get("Status", "")))
        self.state.presence_by_entity[entity] = presence
        if entity.startswith("CustomPresence:"):
            number = entity.split(":", 1)[1]
            extension = self.state.extensions.setdefault(number, Extension(number, self.context))
            extension.presence = presence
            self._emit(PresenceChanged(number, presence))

    def _on_device_state(self, message: Any) -> None:
        """Custom:DNDNNNN changes (FreePBX's DND) while the devstate mechanism is in use;
        the lamps of phones that have no hint."""
        device = str(message.get("Device", ""))
        if device in self._peer_devices:
            peer = self.state.extensions.get(device.split("/", 1)[1])
            if peer is not None:
                with self._lamp_watch(peer):
                    peer.device_lamp = _device_lamp(str(message.get("State", "")))
            return
        number = dnd_device_number(device)
        if number is None or self.capabilities.dnd is not DndMechanism.DEVSTATE:
            return
        extension = self.state.extensions.get(number)
        if extension is None:
            return
        presence = _with_dnd(extension.presence, devstate_means_dnd(str(message.get("State", ""))))
        if presence is not extension.presence:
            extension.presence = presence
            self._emit(PresenceChanged(number, presence))

    def _on_message_waiting(self, message: Any) -> None:
        mailbox = str(message.get("Mailbox", ""))
        counts = int(message.get("New", 0) or 0), int(message.get("Old", 0) or 0)
        self.state.mailboxes[mailbox] = counts
        self._emit(MailboxChanged(mailbox, *counts))

    def _on_parked(self, message: Any) -> None:
        parked = _parked(message, self.clock())
        self.state.parked[parked.slot] = parked
        self._emit(ParkingChanged(parked.slot, parked))

    def _on_unparked(self, message: Any) -> None:
        slot = str(message.get("ParkingSpace", ""))
        if self.state.parked.pop(slot, None) is not None:
            self._emit(ParkingChanged(slot, None))


def _parked(message: Any, now: float = 0.0) -> ParkedCall:
    """A ParkedCall event: ParkingTimeout is the seconds left until it rings back,
    ParkingDuration the seconds it has been parked (both at ``now``)."""
    timeout = message.get("ParkingTimeout")
    duration = str(message.get("ParkingDuration", "0"))
    parked_s = int(duration) if duration.isdigit() else 0
    timeout_s = int(timeout) if timeout and str(timeout).isdigit() else None
    return ParkedCall(
        slot=str(message.get("ParkingSpace", "")),
        lot=str(message.get("Parkinglot", "")),
        channel=str(message.get("ParkeeChannel", "")),
        caller_number=str(message.get("ParkeeCallerIDNum", "")),
        caller_name=str(message.get("ParkeeCallerIDName", "")),
        parked_by=str(message.get("ParkerDialString", "")),
        timeout_s=timeout_s,
        parked_at=now - parked_s,
        rings_back_at=None if timeout_s is None else now + timeout_s,
        uniqueid=str(message.get("ParkeeUniqueid", "")),
    )


# DeviceStateChange "State" -> lamp (for phones without a hint).
_DEVICE_LAMPS = {
    "NOT_INUSE": LampState.IDLE,
    "INUSE": LampState.IN_USE,
    "BUSY": LampState.BUSY,
    "RINGING": LampState.RINGING,
    "RINGINUSE": LampState.RINGING,
    "ONHOLD": LampState.ON_HOLD,
    "UNAVAILABLE": LampState.UNAVAILABLE,
    "INVALID": LampState.UNAVAILABLE,
}


def _device_lamp(state: str) -> LampState:
    return _DEVICE_LAMPS.get(state.strip().upper(), LampState.UNKNOWN)


def _slot_hint(message: Any) -> bool:
    """A parking slot's own hint (park:701@parkedcalls): a lamp, not an extension."""
    hint = str(message.get("Hint", ""))
    return bool(hint) and all(p.startswith("park:") for p in re.split(r"[&,]", hint))


def _with_dnd(presence: Presence, dnd: bool) -> Presence:
    """The presence a lamp shows once DND (from a device state or the astdb) is known."""
    if dnd:
        return Presence.DND
    return Presence.NOT_SET if presence is Presence.DND else presence


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or exc})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return "timed out" if isinstance(exc, TimeoutError) else str(exc)


def _seconds(hms: str) -> int:
    total = 0
    with contextlib.suppress(ValueError):
        for part in hms.split(":"):
            total = total * 60 + int(part)
    return total
