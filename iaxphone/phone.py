"""The phone: accounts, lines and desk-phone features, for every front end.

Theory of operation
-------------------
A :class:`Phone` owns one :class:`~iaxphone.aio.client.IaxClient` (one UDP
socket for every account and call), registers its accounts, and keeps a
list of :class:`Line` objects, one per call.  Front ends (the CLI, the
handset window, the operator console) call its methods and subscribe to
its typed events; they never touch protocol objects.

Lines and the audio device: at most one line is *active*: it has the
microphone and the speaker.  Answering or dialling while a call is active
puts that call on hold first (call waiting); :meth:`Phone.resume` makes a
held line active again and holds the one that was (swap).  A line's media
session reads the device only while its line is active; a held line sends
nothing (the PBX plays music) and hears nothing.

Line states: :mod:`iaxphone.linestate` holds the table of (state, trigger)
-> (next state, action); every state change goes through it, and a command
the table does not allow raises :class:`~iaxphone.linestate.LocalProtocolError`::

    dialing -> ringing -> talking <-> held -> ended
    incoming (ringing here) -> talking ...      incoming -> ended (rejected, missed)

Events (:mod:`iaxphone.subscriptions`): the phone keeps no event log.  Each
subscriber has its own delivery - a callback (:meth:`Phone.subscribe`) or a
bounded queue it drains (:meth:`Phone.event_queue`; a slow reader loses the
oldest statistics, never a line's or a registration's change) - and
:meth:`Phone.wait_line` has a one-shot waiter of its own, so waiters never
take each other's events.

Who may call: each account takes calls only from the sources its
``accept_calls_from`` names - by default its own PBX (every address the
server's name resolves to).  The endpoint refuses anyone else's call before
it rings (:mod:`iaxphone.proto.trust`), so a stranger on the LAN can neither
ring the phone nor make it answer.  An incoming call is filed under the
account whose policy names its source.

Do-not-disturb rejects new calls with "busy" (cause 17).  Auto-answer (per
account) answers every call at once.  A caller's own request to be
auto-answered (the AUTOANSWER IE: paging and intercom from the PBX) is
honoured only from a source the account names (never through "any") and
only when the account allows intercom; such a line is marked ``intercom``
and its microphone starts muted unless the account says otherwise.

Every call goes through the phone's one :class:`~iaxphone.callrecord.CallLog`:
its history row (start, answer, end), its final statistics (``--stats``)
and the cause it ended with, each written once.

Audio: by default every line shares the one device (the gate below).  A
front end that gives each call its own audio (``iaxphone listen`` records
each call to its own file) passes ``line_audio``: each answered line then
gets its own source and sink at its codec's rate, and lines do not hold
each other.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import soxr

from iaxphone.aio.audio import CallAudio
from iaxphone.aio.callers import caller_policy
from iaxphone.aio.client import (
    CallFailedError,
    CallHandle,
    DatagramOpener,
    IaxClient,
    RegistrationError,
    UnreachableError,
)
from iaxphone.callrecord import ALIVE_INTERVAL_S, CallLog, encryption_status
from iaxphone.history import History
from iaxphone.linestate import LineAction, LineState, LineTrigger, LocalProtocolError, Step, step
from iaxphone.media.codecs import codec_info
from iaxphone.media.recorder import CallRecorder
from iaxphone.media.session import MuteMode
from iaxphone.media.stats import MediaStats
from iaxphone.media.virtual import NullSink, Samples, SilenceSource, Sink, Source
from iaxphone.media.voice import LAPTOP, OFF, VoiceSettings, hears_room
from iaxphone.proto.call import CallOptions
from iaxphone.proto.endpoint import EndpointConfig
from iaxphone.proto.events import (
    CallAnswered,
    CallEnded,
    CallRinging,
    HoldChanged,
    MessageWaiting,
    Registered,
    RegistrationFailed,
)
from iaxphone.proto.registration import Account
from iaxphone.proto.trust import NOBODY, CallerPolicy
from iaxphone.subscriptions import DEFAULT_MAX_DROPPABLE, EventHub, EventQueue, Subscription
from iaxphone.target import Target, check_number, parse_target
from iaxphone.wire.constants import Cause

log = logging.getLogger("iaxphone.phone")

ENDED_LINES_KEPT = 64  # the last snapshots of ended lines, for wait_line after the fact


@dataclass(frozen=True)
class PhoneAccount:
    name: str
    server: tuple[str, int]
    user: str
    secret: str | None  # None: no shared secret (an RSA key, or a guest)
    caller_name: str | None = None
    auto_answer: bool = False
    accept_calls_from: tuple[str, ...] = ("server",)  # config.parse_accept_from's entries
    intercom: bool = True  # honour the PBX's auto-answer request (paging, intercom)
    intercom_muted: bool = True  # and start such a call with the microphone muted
    encryption: str = "allowed"  # or "required" (the call fails if refused), or "off"
    trunk: bool = False  # send voice in meta trunk frames
    rsa_private_key: bytes | None = None  # answer auth=rsa peers with a signature
    voice: VoiceSettings = LAPTOP  # AEC, NS, AGC on a sound card's microphone


# ------------------------------------------------------------------------------- events


@dataclass(frozen=True)
class PhoneEvent:
    """Base of everything a front end hears from the phone."""


@dataclass(frozen=True)
class RegistrationChanged(PhoneEvent):
    """An account's registration: first result, refresh, loss, recovery.

    ``change`` is one of :data:`REGISTRATION_CHANGES`: "registered" (the first
    answer), "renewed" (a refresh granted), "lost" (a registered account's
    server stopped answering, or refused a refresh), "failed" (never
    registered, or a retry failed after a loss) and "recovered" (registered
    again after a loss, ``offline_s`` seconds after it was lost).
    """

    account: str
    registered: bool
    reason: str = ""
    change: str = ""
    offline_s: float | None = None


REGISTRATION_CHANGES = ("registered", "renewed", "lost", "failed", "recovered")


@dataclass(frozen=True)
class VoicemailChanged(PhoneEvent):
    account: str
    new_messages: int
    old_messages: int


@dataclass(frozen=True)
class LineChanged(PhoneEvent):
    """A line's state or details changed (``line`` is a snapshot)."""

    line: LineInfo


@dataclass(frozen=True)
class RecordingStopped(PhoneEvent):
    """A line's recording stopped on its own (the disk is full); the call goes on."""

    line_id: int
    message: str  # one line: "recording stopped: PATH: No space left on device ..."


@dataclass(frozen=True)
class LineStats(PhoneEvent):
    """Media statistics of a line, about ten times a second while it talks."""

    line_id: int
    stats: MediaStats


@dataclass(frozen=True)
class LineInfo:
    id: int
    account: str
    direction: str
    number: str
    name: str | None
    state: LineState
    codec: str | None = None
    encrypted: bool = False  # AES-128 (IAX2 encryption) on this call
    encryption: str = "off"  # callrecord.encryption_status(): "allowed-unused" = open padlock
    muted: bool = False
    recording: bool = False
    cause: str | None = None
    cause_code: int | None = None
    started: float = 0.0
    answered: float | None = None
    intercom: bool = False  # answered at once because the PBX asked (paging, intercom)
    called_number: str | None = None  # the number an incoming call asked for


# ------------------------------------------------------------------------------- lines


class DeviceGate:
    """The shared microphone and speaker, passed through only to active lines.

    Normally one line is active.  In a local conference every member is:
    the microphone is read once per frame (by the first member) and each
    member sends it mixed with what the other members hear; the speaker gets
    the sum of what all members hear, written once per frame.  Lines whose
    codec runs at another rate than the device are resampled (soxr streams).
    """

    def __init__(self, source: Source, sink: Sink) -> None:
        self.source = source
        self.sink = sink
        self.conference: list[Line] = []
        self.mic_frame: Samples = np.zeros(0, dtype=np.int16)
        self.heard: dict[int, Samples] = {}

    def source_for(self, line: Line, rate: int) -> Source:
        return _GatedSource(self, line, rate)

    def sink_for(self, line: Line, rate: int) -> Sink:
        return _GatedSink(self, line, rate)

    def in_conference(self, line: Line) -> bool:
        return any(member is line for member in self.conference)


class _GatedSource:
    def __init__(self, gate: DeviceGate, line: Line, rate: int) -> None:
        self.gate, self.line, self.rate = gate, line, rate
        self.to_line = (
            None
            if rate == gate.source.rate
            else soxr.ResampleStream(gate.source.rate, rate, 1, dtype="int16", vr=True)
        )

    def read(self, count: int) -> Samples:
        if not self.line.active:
            return np.zeros(count, dtype=np.int16)
        gate = self.gate
        if not gate.in_conference(self.line):
            return self._mic(count)
        if gate.conference[0] is self.line or len(gate.mic_frame) != count:
            gate.mic_frame = self._mic(count)
        mixed = gate.mic_frame.astype(np.int32)
        for member in gate.conference:
            if member is not self.line and member.audio is not None:
                other = _fit(
                    member.audio.session.last_heard, member.audio.session.rate, self.rate, count
                )
                mixed = mixed + other
        return np.clip(mixed, -32768, 32767).astype(np.int16)

    def _mic(self, count: int) -> Samples:
        if self.to_line is None:
            return self.gate.source.read(count)
        wanted = count * self.gate.source.rate // self.rate
        out = np.asarray(self.to_line.resample_chunk(self.gate.source.read(wanted)), dtype=np.int16)
        return _fit(out, self.rate, self.rate, count)


class _GatedSink:
    def __init__(self, gate: DeviceGate, line: Line, rate: int) -> None:
        self.gate, self.line, self.rate = gate, line, rate

    def write(self, samples: Samples) -> None:
        if not self.line.active:
            return
        gate = self.gate
        device = _fit(
            samples, self.rate, gate.sink.rate, len(samples) * gate.sink.rate // self.rate
        )
        if not gate.in_conference(self.line):
            gate.sink.write(device)
            return
        gate.heard[self.line.id] = device
        if all(member.id in gate.heard for member in gate.conference):
            total = sum(
                (gate.heard.pop(m.id).astype(np.int32) for m in gate.conference),
                np.zeros(len(device), np.int32),
            )
            gate.sink.write(np.clip(total, -32768, 32767).astype(np.int16))

    def close(self) -> None:
        pass


def _fit(samples: Samples, from_rate: int, to_rate: int, count: int) -> Samples:
    """Samples at another rate, exactly ``count`` long (padded or cut)."""
    if from_rate != to_rate and len(samples):
        samples = np.asarray(soxr.resample(samples, from_rate, to_rate), dtype=np.int16)
    if len(samples) >= count:
        return samples[:count]
    return np.concatenate((samples, np.zeros(count - len(samples), dtype=np.int16)))


@dataclass
class Line:
    id: int
    account: PhoneAccount
    call: CallHandle
    info: LineInfo
    audio: CallAudio | None = None
    active: bool = False
    watcher: asyncio.Task[None] | None = field(default=None, repr=False)


# ------------------------------------------------------------------------------- the phone


LineAudio = Callable[[LineInfo, int], tuple[Source, Sink]]
"""A line's own source and sink, at the given sample rate (the line's codec's)."""


class Phone:
    def __init__(
        self,
        accounts: list[PhoneAccount],
        *,
        source: Source | None = None,
        sink: Sink | None = None,
        formats: list[int],
        history: History | None = None,
        local: tuple[str, int] = ("0.0.0.0", 0),
        frame_ms: int = 20,
        mute_mode: MuteMode = MuteMode.SILENCE,
        call_log: CallLog | None = None,
        endpoint_config: EndpointConfig | None = None,
        register: bool = True,
        line_audio: LineAudio | None = None,
        network: DatagramOpener | None = None,
        wall_clock: Callable[[], float] = time.time,
        line_stats: bool = True,
    ) -> None:
        """``call_log`` (else one over ``history``) records every call;
        ``endpoint_config`` gives trunk and key settings (``formats`` wins, and
        callers are admitted per account); ``register=False`` leaves
        registering to :meth:`register`; ``line_audio`` gives each line its own
        devices in place of the shared ``source`` and ``sink``; ``network``
        opens the phone's socket (default: a real UDP one; tests give an
        in-memory network's); ``wall_clock`` stamps when calls start and are
        answered; ``line_stats=False`` sends no :class:`LineStats` events (a
        front end that draws no graphs asks :meth:`line_stats` when it wants
        them).
        """
        if not accounts:
            raise ValueError("a phone needs at least one account")
        self.accounts = {a.name: a for a in accounts}
        self.default_account = accounts[0].name
        self.wall_clock = wall_clock
        # Nobody may call until start() has looked up whom each account takes calls from.
        config = replace(
            endpoint_config or EndpointConfig(), formats=list(formats), accept_calls_from=NOBODY
        )
        self.client = IaxClient(local, config, opener=network)
        self.policies: dict[str, CallerPolicy] = {}
        self.gate = DeviceGate(source or SilenceSource(8000), sink or NullSink(8000))
        self.line_audio = line_audio
        self.stats_events = line_stats
        self._alive_timer: asyncio.TimerHandle | None = None  # history's "still talking" mark
        self.history = history
        self.call_log = call_log or CallLog(history)
        self.register_on_start = register
        self.frame_ms = frame_ms
        self.held_conference: list[Line] = []  # a local conference on hold as a whole
        self.mute_mode = mute_mode  # muted lines send silence, or nothing at all
        self.lines: dict[int, Line] = {}
        self.dnd = False
        self.voicemail: dict[str, tuple[int, int]] = {}
        self.registered: dict[str, bool] = {}
        self._registration_seen: dict[str, bool] = {}  # what RegistrationChanged last told
        self._registration_lost_at: dict[str, float] = {}  # monotonic time of each loss
        self._ids = itertools.count(1)
        self.hub: EventHub[PhoneEvent] = EventHub(droppable=_is_statistics)
        self.ended_lines: collections.OrderedDict[int, LineInfo] = collections.OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ life cycle

    async def __aenter__(self) -> Phone:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        await self.client.start()
        for account in self.accounts.values():
            await self._admit(account)
        self._spawn(self._take_incoming())
        self._spawn(self._watch_client_events())
        if self.register_on_start:
            await asyncio.gather(*(self._register(a) for a in self.accounts.values()))

    async def stop(self) -> None:
        if self._alive_timer is not None:
            self._alive_timer.cancel()
            self._alive_timer = None
        watchers = [line.watcher for line in self.lines.values() if line.watcher is not None]
        for line in list(self.lines.values()):
            if line.info.state is not LineState.ENDED:
                await self.hangup(line.id)
        if watchers:  # let each line finish its record (history, statistics)
            await asyncio.wait(watchers, timeout=2.0)
        for task in list(self._tasks):
            task.cancel()
        await self.client.close()

    def subscribe(self, listener: Callable[[PhoneEvent], None]) -> Subscription:
        """Call ``listener`` with every event from now on (``close()`` the result to stop)."""
        return self.hub.subscribe(listener)

    def event_queue(
        self, *kinds: type[PhoneEvent], max_stats: int = DEFAULT_MAX_DROPPABLE
    ) -> EventQueue[PhoneEvent]:
        """A queue of the events of ``kinds`` (all if none) from now on, for its owner to
        drain; it keeps at most ``max_stats`` LineStats (the oldest go first) and every
        other event.  ``close()`` it when done."""
        return self.hub.queue(*kinds, max_droppable=max_stats)

    def _emit(self, event: PhoneEvent) -> None:
        if isinstance(event, LineChanged) and event.line.state is LineState.ENDED:
            self.ended_lines[event.line.id] = event.line
            while len(self.ended_lines) > ENDED_LINES_KEPT:
                self.ended_lines.popitem(last=False)
        self.hub.emit(event)

    def _spawn(self, coro: object) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[call-overload]
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        """A background task ended: a failure is logged at once, not lost until GC."""
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("phone task failed: %s", exc, exc_info=exc)

    async def _admit(self, account: PhoneAccount) -> None:
        """Look up whom ``account`` takes calls from; the endpoint admits their union."""
        policy = await caller_policy(account.accept_calls_from, account.server[0])
        self.policies[account.name] = policy
        union = NOBODY
        for name in self.accounts:
            union = union.union(self.policies.get(name, NOBODY))
        self.client.endpoint.set_caller_policy(union)
        log.info("%s takes calls from %s", account.name, policy.describe())

    async def _register(self, account: PhoneAccount) -> None:
        with contextlib.suppress(RegistrationError):
            await self.register(account.name)

    async def register(self, name: str | None = None) -> Registered:
        """Register an account (the default one) and wait for the answer.

        Raises :class:`~iaxphone.aio.client.RegistrationError` with the reason
        (and :class:`~iaxphone.aio.client.UnreachableError` for a name that
        does not resolve); a refusal is also told as :class:`RegistrationChanged`.
        """
        account = self.accounts[name or self.default_account]
        login = Account(
            account.user,
            account.secret or "",
            account.server,
            rsa_private_key=account.rsa_private_key,
        )
        self._registration_seen.pop(account.name, None)  # a new login: "registered" again
        # The answer is told as RegistrationChanged by _watch_client_events,
        # which hears it before this coroutine resumes.
        return await self.client.register(login, timeout=None)

    def _account_of(self, login: str) -> PhoneAccount | None:
        """The account whose login (user@host:port, the host resolved) this is."""
        for account in self.accounts.values():
            if login.startswith(f"{account.user}@") and login.endswith(f":{account.server[1]}"):
                return account
        return None

    def _registration_event(self, event: Registered | RegistrationFailed) -> None:
        """Tell a registration's answer, refresh, loss or recovery once each."""
        account = self._account_of(event.account)
        if account is None:
            return
        name = account.name
        was = self._registration_seen.get(name)
        now = asyncio.get_running_loop().time()
        if isinstance(event, Registered):
            offline = None
            if was is None:
                change = "registered"
            elif was:
                change = "renewed"
            else:
                change = "recovered"
                lost_at = self._registration_lost_at.pop(name, None)
                offline = now - lost_at if lost_at is not None else None
            self._registration_seen[name] = self.registered[name] = True
            self._emit(RegistrationChanged(name, True, change=change, offline_s=offline))
            return
        if was is False:
            return  # still retrying: told once, when it failed or was lost
        change = "lost" if was else "failed"
        if was:
            self._registration_lost_at[name] = now
        self._registration_seen[name] = self.registered[name] = False
        self._emit(RegistrationChanged(name, False, event.reason, change=change))

    async def reconfigure(
        self,
        account: PhoneAccount,
        *,
        replaces: str | None = None,
        formats: list[int] | None = None,
        frame_ms: int | None = None,
    ) -> None:
        """Apply changed settings without a restart.

        The codec order and frame size apply from the next call (calls up
        now keep theirs); caller name and auto-answer at once.  A changed
        server, user or secret unregisters the old login and registers the
        new one.  ``replaces`` names the account this one was (renamed).
        """
        if formats:
            self.client.endpoint.set_formats(formats)
        if frame_ms:
            self.frame_ms = frame_ms
        old = self.accounts.pop(replaces or account.name, None)
        self.accounts[account.name] = account
        if old is not None:
            self.policies.pop(old.name, None)
        await self._admit(account)
        if old is None:
            await self._register(account)
            return
        if self.default_account == old.name:
            self.default_account = account.name
        was_registered = self.registered.pop(old.name, False)
        seen = self._registration_seen.pop(old.name, None)
        lost_at = self._registration_lost_at.pop(old.name, None)
        if (old.server, old.user, old.secret) == (account.server, account.user, account.secret):
            self.registered[account.name] = was_registered
            if seen is not None:
                self._registration_seen[account.name] = seen
            if lost_at is not None:
                self._registration_lost_at[account.name] = lost_at
            return
        if was_registered:
            with contextlib.suppress(Exception):  # the old server may be gone: register anyway
                await self.client.unregister(Account(old.user, old.secret or "", old.server).name)
        await self._register(account)

    async def _watch_client_events(self) -> None:
        while True:
            event = await self.client.events.get()
            if isinstance(event, Registered | RegistrationFailed):
                self._registration_event(event)
            elif isinstance(event, MessageWaiting):
                for account in self.accounts.values():
                    if event.account.startswith(f"{account.user}@"):
                        counts = (event.new_messages, event.old_messages)
                        self.voicemail[account.name] = counts
                        self._emit(VoicemailChanged(account.name, *counts))

    # ------------------------------------------------------------------ lines

    @property
    def active_line(self) -> Line | None:
        return next((line for line in self.lines.values() if line.active), None)

    def line(self, line_id: int) -> Line:
        try:
            return self.lines[line_id]
        except KeyError:
            raise KeyError(f"no line {line_id}") from None

    def _update(self, line: Line, **changes: object) -> None:
        line.info = replace(line.info, **changes)  # type: ignore[arg-type]
        self._emit(LineChanged(line.info))

    def _fire(self, line: Line, trigger: LineTrigger) -> None:
        """Move a line by the state table and take the action the table names."""
        found = step(line.id, line.info.state, trigger)
        act: dict[LineAction, Callable[[Line, Step], None]] = {
            LineAction.NOTHING: lambda line, found: self._update(line, state=found.next),
            LineAction.START_MEDIA: self._talking,
            LineAction.PAUSE_MEDIA: self._hold_one,
            LineAction.RESUME_MEDIA: self._unhold_one,
        }
        act[found.action](line, found)

    def _far_end(self, line: Line, trigger: LineTrigger) -> None:
        """A far-end trigger: one the table does not allow now is logged, not raised."""
        try:
            self._fire(line, trigger)
        except LocalProtocolError:
            log.info("line %d: ignored '%s' while %s", line.id, trigger.value, line.info.state)

    def _make_line(
        self, account: PhoneAccount, call: CallHandle, direction: str, number: str, name: str | None
    ) -> Line:
        state = LineState.DIALING if direction == "out" else LineState.INCOMING
        offer = call.incoming
        info = LineInfo(
            next(self._ids),
            account.name,
            direction,
            number,
            name,
            state,
            started=self.wall_clock(),
            called_number=offer.called_number if offer is not None else None,
        )
        line = Line(info.id, account, call, info)
        self.call_log.start(line.id, direction, number, name, account.name)
        self.lines[line.id] = line
        line.watcher = asyncio.ensure_future(self._watch_line(line))
        self._emit(LineChanged(info))
        return line

    async def _watch_line(self, line: Line) -> None:
        while True:
            event = await line.call.events.get()
            if isinstance(event, CallRinging):
                self._far_end(line, LineTrigger.FAR_RINGING)
            elif isinstance(event, CallAnswered) and line.info.direction == "out":
                self._far_end(line, LineTrigger.FAR_ANSWERED)
            elif isinstance(event, HoldChanged):
                log.info("line %d: far end %s", line.id, "holds" if event.held else "resumed")
            elif isinstance(event, CallEnded):
                await self._ended(line, event)
                return

    def _talking(self, line: Line, found: Step) -> None:
        codec = codec_info(line.call.format)
        if self.line_audio is not None:  # a line of its own: the others carry on
            source, sink = self.line_audio(line.info, codec.sample_rate)
        else:
            for other in self.lines.values():
                if other is not line and other.active:
                    self._hold(other)
            self.gate.conference.clear()
            source = self.gate.source_for(line, codec.sample_rate)
            sink = self.gate.sink_for(line, codec.sample_rate)
        line.active = True
        microphone = source if self.line_audio is not None else self.gate.source
        line.audio = CallAudio(
            line.call,
            source,
            sink,
            frame_ms=self.frame_ms,
            on_stats=self._stats_listener(line.id) if self.stats_events else None,
            voice=line.account.voice if hears_room(microphone) else OFF,
        ).start()
        line.audio.session.mute_mode = self.mute_mode
        line.audio.session.muted = line.info.muted  # muted before the answer stays muted
        self.call_log.answered(line.id, codec.name)
        if self._alive_timer is None:
            self._alive_timer = asyncio.get_running_loop().call_later(
                ALIVE_INTERVAL_S, self._keep_alive
            )
        self._update(
            line,
            state=found.next,
            codec=codec.name,
            encrypted=line.call.encrypted,
            encryption=self._encryption(line),
            answered=self.wall_clock(),
        )

    def _encryption(self, line: Line) -> str:
        policy = line.account.encryption if line.info.direction == "out" else "off"
        return encryption_status(policy, line.call.encrypted)

    def _keep_alive(self) -> None:
        """Mark talking calls alive in history once a second (a crash keeps their talk time)."""
        self._alive_timer = None
        if any(line.audio is not None for line in self.lines.values()):
            self.call_log.alive()
            loop = asyncio.get_running_loop()
            self._alive_timer = loop.call_later(ALIVE_INTERVAL_S, self._keep_alive)

    def _stats_listener(self, line_id: int) -> Callable[[MediaStats], None]:
        def emit(stats: MediaStats) -> None:
            self._emit(LineStats(line_id, stats))

        return emit

    async def _ended(self, line: Line, ended: CallEnded) -> None:
        step(line.id, line.info.state, LineTrigger.ENDED)  # the table's STOP_MEDIA: below
        line.active = False
        for conference in (self.gate.conference, self.held_conference):
            if line in conference:
                conference.remove(line)
                if len(conference) < 2:
                    conference.clear()
        media = None
        if line.audio is not None:
            await line.audio.stop()
            media = line.audio.session.snapshot()
        self.call_log.ended(
            line.id,
            ended.cause,
            ended.cause_code,
            by_remote=ended.by_remote,
            encrypted=line.call.encrypted,
            media=media,
            lost=ended.lost,
            encryption=self._encryption(line),
            reason=ended.reason,
        )
        self._update(line, state=LineState.ENDED, cause=ended.cause, cause_code=ended.cause_code)
        self.lines.pop(line.id, None)

    # ------------------------------------------------------------------ calls

    def line_stats(self, line_id: int) -> MediaStats | None:
        """The line's media statistics now; None before it talks."""
        audio = self.line(line_id).audio
        return audio.session.snapshot() if audio is not None else None

    async def dial(self, number: str | Target, account: str | None = None) -> int:
        """Call ``number`` or an ``iax:`` URI; an active call is put on hold first.

        A URI naming the account's own server dials its number there as the
        account; any other server is called as a guest (the URI's user, no
        secret), the way a desk phone follows a link.  Raises
        :class:`~iaxphone.target.TargetError` for something that is neither,
        :class:`~iaxphone.aio.client.UnreachableError` for a server name that
        does not resolve (the history keeps the attempt).  A parsed
        :class:`~iaxphone.target.Target` is taken as it is.  Returns the line id.
        """
        acct = self.accounts[account or self.default_account]
        if isinstance(number, Target):
            target = number
        elif number.strip().lower().startswith("iax:"):
            target = parse_target(number.strip(), None)
        else:
            target = Target(acct.server[0], acct.server[1], check_number(number.strip()))
        server = (target.host, target.port)
        own = server == acct.server and target.user in (None, acct.user)
        options = CallOptions(
            target.number,
            username=(acct.user or None) if own else target.user,
            secret=acct.secret if own else None,
            context=target.context,
            caller_number=acct.user or None,
            caller_name=acct.caller_name,
            encryption=acct.encryption,
            trunk=acct.trunk,
            rsa_private_key=acct.rsa_private_key if own else None,
        )
        try:
            call = await self.client.dial(server, options)
        except UnreachableError as exc:
            self.call_log.failed("out", target.number, acct.name, str(exc))
            raise
        return self._make_line(acct, call, "out", target.number, None).id

    async def redial(self) -> int:
        last = self.history.last_dialled() if self.history is not None else None
        if last is None:
            raise LookupError("nothing to redial")
        return await self.dial(last)

    async def _take_incoming(self) -> None:
        while True:
            call = await self.client.incoming.get()
            offer = call.incoming
            assert offer is not None
            account = self._account_for(offer.peer)
            if account is None:  # the policy changed while the NEW was on its way
                call.reject("call rejected", Cause.CALL_REJECTED)
                continue
            number = offer.caller_number or "unknown"
            line = self._make_line(account, call, "in", number, offer.caller_name)
            if self.dnd:
                call.reject("do not disturb", Cause.USER_BUSY)
                continue
            call.accept()  # ACCEPT + RINGING
            intercom = offer.auto_answer and self._intercom_allowed(account, offer.peer)
            if intercom:
                self._update(line, intercom=True, muted=account.intercom_muted)
            if account.auto_answer or intercom:
                self.answer(line.id)

    def _account_for(self, peer: tuple[str, int]) -> PhoneAccount | None:
        """The account whose policy names this source, else one that lets anyone call."""
        accounts = list(self.accounts.values())
        named = [a for a in accounts if self.policies.get(a.name, NOBODY).trusts(peer[0])]
        anyone = [a for a in accounts if self.policies.get(a.name, NOBODY).admits(peer[0])]
        return next(iter(named or anyone), None)

    def _intercom_allowed(self, account: PhoneAccount, peer: tuple[str, int]) -> bool:
        """A caller's auto-answer request: only from a named source, only if allowed."""
        if account.intercom and self.policies.get(account.name, NOBODY).trusts(peer[0]):
            return True
        log.info("%s:%d asked to be answered at once; ringing instead", *peer)
        return False

    def answer(self, line_id: int) -> None:
        """Answer a ringing line; the active call, if any, goes on hold (call waiting)."""
        line = self.line(line_id)
        step(line_id, line.info.state, LineTrigger.ANSWER)  # raises unless it rings here
        line.call.answer()
        self._fire(line, LineTrigger.ANSWER)

    def reject(self, line_id: int) -> None:
        """Decline a call ringing here (it was accepted, so it is hung up, cause 21)."""
        line = self.line(line_id)
        if line.info.state is not LineState.INCOMING:
            raise LocalProtocolError(f"line {line_id} is not ringing here")
        self._spawn(line.call.hangup("rejected", Cause.CALL_REJECTED))

    async def hangup(
        self, line_id: int, cause: str | None = None, cause_code: int | None = None
    ) -> None:
        """End a call; a call ringing here is declined (cause 21, call rejected).

        A ringing call was already accepted (ACCEPT + RINGING), so declining it
        is a HANGUP with that cause: IAX2 allows REJECT only before ACCEPT.
        ``cause`` and ``cause_code`` say why instead (say, no answer, 19).
        """
        line = self.line(line_id)
        if cause is not None and cause_code is not None:
            await line.call.hangup(cause, cause_code)
        elif line.info.state is LineState.INCOMING:
            await line.call.hangup("rejected", Cause.CALL_REJECTED)
        else:
            await line.call.hangup()

    # ------------------------------------------------------------------ in call

    def _hold(self, line: Line) -> None:
        if self.gate.in_conference(line):
            # Hold puts the whole conference on hold; resuming any member rejoins it.
            members = list(self.gate.conference)
            self.gate.conference.clear()
            self.held_conference = members
            for member in members:
                self._fire(member, LineTrigger.HOLD)
            return
        self._fire(line, LineTrigger.HOLD)

    def _hold_one(self, line: Line, found: Step) -> None:
        line.call.hold()
        line.active = False
        if line.audio is not None:
            line.audio.session.on_hold = True
        self._update(line, state=found.next)

    def hold(self, line_id: int) -> None:
        line = self.line(line_id)
        step(line_id, line.info.state, LineTrigger.HOLD)  # raises unless it talks
        self._hold(line)

    def resume(self, line_id: int) -> None:
        """Take a line off hold and make it active; the active one goes on hold (swap).

        A line of a conference that was held as a whole brings the whole
        conference back.
        """
        line = self.line(line_id)
        step(line_id, line.info.state, LineTrigger.RESUME)  # raises unless it is held
        members = self.held_conference if line in self.held_conference else [line]
        for other in self.lines.values():
            if other not in members and other.active:
                self._hold(other)
        if len(members) > 1:
            self.conference(*(member.id for member in members))
            return
        self._fire(line, LineTrigger.RESUME)

    def _unhold_one(self, line: Line, found: Step) -> None:
        line.call.unhold()
        line.active = True
        if line.audio is not None:
            line.audio.session.on_hold = False
        self._update(line, state=found.next)

    def mute(self, line_id: int, on: bool = True) -> None:
        line = self.line(line_id)
        if line.audio is not None:
            line.audio.session.muted = on
        self._update(line, muted=on)

    async def dtmf(self, line_id: int, digits: str, feedback: bool = True) -> None:
        """Send digits (100 ms each with 100 ms gaps, as a desk phone does).

        ``,`` pauses 500 ms.  ``feedback`` plays each key's beep locally (not
        for scripts, whose recording would hear it).
        """
        line = self.line(line_id)
        for digit in digits:
            if line.call.ended.done():
                return  # hung up while the digits were playing: the rest is moot
            if digit == ",":
                await asyncio.sleep(0.5)
                continue
            if feedback and line.audio is not None:
                line.audio.session.key_feedback(digit)
            line.call.send_dtmf(digit, begin=True)
            await asyncio.sleep(0.1)
            if line.call.ended.done():
                return
            line.call.send_dtmf(digit)
            await asyncio.sleep(0.1)

    def flash(self, line_id: int) -> None:
        self.line(line_id).call.flash()

    def blind_transfer(self, line_id: int, number: str) -> None:
        """Hand the far end to ``number``; the PBX then ends our leg of the call."""
        self.line(line_id).call.blind_transfer(number)

    def set_dnd(self, on: bool) -> None:
        self.dnd = on

    def start_recording(self, line_id: int, path: Path, stereo: bool = False) -> None:
        """Record both sides of the line to a WAV file: mixed, or stereo (us left, them right)."""
        line = self.line(line_id)
        if line.audio is None:
            raise ValueError(f"line {line_id} is not talking")
        session = line.audio.session
        recorder = CallRecorder(path, session.rate, stereo)

        def stopped(message: str) -> None:
            if session.call_recorder is recorder:
                session.call_recorder = None
                self._update(line, recording=False)
                self._emit(RecordingStopped(line.id, message))

        recorder.on_error = stopped
        session.call_recorder = recorder
        self._update(line, recording=True)

    def stop_recording(self, line_id: int) -> None:
        line = self.line(line_id)
        if line.audio is not None and line.audio.session.call_recorder is not None:
            recorder, line.audio.session.call_recorder = line.audio.session.call_recorder, None
            recorder.close()
        self._update(line, recording=False)

    # ------------------------------------------------------------------ conference, transfer

    def conference(self, *line_ids: int) -> None:
        """Join talking and held lines in a local three-way (or more) conference."""
        lines = [self.line(i) for i in line_ids]
        if len(lines) < 2:
            raise LocalProtocolError("a conference needs at least two lines")
        for line in lines:
            if line.info.state not in (LineState.TALKING, LineState.HELD):
                raise LocalProtocolError(f"line {line.id} is not in a call")
        for line in lines:
            if line.info.state is LineState.HELD:
                self._fire(line, LineTrigger.RESUME)
            line.active = True
        self.held_conference = []
        self.gate.conference[:] = lines

    async def consult(self, line_id: int, number: str) -> int:
        """Attended transfer, step one: hold the call and dial whom to hand it to."""
        line = self.line(line_id)
        if line.info.state is LineState.TALKING:
            self._hold(line)
        return await self.dial(number, line.account.name)

    async def cancel_transfer(self, line_id: int, consult_id: int) -> None:
        """Give up the transfer: end the consultation and take the call back."""
        await self.hangup(consult_id)
        await self.wait_line(consult_id, LineState.ENDED)
        self.resume(line_id)

    async def complete_transfer(self, line_id: int, consult_id: int) -> None:
        """Hand the held call to the consulted party.

        Without the AMI layer an IAX2 phone cannot join two of its calls at
        the PBX, so this ends the consultation and blind-transfers the held
        call to the same number: the consulted party's phone rings again with
        the caller (semi-attended).  With AMI this becomes a bridge.
        """
        consult = self.line(consult_id)
        number = consult.info.number
        await self.hangup(consult_id)
        await self.wait_line(consult_id, LineState.ENDED)
        self.resume(line_id)
        self.blind_transfer(line_id, number)

    async def wait_line(self, line_id: int, state: LineState, timeout: float = 10.0) -> LineInfo:
        """The line's snapshot once it is in ``state`` (at once if it is now).

        For scripts and tests.  Each call waits on a one-shot waiter of its
        own, so any number of them can wait at once.  A line that already
        ended answers ``ENDED`` with its last snapshot (the last
        ``ENDED_LINES_KEPT`` lines are remembered); it can reach no other state.
        """
        line = self.lines.get(line_id)
        if line is not None and line.info.state is state:
            return line.info
        ended = self.ended_lines.get(line_id)
        if ended is not None:
            if state is LineState.ENDED:
                return ended
            raise LocalProtocolError(f"line {line_id} ended: it will never be {state.value}")
        event = await self.hub.wait_for(
            lambda e: isinstance(e, LineChanged) and e.line.id == line_id and e.line.state is state,
            timeout,
        )
        assert isinstance(event, LineChanged)
        return event.line


def _is_statistics(event: PhoneEvent) -> bool:
    """What a slow subscriber may lose: statistics and registration renewals (the
    next ones say as much; a loss or a recovery is never dropped)."""
    if isinstance(event, RegistrationChanged):
        return event.change == "renewed"
    return isinstance(event, LineStats)


__all__ = [
    "CallFailedError",
    "LineAudio",
    "LineChanged",
    "LineInfo",
    "LineState",
    "LineStats",
    "LocalProtocolError",
    "Phone",
    "PhoneAccount",
    "PhoneEvent",
    "RecordingStopped",
    "RegistrationChanged",
    "VoicemailChanged",
]
