"""The sans-IO IAX2 endpoint: every call, registration and poke on one address.

Theory of operation
-------------------
The endpoint is fed datagrams and time, and produces datagrams, a timer
deadline and events - nothing else (the aioquic ``QuicConnection`` shape)::

    receive_datagram(data, addr, now)   datagrams_to_send(now) -> [(bytes, addr)]
    get_timer() -> float | None         handle_timer(now)
    next_event() -> Event | None

plus commands (:meth:`register`, :meth:`unregister`, :meth:`dial`,
:meth:`accept`, :meth:`answer`, :meth:`reject`, :meth:`hangup`,
:meth:`send_audio`, :meth:`send_dtmf`, :meth:`hold`, :meth:`unhold`,
:meth:`set_formats`, :meth:`set_caller_policy`, ...) and read-only queries
(:meth:`call_info`, :meth:`registration_state`, :attr:`config`, the
counters).  Nothing else is public: the sessions reach the endpoint through
a small private host (:class:`_SessionHost`, the ``session.Host`` protocol).

Demultiplexing: a full frame with a destination call number goes to our
session with that number, and only if it comes from that session's peer
address and (once known) its call number.  A full frame with destination 0
is a NEW (a new incoming call, after the call-token check), a POKE
(answered with PONG at once) or a retransmission of a NEW we already took
(found by peer address and source call number).  Mini and trunk frames are
found by peer address and the peer's call number.  Anything that does not
fit is dropped with a debug line; no datagram, however malformed, raises
out of :meth:`receive_datagram` or disturbs other calls.

Trust: ``accept_calls_from`` (a :class:`~iaxphone.proto.trust.CallerPolicy`)
names the sources whose NEW and POKE are taken; anyone else's NEW gets a
stateless REJECT after the call-token exchange (no session, no ring), a
POKE is dropped unless it comes from a server we register to (which
qualifies us), and each refusal is counted and logged once per source a
minute.  MWI is taken only from a server we register to.  The default
admits anyone (a registrar, two endpoints in a test); the phone and the
command set the account's policy (by default: its PBX only).

Limits: at most ``max_half_open_per_peer`` unanswered incoming calls per
peer address, so an unauthenticated sender cannot exhaust call numbers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import heapq
import logging
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from iaxphone.errors import IaxphoneError, LocalProtocolError
from iaxphone.wire.constants import Cause, FrameType, IaxCommand
from iaxphone.wire.errors import FrameParseError
from iaxphone.wire.frames import (
    Frame,
    FullFrame,
    MetaTrunkFrame,
    MetaVideoFrame,
    MiniFrame,
    parse_frame,
)
from iaxphone.wire.ies import InformationElements
from iaxphone.wire.report import ReceiverReport
from iaxphone.wire.seqnum import seq_diff

from .call import Call, CallOptions, CallState, CallStateError
from .calltoken import CallTokens
from .crypto import DecryptError
from .events import Event, MessageWaiting
from .hold import HoldState
from .registrar import CallAuthenticator, RegistrarTransaction
from .registration import (
    Account,
    RegAction,
    RegistrarCheck,
    Registration,
    RegistrationTransaction,
    RegState,
    RegTrigger,
)
from .reliability import RetryPolicy, earliest
from .session import SEND_WINDOW, Address, Session
from .trunk import TrunkBatcher, TrunkReceiver
from .trust import ANYONE, CallerPolicy, StrangerLog

log = logging.getLogger("iaxphone.proto")

MAX_CALL_NUMBER = 0x7FFF
MAX_TS_JUMP_MS = 600_000  # a decrypted timestamp further than 10 minutes off is garbage
_FRAME_TYPES = frozenset(int(t) for t in FrameType)
# What a full frame for no call (destination call number 0) from an unknown
# source may be: anything else is dropped before it is parsed.
_UNSOLICITED = frozenset(
    int(c)
    for c in (
        IaxCommand.NEW,
        IaxCommand.POKE,
        IaxCommand.REGREQ,
        IaxCommand.REGREL,
        IaxCommand.MWI,
    )
)
FIRST_CALL_NUMBER = 2  # 1 is what Asterisk uses for stateless replies


class UnknownCallError(LocalProtocolError, KeyError):
    """A command named a call the endpoint does not have (a local mistake)."""


@dataclass(frozen=True, slots=True)
class EndpointConfig:
    """Protocol settings; every field has a sensible default for a desk phone."""

    formats: list[int] = field(default_factory=list)  # codec preference, best first
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    ping_interval: float = 10.0
    require_call_token: bool = True
    max_half_open_per_peer: int = 16
    linger: float = 4.0
    users: dict[str, str] = field(default_factory=dict)  # serve these: username -> secret
    caller_rsa_key: bytes | None = None  # PEM: callers must sign with its private half
    trunk_interval: float = 0.020  # Asterisk's trunkfreq
    trunk_mtu: int = 1240  # Asterisk's trunkmtu
    trunk_timestamps: bool = True  # Asterisk's trunktimestamps
    accept_calls_from: CallerPolicy = ANYONE  # whose NEW and POKE we take
    max_poke_replies: int = 32  # POKE sessions at once; beyond, PONG without a session


class PokeReply(Session):
    """Answers one POKE with PONG (again for each retransmitted POKE), then lingers."""

    kind = "poke"

    def answer(self, poke: FullFrame, now: float) -> None:
        self.send_iax(IaxCommand.PONG, now, timestamp=poke.timestamp, reliable=False)

    def receive(self, frame: FullFrame, now: float) -> None:
        if frame.frame_type == FrameType.IAX and frame.subclass == IaxCommand.POKE:
            # Our PONG was lost: the poker sends its POKE again.
            self.reliability.oseqno = 0
            self.answer(frame, now)
            return
        super().receive(frame, now)

    def handle(self, frame: FullFrame, now: float) -> None:
        self.send_ack(frame)


class CallNumbersExhaustedError(IaxphoneError, RuntimeError):
    """Every IAX2 call number is taken by a call, registration or poke reply."""


class UnknownAccountError(LocalProtocolError, ValueError):
    """A command named an account the endpoint never registered (a local mistake)."""


@dataclass(frozen=True, slots=True)
class CallInfo:
    """What :meth:`Endpoint.call_info` tells about one call."""

    call_id: int
    peer: Address
    remote_call: int
    outgoing: bool
    state: CallState
    format: int
    encrypted: bool
    on_hold: bool  # we hold the far end
    remote_hold: bool  # the far end holds us
    quelched: bool  # the far end asked us to stop sending


class _SessionHost:
    """The small private interface sessions reach their endpoint through (``session.Host``)."""

    __slots__ = ("_endpoint",)

    def __init__(self, endpoint: Endpoint) -> None:
        self._endpoint = endpoint

    def transmit(self, data: bytes, addr: Address) -> None:
        self._endpoint._transmit(data, addr)

    def emit(self, event: Event) -> None:
        self._endpoint._events.append(event)

    def bind_remote(self, session: Session) -> None:
        self._endpoint._bind_remote(session)

    def trunk_voice(self, call: Session, timestamp16: int, payload: bytes, now: float) -> None:
        self._endpoint._trunk_voice(call, timestamp16, payload, now)

    def release(self, session: Session) -> None:
        self._endpoint._release(session)


class Endpoint:
    """See the module docstring: five sans-IO methods, commands and read-only queries."""

    def __init__(self, config: EndpointConfig | None = None) -> None:
        self._config = config or EndpointConfig()
        self._sessions: dict[int, Session] = {}
        self._by_remote: dict[tuple[Address, int], Session] = {}
        self._registrations: dict[str, Registration] = {}
        self._tokens = CallTokens()
        self._bindings: dict[str, tuple[Address, float]] = {}
        self._trunks: dict[Address, TrunkBatcher] = {}
        self._trunk_receivers: dict[Address, TrunkReceiver] = {}
        cfg = self._config
        wants_auth = bool(cfg.users) or cfg.caller_rsa_key is not None
        self._authenticator = (
            CallAuthenticator(cfg.users, cfg.caller_rsa_key) if wants_auth else None
        )
        self._outbox: list[tuple[bytes, Address]] = []
        # Session deadlines: a heap of (deadline, call number), with the deadline each
        # session has now in _deadlines (a heap entry that differs is stale and skipped),
        # and the sessions whose deadline may have moved in _dirty (see get_timer).
        self._heap: list[tuple[float, int]] = []
        self._deadlines: dict[int, float] = {}
        self._dirty: set[int] = set()
        # The soonest registration deadline, recomputed only when stale.
        self._timer_stale = True
        self._timer_cached: float | None = None
        self._events: deque[Event] = deque()
        self._next_call_number = FIRST_CALL_NUMBER
        self._dropped = 0
        self._undecryptable = 0
        self._strangers = StrangerLog()
        self._poke_replies = 0
        self._host = _SessionHost(self)

    # ================================================================== for sessions (_SessionHost)

    def _transmit(self, data: bytes, addr: Address) -> None:
        if data and data[0] & 0x80:
            # A full frame: its sender's retransmission or linger timers may move.  Its
            # source call number (in clear, encrypted or not) is the session's.
            self._timer_stale = True
            if len(data) >= 2:
                self._dirty.add(((data[0] & 0x7F) << 8) | data[1])
        self._outbox.append((data, addr))

    def _emit(self, event: Event) -> None:
        self._events.append(event)

    def _bind_remote(self, session: Session) -> None:
        self._by_remote[(session.peer, session.remote_call)] = session

    def _trunk_voice(self, call: Session, timestamp16: int, payload: bytes, now: float) -> None:
        """A trunked call's voice: batched for its peer, sent when the trunk interval ends."""
        batcher = self._trunks.get(call.peer)
        if batcher is None:
            cfg = self._config
            batcher = TrunkBatcher(cfg.trunk_interval, cfg.trunk_mtu, cfg.trunk_timestamps)
            self._trunks[call.peer] = batcher
        for datagram in batcher.add(call.local_call, timestamp16, payload, now):
            self._transmit(datagram, call.peer)

    def _add_session(self, session: Session) -> None:
        self._sessions[session.local_call] = session
        self._dirty.add(session.local_call)

    def _release(self, session: Session) -> None:
        self._deadlines.pop(session.local_call, None)  # its heap entry is stale now
        self._dirty.discard(session.local_call)
        if self._sessions.pop(session.local_call, None) is not None and isinstance(
            session, PokeReply
        ):
            self._poke_replies -= 1
        key = (session.peer, session.remote_call)
        if self._by_remote.get(key) is session:
            del self._by_remote[key]

    # ================================================================== sans-IO API

    def datagrams_to_send(self, now: float) -> list[tuple[bytes, Address]]:
        out, self._outbox = self._outbox, []
        return out

    def next_event(self) -> Event | None:
        return self._events.popleft() if self._events else None

    def get_timer(self) -> float | None:
        """The next deadline: the sessions' (a heap), the registrations' and the trunks'.

        A session's deadline (retransmission, linger, ping) moves only when it
        sends or receives a full frame or its timer fires; such a session is
        marked dirty, and only dirty sessions are asked again and pushed onto
        the heap.  Voice in mini frames and trunk batches moves none of them:
        with hundreds of calls sending 50 frames a second, no session is
        walked, and a PING or ACK costs one session, not all of them.
        Registrations (a few) keep their soonest in a cache, recomputed after
        any full frame.
        """
        self._refresh_deadlines()
        heap, deadlines = self._heap, self._deadlines
        while heap and deadlines.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)  # stale: the session moved its deadline or is gone
        if self._timer_stale:
            self._timer_cached = earliest(
                *(r.next_action for r in self._registrations.values()),
                *(r.next_check for r in self._registrations.values() if r.check is None),
            )
            self._timer_stale = False
        return earliest(
            heap[0][0] if heap else None,
            self._timer_cached,
            *(b.deadline for b in self._trunks.values()),
        )

    def _refresh_deadlines(self) -> None:
        """Ask each dirty session for its deadline; a new one goes onto the heap."""
        if not self._dirty:
            return
        sessions, deadlines = self._sessions, self._deadlines
        for number in self._dirty:
            session = sessions.get(number)
            deadline = session.next_deadline() if session is not None else None
            if deadline is None:
                deadlines.pop(number, None)
            elif deadlines.get(number) != deadline:
                deadlines[number] = deadline
                heapq.heappush(self._heap, (deadline, number))
        self._dirty.clear()

    def handle_timer(self, now: float) -> None:
        for peer, batcher in self._trunks.items():
            if batcher.deadline is not None and batcher.deadline <= now:
                for datagram in batcher.flush(now):
                    self._transmit(datagram, peer)
        self._refresh_deadlines()
        heap, deadlines = self._heap, self._deadlines
        due: list[int] = []
        while heap and heap[0][0] <= now:
            deadline, number = heapq.heappop(heap)
            if deadlines.get(number) == deadline:
                del deadlines[number]
                due.append(number)
        for number in due:
            session = self._sessions.get(number)
            if session is None:
                continue
            self._dirty.add(number)  # asked again after its timer ran
            when = session.next_deadline()
            if when is not None and when <= now:
                self._timer_stale = True  # a timer may move a registration's (a lost POKE)
                session.on_timer(now)
        if not self._timer_stale and (self._timer_cached is None or self._timer_cached > now):
            return  # no registration was due
        self._timer_stale = True
        for registration in list(self._registrations.values()):
            if registration.next_action is not None and registration.next_action <= now:
                registration.next_action = None
                if registration.machine.allows(RegTrigger.REFRESH_DUE):
                    self._start_registration(registration, RegTrigger.REFRESH_DUE, now)
            check_due = registration.next_check is not None and registration.next_check <= now
            if check_due and registration.check is None:
                registration.next_check = None
                if registration.state is RegState.REGISTERED:
                    self._check_registrar(registration, now)

    def receive_datagram(self, data: bytes, addr: Address, now: float) -> None:
        if not self._wanted(data, addr):
            self._dropped += 1
            return
        plain = self._decrypted(data, addr, now)
        if plain is None:
            self._drop(addr, "does not decrypt with the call's key")
            return
        try:
            frame = parse_frame(plain)
        except FrameParseError as exc:
            self._drop(addr, f"malformed datagram ({exc})")
            return
        try:
            if isinstance(frame, FullFrame):
                self._timer_stale = True
                self._receive_full(frame, addr, now)
                self._touched(frame, addr)
            elif isinstance(frame, MiniFrame):
                self._receive_mini(frame, addr)
            elif isinstance(frame, MetaTrunkFrame):
                self._receive_trunk(frame, addr, now)
            elif isinstance(frame, MetaVideoFrame):
                self._drop(addr, "video is not supported")
        except Exception:  # a bug must not take the other calls down
            log.exception("error handling a datagram from %s:%d", *addr)
            self._dropped += 1

    def _wanted(self, data: bytes, addr: Address) -> bool:
        """The cheapest checks first: could this datagram concern us at all?

        Read from the clear header bytes only (the call numbers are never
        encrypted), with no parsing and no log line: a flood of garbage
        must cost as little as possible per datagram.  A full frame must be
        for one of our sessions with this peer (or a HANGUP, which is
        answered even for a call gone here), or else from a known peer or
        one of the few frames that open a session; a mini frame must be for
        a call with this peer.  Meta frames go on to the full checks.
        """
        n = len(data)
        if n < 4:
            return n > 0 and not data[0] & 0x80  # the parser says why, in the debug log
        b0 = data[0]
        if b0 & 0x80:
            if n < 12:
                return False
            dest = ((data[2] << 8) | data[3]) & 0x7FFF
            if dest:
                session = self._sessions.get(dest)
                if session is not None and session.peer == addr:
                    return True
                return data[10] == FrameType.IAX and data[11] == IaxCommand.HANGUP
            if (addr, ((b0 << 8) | data[1]) & 0x7FFF) in self._by_remote:
                return True
            return data[10] == FrameType.IAX and data[11] in _UNSOLICITED
        if b0 or data[1]:
            return isinstance(self._by_remote.get((addr, (b0 << 8) | data[1])), Call)
        return True

    def _decrypted(self, data: bytes, addr: Address, now: float) -> bytes | None:
        """The plain datagram: decrypted when it belongs to an encrypted call; None to drop.

        Only the call numbers are in clear and IAX2 has no integrity check, so
        a decrypted frame must also look right for its call (a known frame
        type, a sequence number near the expected one, a timestamp near the
        call's clock); one that does not - a wrong key, corruption - is
        counted and dropped.  A frame that arrives in clear for an encrypted
        call (a retransmission from before encryption started) is taken as
        it is, but only until the first encrypted frame from the peer has
        arrived: from then on the peer encrypts everything, so a plain frame
        is a forgery (a HANGUP from anyone who can spoof the PBX's address)
        and is dropped, as Asterisk's chan_iax2 drops every frame that does
        not decrypt once a call is encrypted.
        """
        if len(data) < 4:
            return data
        if data[0] & 0x80:
            session = self._sessions.get(int.from_bytes(data[2:4], "big") & 0x7FFF)
        elif data[0] or data[1]:
            session = self._by_remote.get((addr, int.from_bytes(data[0:2], "big")))
        else:
            return data  # meta frames are never encrypted
        if session is None or session.cipher is None or session.peer != addr:
            return data
        try:
            plain = session.cipher.decrypt(data)
            frame = parse_frame(plain)
        except (DecryptError, FrameParseError):
            frame = None
        if frame is not None and _plausible(frame, session, now):
            session.peer_encrypting = True
            return plain
        if session.peer_encrypting:
            self._undecryptable += 1
            return None
        with contextlib.suppress(FrameParseError):
            clear = parse_frame(data)
            if (
                isinstance(clear, FullFrame)
                and clear.frame_type == FrameType.IAX
                and _plausible(clear, session, now)
            ):
                return data  # sent before encryption began
        self._undecryptable += 1
        return None

    # ================================================================== commands

    def register(self, account: Account, now: float) -> str:
        """Register ``account`` and keep it registered; returns the account name."""
        registration = self._registrations.get(account.name)
        if registration is None:
            registration = self._registrations[account.name] = Registration(account)
        if registration.transaction is None:
            self._start_registration(registration, RegTrigger.REGISTER, now)
        return account.name

    def unregister(self, account_name: str, now: float) -> None:
        """Send REGREL; :class:`~iaxphone.proto.events.Unregistered` follows.

        ``account_name`` is ``Account.name`` ("user@host:port"); an account
        this endpoint never registered raises :class:`UnknownAccountError`.
        """
        registration = self._registration(account_name)
        if registration.fire(RegTrigger.UNREGISTER) is not RegAction.SEND_REGREL:
            return  # idle, or unregistering already
        if registration.transaction is not None:
            registration.transaction.reliability.forget()
            registration.transaction.close(now, linger=0.0)
            registration.transaction = None
        registration.next_action = None
        self._open_transaction(registration, now, release=True)

    def set_caller_policy(self, policy: CallerPolicy) -> None:
        """Whose calls and pokes to take from now on (calls up now are not touched)."""
        self._config = dataclasses.replace(self._config, accept_calls_from=policy)

    def set_formats(self, formats: Iterable[int]) -> None:
        """The codec preference, best first, for calls from now on (calls up keep theirs)."""
        self._config = dataclasses.replace(self._config, formats=list(formats))

    def dial(self, peer: Address, options: CallOptions, now: float) -> int:
        """Place a call; returns its ``call_id``. Events tell how it goes."""
        formats = options.formats or self._config.formats
        call = self._new_call(peer, now, outgoing=True, formats=formats)
        call.trunk = options.trunk
        capability = 0
        for fmt in formats:
            capability |= fmt
        call.dial(options, capability, now)
        return call.local_call

    def accept(self, call_id: int, now: float, fmt: int | None = None) -> None:
        """Accept an offered call (ACCEPT + RINGING), choosing our best common codec."""
        self._call(call_id).accept(now, fmt)

    def answer(self, call_id: int, now: float) -> None:
        call = self._call(call_id)
        if call.state is CallState.OFFERED:
            call.accept(now)
        call.answer(now)

    def reject(
        self,
        call_id: int,
        now: float,
        cause: str = "rejected",
        cause_code: int = Cause.CALL_REJECTED,
    ) -> None:
        self._call(call_id).reject(now, cause, cause_code)

    def hangup(
        self,
        call_id: int,
        now: float,
        cause: str = "normal clearing",
        cause_code: int = Cause.NORMAL_CLEARING,
    ) -> None:
        self._call(call_id).hangup(now, cause, cause_code)

    def send_audio(self, call_id: int, payload: bytes, duration_ms: int, now: float) -> None:
        self._call(call_id).send_voice(payload, duration_ms, now)

    def send_dtmf(self, call_id: int, digit: str, now: float, begin: bool = False) -> None:
        self._call(call_id).send_dtmf(digit, now, begin)

    def hold(self, call_id: int, now: float, music_class: str | None = None) -> None:
        self._call(call_id).hold(now, music_class)

    def unhold(self, call_id: int, now: float) -> None:
        self._call(call_id).unhold(now)

    def send_text(self, call_id: int, text: str, now: float) -> int:
        """Send a text message (UTF-8, split as :mod:`.text` says); the TEXT frames it took."""
        return self._call(call_id).send_text(text, now)

    def flash(self, call_id: int, now: float) -> None:
        self._call(call_id).flash(now)

    def quelch(self, call_id: int, now: float, on: bool = True) -> None:
        self._call(call_id).quelch(now, on)

    def blind_transfer(
        self, call_id: int, number: str, now: float, context: str | None = None
    ) -> None:
        self._call(call_id).blind_transfer(number, now, context)

    def update_receiver_report(self, call_id: int, report: ReceiverReport) -> None:
        """Our latest view of the far end's voice, sent in the next PING or PONG (RR IEs)."""
        self._call(call_id).receiver_report = report

    # ================================================================== queries (read-only)

    @property
    def config(self) -> EndpointConfig:
        """The settings in force (frozen; change them with the ``set_*`` commands)."""
        return self._config

    def call_info(self, call_id: int) -> CallInfo:
        """A snapshot of one call; :class:`UnknownCallError` if there is no such call."""
        call = self._call(call_id)
        return CallInfo(
            call_id=call.local_call,
            peer=call.peer,
            remote_call=call.remote_call,
            outgoing=call.outgoing,
            state=call.state,
            format=call.format,
            encrypted=call.cipher is not None,
            on_hold=call.local_hold.state is HoldState.HELD,
            remote_hold=call.remote_hold,
            quelched=call.quelched,
        )

    @property
    def call_ids(self) -> tuple[int, ...]:
        """The calls not yet ended."""
        return tuple(
            s.local_call for s in self._sessions.values() if isinstance(s, Call) and s.active
        )

    @property
    def open_sessions(self) -> frozenset[int]:
        """Local call numbers in use: calls, registrations, pokes (ended ones lingering)."""
        return frozenset(self._sessions)

    def registration_names(self) -> tuple[str, ...]:
        return tuple(self._registrations)

    def registration_state(self, account_name: str) -> RegState:
        return self._registration(account_name).state

    @property
    def bindings(self) -> Mapping[str, tuple[Address, float]]:
        """Who registered with us (as a registrar): username -> (address, expiry)."""
        return MappingProxyType(self._bindings)

    @property
    def trunks(self) -> Mapping[Address, TrunkBatcher]:
        """The meta trunk batch of each peer we trunk voice to."""
        return MappingProxyType(self._trunks)

    @property
    def dropped(self) -> int:
        """Datagrams dropped: malformed, for no call, from a source the policy refuses."""
        return self._dropped

    @property
    def undecryptable(self) -> int:
        """Datagrams for an encrypted call that did not decrypt to a frame that fits it."""
        return self._undecryptable

    @property
    def strangers(self) -> StrangerLog:
        return self._strangers

    @property
    def strangers_refused(self) -> int:
        """How many NEWs and POKEs from sources the policy does not admit were refused."""
        return self._strangers.total

    # ================================================================== internals

    def _call(self, call_id: int) -> Call:
        session = self._sessions.get(call_id)
        if not isinstance(session, Call):
            raise UnknownCallError(f"no call {call_id}")
        return session

    def _registration(self, account_name: str) -> Registration:
        registration = self._registrations.get(account_name)
        if registration is None:
            known = ", ".join(sorted(self._registrations)) or "none"
            raise UnknownAccountError(
                f"no registration named {account_name!r} (registered: {known})"
            )
        return registration

    def _allocate_call_number(self) -> int:
        for _ in range(MAX_CALL_NUMBER):
            number = self._next_call_number
            self._next_call_number += 1
            if self._next_call_number > MAX_CALL_NUMBER:
                self._next_call_number = FIRST_CALL_NUMBER
            if number not in self._sessions:
                return number
        raise CallNumbersExhaustedError(
            "all 32766 IAX2 call numbers are in use: end some calls or registrations"
        )

    def _new_call(self, peer: Address, now: float, *, outgoing: bool, formats: list[int]) -> Call:
        call = Call(
            self._host,
            self._allocate_call_number(),
            peer,
            now,
            self._config.retry,
            outgoing=outgoing,
            formats=list(formats),
            ping_interval=self._config.ping_interval,
        )
        self._add_session(call)
        return call

    def _start_registration(
        self, registration: Registration, trigger: RegTrigger, now: float
    ) -> None:
        if registration.fire(trigger) is RegAction.SEND_REGREQ:
            self._open_transaction(registration, now, release=False)

    def _check_registrar(self, registration: Registration, now: float) -> None:
        check = RegistrarCheck(
            self._host, self._allocate_call_number(), registration, now, self._config.retry
        )
        self._add_session(check)
        registration.check = check
        check.start(now)

    def _open_transaction(self, registration: Registration, now: float, release: bool) -> None:
        transaction = RegistrationTransaction(
            self._host,
            self._allocate_call_number(),
            registration,
            now,
            self._config.retry,
            release=release,
        )
        self._add_session(transaction)
        registration.transaction = transaction
        transaction.start(now)

    def _drop(self, addr: Address, why: str) -> None:
        self._dropped += 1
        log.debug("dropped datagram from %s:%d: %s", addr[0], addr[1], why)

    # -- full frames ----------------------------------------------------------

    def _receive_full(self, frame: FullFrame, addr: Address, now: float) -> None:
        if frame.dest_call:
            self._receive_for_session(frame, addr, now)
            return
        known = self._by_remote.get((addr, frame.source_call))
        if known is not None:
            known.receive(frame, now)
            return
        if frame.frame_type != FrameType.IAX:
            self._drop(addr, f"{frame.frame_type!s} frame for no call")
            return
        if frame.subclass == IaxCommand.NEW:
            self._receive_new(frame, addr, now)
        elif frame.subclass == IaxCommand.POKE:
            if self._is_registrar(addr) or self._admitted(addr, now, "poke"):
                self._answer_poke(frame, addr, now)
        elif frame.subclass in (IaxCommand.REGREQ, IaxCommand.REGREL):
            self._receive_regreq(frame, addr, now)
        elif frame.subclass == IaxCommand.MWI:
            self._receive_mwi(frame, addr)
        else:
            self._drop(addr, f"{frame.subclass!s} for no call")

    def _touched(self, frame: FullFrame, addr: Address) -> None:
        """The session a received full frame reached: its deadline may have moved."""
        if frame.dest_call:
            self._dirty.add(frame.dest_call)
        known = self._by_remote.get((addr, frame.source_call))
        if known is not None:
            self._dirty.add(known.local_call)

    def _receive_for_session(self, frame: FullFrame, addr: Address, now: float) -> None:
        session = self._sessions.get(frame.dest_call)
        if session is None or session.peer != addr:
            if frame.frame_type == FrameType.IAX and frame.subclass == IaxCommand.HANGUP:
                # The call is gone here already; stop the peer retransmitting.
                self._reply_stateless(frame, addr, IaxCommand.ACK)
            self._drop(addr, f"frame for unknown call {frame.dest_call}")
            return
        is_iax = frame.frame_type == FrameType.IAX
        if is_iax and frame.subclass == IaxCommand.CALLTOKEN and not session.reply_seen:
            # Out of band, before the peer has answered anything: restart with the token.
            token = frame.ies.call_token if frame.ies is not None else None
            if token and isinstance(session, Call | RegistrationTransaction):
                session.on_call_token(token, now)
            return
        if is_iax and frame.subclass == IaxCommand.INVAL:
            if isinstance(session, Call):
                session.on_invalid(now)
            else:
                session.close(now, linger=0.0)
            return
        if session.remote_call and frame.source_call != session.remote_call:
            # Asterisk answers a token failure from call number 1; a session
            # that has not yet accepted a reply may learn the peer's real number.
            if not session.reply_seen:
                self._by_remote.pop((session.peer, session.remote_call), None)
                session.remote_call = 0
            else:
                self._drop(
                    addr,
                    f"call {frame.dest_call}: source call {frame.source_call} is not the peer's",
                )
                return
        session.receive(frame, now)

    def _token_checked(
        self, frame: FullFrame, addr: Address, now: float, refuse: IaxCommand
    ) -> bool:
        """Apply the call-token rule to a NEW/REGREQ; False when it was answered or dropped."""
        if not self._config.require_call_token:
            return True
        ies = frame.ies or InformationElements()
        token = ies.call_token
        if token is None:
            self._reply_stateless(frame, addr, refuse, "call token required", Cause.CALL_REJECTED)
            return False
        if token == b"":
            reply = InformationElements(call_token=self._tokens.issue(addr, now))
            self._reply_stateless(frame, addr, IaxCommand.CALLTOKEN, ies=reply)
            return False
        if not self._tokens.valid(token, addr, now):
            self._drop(addr, f"{frame.subclass!s} with an invalid or expired call token")
            return False
        return True

    def _receive_regreq(self, frame: FullFrame, addr: Address, now: float) -> None:
        if not self._config.users:
            self._reply_stateless(
                frame,
                addr,
                IaxCommand.REGREJ,
                "this endpoint is not a registrar",
                Cause.FACILITY_REJECTED,
            )
            return
        if not self._token_checked(frame, addr, now, IaxCommand.REGREJ):
            return
        transaction = RegistrarTransaction(
            self._host,
            self._allocate_call_number(),
            addr,
            now,
            self._config.retry,
            self._config.users,
            self._bindings,
        )
        self._add_session(transaction)
        transaction.remote_call = frame.source_call
        self._bind_remote(transaction)
        transaction.reliability.receive(frame)
        transaction.challenge_peer(frame, now)

    def _receive_new(self, frame: FullFrame, addr: Address, now: float) -> None:
        ies = frame.ies or InformationElements()
        if not self._token_checked(frame, addr, now, IaxCommand.REJECT):
            return
        if not self._admitted(addr, now, "call"):
            self._reply_stateless(
                frame, addr, IaxCommand.REJECT, "call rejected", Cause.CALL_REJECTED
            )
            return
        half_open = sum(
            1
            for s in self._sessions.values()
            if isinstance(s, Call) and s.peer == addr and s.state is CallState.OFFERED
        )
        if half_open >= self._config.max_half_open_per_peer:
            self._reply_stateless(
                frame,
                addr,
                IaxCommand.REJECT,
                "too many unanswered calls",
                Cause.NORMAL_CIRCUIT_CONGESTION,
            )
            return
        if (ies.version or 2) > 2:
            self._reply_stateless(
                frame,
                addr,
                IaxCommand.REJECT,
                "unsupported protocol version",
                Cause.FACILITY_NOT_SUBSCRIBED,
            )
            return
        username = ies.username
        if self._authenticator is not None and not self._authenticator.can_challenge(username):
            self._reply_stateless(
                frame, addr, IaxCommand.REJECT, "No authority found", Cause.FACILITY_NOT_SUBSCRIBED
            )
            return
        call = self._new_call(addr, now, outgoing=False, formats=self._config.formats)
        call.remote_call = frame.source_call
        self._bind_remote(call)
        call.reliability.receive(frame)
        call.offered(ies)
        if self._authenticator is not None:
            call.authenticate_caller(self._authenticator, username, now)
        else:
            call.announce()

    def _receive_mwi(self, frame: FullFrame, addr: Address) -> None:
        """An unsolicited MWI from a registrar: new voicemail counts for our account there."""
        ours = [r for r in self._registrations.values() if r.account.server == addr]
        if not ours:
            self._drop(addr, "MWI from a server we do not register to")
            return
        self._reply_stateless(frame, addr, IaxCommand.ACK)
        count = frame.ies.msg_count if frame.ies is not None else None
        if count is None:
            return
        new, old = count & 0xFF, count >> 8
        for registration in ours:
            if registration.messages != (new, old):
                registration.messages = (new, old)
                self._emit(MessageWaiting(registration.account.name, new, old))

    def _is_registrar(self, addr: Address) -> bool:
        """Is this a server we register to?  (It qualifies us with POKEs.)"""
        return any(r.account.server[0] == addr[0] for r in self._registrations.values())

    def _admitted(self, addr: Address, now: float, what: str) -> bool:
        """Does the caller policy admit this source?  A refusal is counted and logged."""
        if self._config.accept_calls_from.admits(addr[0]):
            return True
        self._dropped += 1
        count = self._strangers.refused(addr[0], now)
        if count is not None:
            log.warning(
                "refused a %s from %s, which this phone does not take calls from"
                " (accept_calls_from: %s); %d refused from it since the last report",
                what,
                addr[0],
                self._config.accept_calls_from.describe(),
                count,
            )
        return False

    def _answer_poke(self, frame: FullFrame, addr: Address, now: float) -> None:
        """PONG from a session that answers retransmitted POKEs and lingers 2 s.

        A flood of POKEs would fill the session table (and the timer walk) with
        those: beyond ``max_poke_replies`` at once the PONG goes out statelessly.
        """
        if self._poke_replies >= self._config.max_poke_replies:
            self._reply_stateless(frame, addr, IaxCommand.PONG)
            return
        self._poke_replies += 1
        poke = PokeReply(self._host, self._allocate_call_number(), addr, now, self._config.retry)
        self._add_session(poke)
        poke.remote_call = frame.source_call
        self._bind_remote(poke)
        poke.reliability.receive(frame)
        poke.answer(frame, now)
        poke.close(now, linger=2.0)

    def _reply_stateless(
        self,
        frame: FullFrame,
        addr: Address,
        command: IaxCommand,
        cause: str | None = None,
        cause_code: int | None = None,
        ies: InformationElements | None = None,
    ) -> None:
        """An answer that creates no session (token request, early reject), sent from call 1."""
        body = ies or InformationElements()
        if cause is not None:
            body.cause = cause
        if cause_code is not None:
            body.cause_code = cause_code
        reply = FullFrame(
            source_call=1,
            dest_call=frame.source_call,
            timestamp=frame.timestamp,
            oseqno=0 if command != IaxCommand.ACK else frame.iseqno,
            iseqno=(frame.oseqno + 1) & 0xFF,
            frame_type=FrameType.IAX,
            subclass=command,
            ies=body,
        )
        self._transmit(reply.to_bytes(), addr)

    # -- voice ------------------------------------------------------------------

    def _receive_mini(self, frame: MiniFrame, addr: Address) -> None:
        session = self._by_remote.get((addr, frame.source_call))
        if not isinstance(session, Call):
            self._drop(addr, f"mini frame for unknown call {frame.source_call}")
            return
        session.voice_mini(frame)

    def _receive_trunk(self, frame: MetaTrunkFrame, addr: Address, now: float) -> None:
        """Voice for our calls with ``addr``; a receiver is kept only for a source that has one.

        (Made before that check, forged trunk frames from a million sources
        took 245 bytes each, for ever.)
        """
        receiver = self._trunk_receivers.get(addr)
        for entry in frame.entries:
            session = self._by_remote.get((addr, entry.call_number))
            if not isinstance(session, Call):
                self._drop(addr, f"trunk entry for unknown call {entry.call_number}")
                continue
            if entry.timestamp is not None:
                ts = session.timeline.unwrap(entry.timestamp)
            else:
                if receiver is None:
                    receiver = self._trunk_receivers[addr] = TrunkReceiver()
                ts = receiver.call_timestamp(frame.timestamp, now, session.started)
            session.voice_trunk(ts, entry.payload)


def _plausible(frame: Frame, session: Session, now: float) -> bool:
    """Does a decrypted frame fit its call?  (IAX2 encryption has no integrity check.)

    Type, both sequence numbers and the timestamp must fit: the last one
    received, or before any, the call's age (the peer's clock started with
    ours, give or take a round trip).
    """
    if isinstance(frame, FullFrame):
        if frame.frame_type not in _FRAME_TYPES:
            return False
        if abs(seq_diff(frame.oseqno, session.reliability.iseqno)) > SEND_WINDOW:
            return False
        if not -SEND_WINDOW <= seq_diff(frame.iseqno, session.reliability.oseqno) <= 0:
            return False  # it acknowledges frames we never sent
        last = session.last_rx_ts
        if last is None:
            return frame.timestamp < session.elapsed_ms(now) + MAX_TS_JUMP_MS
        return abs(frame.timestamp - last) < MAX_TS_JUMP_MS
    return isinstance(frame, MiniFrame)


__all__ = [
    "Account",
    "CallInfo",
    "CallNumbersExhaustedError",
    "CallOptions",
    "CallStateError",
    "Endpoint",
    "EndpointConfig",
    "UnknownAccountError",
    "UnknownCallError",
]
