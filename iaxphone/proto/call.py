"""One IAX2 call: set-up, authentication and tear-down; the rest is delegated.

Theory of operation
-------------------
A :class:`Call` runs its state table (:mod:`.callstate`): each signalling
frame, timeout and command is a trigger, and this module has one method
per action of the table.  The call's other jobs live beside it:

* :mod:`.callfeatures`: in-call commands and frames (DTMF, text, hold,
  quelch, flash, transfer) and the link reports (PING/PONG, LAGRQ);
* :mod:`.voice`: the voice clock we send on and the receive timeline;
* :mod:`.hold` and :mod:`.encryption`: the hold and encryption
  sub-machines.

Set-up: an outgoing NEW asks for a call token (empty CALLTOKEN IE); when
the peer sends one back we send the NEW again with it, sequence numbers
restarted.  On the answering side, :mod:`iaxphone.proto.calltoken` makes the
caller do the same before a call exists.

After our AUTHREP, ACCEPT or REJECT must arrive within the retry window
(about 6 s) even when the AUTHREP itself was acknowledged: IAX2 encryption
has no integrity check, so a PBX that decrypts an AUTHREP made with the
wrong secret may take the noise for an in-order frame and then say nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from iaxphone.errors import RemoteProtocolError
from iaxphone.wire.constants import (
    CODEC_PREF_ORDER,
    Cause,
    ControlType,
    FrameType,
    IaxCommand,
)
from iaxphone.wire.frames import FullFrame, MiniFrame
from iaxphone.wire.ies import InformationElements, formats_to_codec_prefs
from iaxphone.wire.report import ReceiverReport

from .auth import AuthenticationError, Credentials, answer_challenge
from .callfeatures import FEATURES, FEATURES_BY_TYPE, InCallFeatures
from .callstate import (
    CONNECTED,
    REMOTE,
    TABLE,
    CallAction,
    CallState,
    CallStateError,
    CallTrigger,
)
from .crypto import AES128, KEYROTATE, FrameCipher, derive_key
from .encryption import REFUSED_MESSAGE, CryptoAction, CryptoTrigger, encryption
from .events import (
    AudioReceived,
    CallAccepted,
    CallAnswered,
    CallEnded,
    CallProceeding,
    CallRinging,
    IncomingCall,
)
from .hold import far_hold, local_hold
from .machine import Machine, successors
from .reliability import earliest
from .session import Address, Host
from .voice import MediaCounters, ReceiveTimeline, VoiceClock

if TYPE_CHECKING:
    from .registrar import CallAuthenticator
    from .reliability import RetryPolicy

log = logging.getLogger("iaxphone.proto")

ENCRYPTION_REFUSED = REFUSED_MESSAGE
TRANSITIONS = successors(TABLE)  # which states may follow which (derived from the table)

# Signalling frames, as triggers of the state table.
SIGNALS: dict[tuple[int, int], CallTrigger] = {
    (FrameType.IAX, IaxCommand.AUTHREQ): CallTrigger.AUTHREQ,
    (FrameType.IAX, IaxCommand.AUTHREP): CallTrigger.AUTHREP,
    (FrameType.IAX, IaxCommand.ACCEPT): CallTrigger.ACCEPT,
    (FrameType.IAX, IaxCommand.HANGUP): CallTrigger.HANGUP,
    (FrameType.IAX, IaxCommand.REJECT): CallTrigger.REJECT,
    (FrameType.CONTROL, ControlType.PROCEEDING): CallTrigger.PROCEEDING,
    (FrameType.CONTROL, ControlType.RINGING): CallTrigger.RINGING,
    (FrameType.CONTROL, ControlType.ANSWER): CallTrigger.ANSWER,
    (FrameType.CONTROL, ControlType.BUSY): CallTrigger.BUSY,
    (FrameType.CONTROL, ControlType.CONGESTION): CallTrigger.CONGESTION,
}
# Answered by a reply (AUTHREP, REJECT), so not acknowledged before the action.
_ANSWERED = frozenset({CallTrigger.AUTHREQ, CallTrigger.AUTHREP})
# The far end's refusals that we answer with a HANGUP of our own.
_PEER_ENDINGS = {
    CallTrigger.BUSY: ("busy", Cause.USER_BUSY),
    CallTrigger.CONGESTION: ("congestion", Cause.NORMAL_CIRCUIT_CONGESTION),
}


@dataclass(slots=True)
class CallOptions:
    """What we ask for when we place a call."""

    number: str
    username: str | None = None
    secret: str | None = None
    allow_plaintext: bool = False
    context: str | None = None
    caller_number: str | None = None
    caller_name: str | None = None
    language: str | None = None
    formats: list[int] = field(default_factory=list)
    encryption: str = "allowed"  # "required", "allowed" (offer it) or "off"
    trunk: bool = False  # batch voice in meta trunk frames (the account is a trunk)
    rsa_private_key: bytes | None = None  # PEM, for auth=rsa peers


@dataclass(frozen=True, slots=True)
class _Input:
    """What an action is given: the time, the frame that triggered it, how the call ends."""

    now: float
    frame: FullFrame | None = None
    cause: str = ""
    code: int | None = None
    by_remote: bool = False


class Call(InCallFeatures):
    kind = "call"

    def __init__(
        self,
        host: Host,
        local_call: int,
        peer: Address,
        now: float,
        retry: RetryPolicy,
        *,
        outgoing: bool,
        formats: list[int],
        ping_interval: float,
    ) -> None:
        super().__init__(host, local_call, peer, now, retry)
        name = f"call {local_call}"
        self.outgoing = outgoing
        self.machine = Machine(
            name,
            TABLE,
            CallState.DIALING if outgoing else CallState.OFFERED,
            remote=REMOTE,
            local_error=CallStateError,
        )
        self.local_hold = local_hold(name)
        self.far_hold = far_hold(name)
        self.crypto = encryption(name, "off")
        self.formats = formats  # our preference order
        self.format = 0  # the codec in use, once chosen
        self.capability = 0
        self.remote_capability = 0
        self.options: CallOptions | None = None
        self.offer = InformationElements()
        self.caller_auth: tuple[CallAuthenticator, str | None, str] | None = None
        self.call_token = b""
        self.authenticated = False
        self.ping_interval = ping_interval
        self.next_ping: float | None = None
        # When the answer to our AUTHREP (ACCEPT or REJECT) is overdue.
        self.authrep_answer_due: float | None = None
        self.ping_sent: dict[int, float] = {}
        self.clock = VoiceClock()
        self.timeline = ReceiveTimeline()
        self.media = MediaCounters()
        # Our view of the far end's voice, pushed in by the media engine (PING/PONG RR IEs).
        self.receiver_report: ReceiverReport | None = None
        self.trunk = False

    # -- state -----------------------------------------------------------------

    @property
    def state(self) -> CallState:
        return self.machine.state

    @property
    def active(self) -> bool:
        return self.machine.state is not CallState.ENDED

    def _fire(self, trigger: CallTrigger, given: _Input) -> None:
        """Run ``trigger`` through the table and carry out the step's action.

        A frame its state does not allow (a late retransmission, frames that
        crossed) is acknowledged and ignored; a command raises.
        """
        try:
            action = self.machine.fire(trigger)
        except RemoteProtocolError as exc:
            log.debug("%s", exc)
            if given.frame is not None and trigger in _ANSWERED:
                self.send_ack(given.frame)
            return
        if action is not None:
            _ACTIONS[action](self, given)

    def _hang_up_locally(self, now: float, cause: str, code: int) -> None:
        self._fire(CallTrigger.HANG_UP, _Input(now, cause=cause, code=code))

    # -- frames ----------------------------------------------------------------

    def handle(self, frame: FullFrame, now: float) -> None:
        if frame.frame_type == FrameType.VOICE:
            self.voice_full(frame, now)
            return
        by_type = FEATURES_BY_TYPE.get(frame.frame_type)
        if by_type is not None:
            by_type(self, frame, now)
            return
        key = (frame.frame_type, frame.subclass)
        trigger = SIGNALS.get(key)
        if trigger is not None:
            if trigger not in _ANSWERED:
                self.send_ack(frame)
            ending = _PEER_ENDINGS.get(trigger)
            if ending is not None:
                given = _Input(now, frame, ending[0], ending[1], by_remote=True)
            else:
                given = _Input(now, frame)
            self._fire(trigger, given)
            return
        handler = _HANDLERS.get(key)
        if handler is None:
            self.ack_unless_answered(frame)
            if frame.frame_type == FrameType.IAX:
                log.debug("call %d: unsupported IAX command %s", self.local_call, frame.subclass)
                self.send_iax(
                    IaxCommand.UNSUPPORT,
                    now,
                    InformationElements(iax_unknown=int(frame.subclass) & 0xFF),
                )
            return
        handler(self, frame, now)

    def _on_duplicate_new(self, frame: FullFrame, now: float) -> None:
        self.send_ack(frame)

    # -- outgoing set-up -------------------------------------------------------------

    def dial(self, options: CallOptions, capability: int, now: float) -> None:
        self.options = options
        self.crypto = encryption(f"call {self.local_call}", options.encryption)
        self._send_new(now, capability)

    def _send_new(self, now: float, capability: int | None = None) -> None:
        assert self.options is not None
        options = self.options
        if capability is not None:
            self.capability = capability
        preferred = self.formats[0] if self.formats else 0
        ies = InformationElements(version=2, called_number=options.number)
        if options.caller_number:
            ies.calling_number = options.caller_number
        if options.caller_name:
            ies.calling_name = options.caller_name
        if options.context:
            ies.called_context = options.context
        if options.username:
            ies.username = options.username
        if options.language:
            ies.language = options.language
        prefs = [fmt for fmt in self.formats if fmt in CODEC_PREF_ORDER]
        if prefs:
            ies.codec_prefs = formats_to_codec_prefs(prefs)
        ies.capability = self.capability & 0xFFFFFFFF
        ies.format = preferred & 0xFFFFFFFF
        ies.capability2 = self.capability
        ies.format2 = preferred
        if options.encryption != "off":
            ies.encryption = AES128 | KEYROTATE
        ies.call_token = self.call_token
        self.send_iax(IaxCommand.NEW, now, ies)

    def on_call_token(self, token: bytes, now: float) -> None:
        """The peer requires a call token: send the NEW again with it (once)."""
        if self.call_token or not self.machine.allows(CallTrigger.CALL_TOKEN):
            return
        self.call_token = token
        self._fire(CallTrigger.CALL_TOKEN, _Input(now))

    def _resend_new(self, given: _Input) -> None:
        self.reliability.forget()
        self.reliability.oseqno = self.reliability.iseqno = 0
        self.remote_call = 0
        self._send_new(given.now)

    def _answer_challenge(self, given: _Input) -> None:
        frame, now = given.frame, given.now
        assert frame is not None and frame.ies is not None
        if self.options is None:
            self.send_ack(frame)  # not ours to answer
            return
        options = self.options
        credentials = None
        if options.secret is not None or options.rsa_private_key is not None:
            credentials = Credentials(
                options.username or "",
                options.secret or "",
                options.allow_plaintext,
                options.rsa_private_key,
            )
        try:
            answer = answer_challenge(frame.ies, credentials)
        except AuthenticationError as exc:
            self.send_ack(frame)
            self._hang_up_locally(now, str(exc), Cause.CALL_REJECTED)
            return
        offered = (frame.ies.encryption or 0) & AES128
        key = bool(offered and frame.ies.challenge and credentials is not None)
        crypto = self.crypto.fire(CryptoTrigger.KEY_OFFERED if key else CryptoTrigger.NO_KEY)
        if crypto is CryptoAction.START_CIPHER:
            assert frame.ies.challenge is not None and credentials is not None
            # Encrypted from here on, starting with our AUTHREP.
            self.cipher = FrameCipher(derive_key(frame.ies.challenge, credentials.secret))
        elif crypto is CryptoAction.REFUSE:
            self.send_ack(frame)
            self._hang_up_locally(now, ENCRYPTION_REFUSED, Cause.FACILITY_REJECTED)
            return
        self.authenticated = True
        self.send_iax(IaxCommand.AUTHREP, now, answer)
        # The AUTHREP being acknowledged is not enough: a PBX that decrypts an
        # AUTHREP made with the wrong secret gets noise, which it may take as
        # an in-order frame, acknowledge and then never answer.
        self.authrep_answer_due = now + self.reliability.policy.give_up_after()

    def _start(self, given: _Input) -> None:
        assert given.frame is not None and given.frame.ies is not None
        ies = given.frame.ies
        chosen = ies.format2 if ies.format2 else (ies.format or 0)
        self.format = chosen or (self.formats[0] if self.formats else 0)
        self.authrep_answer_due = None
        self.next_ping = given.now + self.ping_interval  # keepalive while it rings, too
        if self.crypto.fire(CryptoTrigger.ACCEPTED) is CryptoAction.REFUSE:
            self._hang_up_locally(given.now, ENCRYPTION_REFUSED, Cause.FACILITY_REJECTED)
            return
        self.host.emit(CallAccepted(self.local_call, self.format, self.cipher is not None))

    def _report_proceeding(self, given: _Input) -> None:
        self.host.emit(CallProceeding(self.local_call))

    def _report_ringing(self, given: _Input) -> None:
        self.host.emit(CallRinging(self.local_call))

    def _go_up(self, given: _Input) -> None:
        self.next_ping = given.now + self.ping_interval
        self.host.emit(CallAnswered(self.local_call))

    # -- incoming set-up ---------------------------------------------------------------

    def offered(self, ies: InformationElements) -> None:
        capability = ies.capability2 if ies.capability2 is not None else (ies.capability or 0)
        preferred = ies.format2 if ies.format2 else (ies.format or 0)
        self.remote_capability = capability or preferred
        self.offer = ies

    def announce(self) -> None:
        """Tell the user about the offered call (after authentication, if any)."""
        ies = self.offer
        self.host.emit(
            IncomingCall(
                self.local_call,
                self.peer,
                ies.calling_number,
                ies.calling_name,
                ies.called_number,
                ies.called_context,
                ies.username,
                self.choose_format(),
                bool(ies.auto_answer),
            )
        )

    def _announce(self, given: _Input) -> None:
        self.announce()

    def authenticate_caller(
        self, authenticator: CallAuthenticator, username: str | None, now: float
    ) -> None:
        """Challenge the caller (AUTHREQ); the call is announced once AUTHREP checks out."""
        self.caller_auth = (authenticator, username, authenticator.challenge(self, username, now))

    def _verify_caller(self, given: _Input) -> None:
        frame = given.frame
        assert frame is not None and frame.ies is not None
        if self.caller_auth is None:
            self.send_ack(frame)
            return
        authenticator, username, challenge = self.caller_auth
        self.caller_auth = None
        if authenticator.verify(username, challenge, frame.ies):
            self.send_ack(frame)
            self._fire(CallTrigger.CALLER_VERIFIED, given)
        else:
            self._fire(CallTrigger.CALLER_REFUSED, given)

    def _refuse_caller(self, given: _Input) -> None:
        """A caller that failed our challenge: REJECT; it was never announced, so no event."""
        ies = InformationElements(
            cause="No authority found", cause_code=Cause.FACILITY_NOT_SUBSCRIBED
        )
        self.send_iax(IaxCommand.REJECT, given.now, ies)
        self.close(given.now)

    def choose_format(self) -> int:
        """Our first preference the caller can do; else 0 (no common codec)."""
        for fmt in self.formats:
            if fmt & self.remote_capability:
                return fmt
        return 0

    def accept(self, now: float, fmt: int | None = None) -> None:
        self.machine.check(CallTrigger.ACCEPT_CALL)
        chosen = fmt if fmt is not None else self.choose_format()
        if not chosen:
            self.reject(now, "no common codec", Cause.BEARERCAPABILITY_NOTAVAIL)
            return
        self.format = chosen
        self._fire(CallTrigger.ACCEPT_CALL, _Input(now))

    def _send_accept(self, given: _Input) -> None:
        ies = InformationElements(format=self.format & 0xFFFFFFFF, format2=self.format)
        self.send_iax(IaxCommand.ACCEPT, given.now, ies)
        # A caller that vanishes while we ring (a crash, the network gone) must
        # not leave the phone ringing for ever: PING it, as an answered call.
        self.next_ping = given.now + self.ping_interval
        self.send_full(FrameType.CONTROL, ControlType.RINGING, given.now)

    def answer(self, now: float) -> None:
        self.machine.check(CallTrigger.ANSWER_CALL)
        if self.outgoing:
            raise CallStateError(f"call {self.local_call} is outgoing: the far end answers it")
        self._fire(CallTrigger.ANSWER_CALL, _Input(now))

    def _send_answer(self, given: _Input) -> None:
        self.send_full(FrameType.CONTROL, ControlType.ANSWER, given.now)
        self._go_up(given)

    def reject(
        self, now: float, cause: str = "rejected", cause_code: int = Cause.CALL_REJECTED
    ) -> None:
        self._fire(CallTrigger.REJECT_CALL, _Input(now, cause=cause, code=cause_code))

    def _send_reject(self, given: _Input) -> None:
        ies = InformationElements(cause=given.cause, cause_code=given.code)
        self.send_iax(IaxCommand.REJECT, given.now, ies)
        self._report_end(given.now, given.cause, given.code, by_remote=given.by_remote)

    # -- tear-down -------------------------------------------------------------------

    def hangup(
        self,
        now: float,
        cause: str = "normal clearing",
        cause_code: int = Cause.NORMAL_CLEARING,
        reason_local: bool = True,
    ) -> None:
        given = _Input(now, cause=cause, code=cause_code, by_remote=not reason_local)
        self._fire(CallTrigger.HANG_UP, given)

    def _send_hangup(self, given: _Input) -> None:
        ies = InformationElements(cause=given.cause, cause_code=given.code)
        self.send_iax(IaxCommand.HANGUP, given.now, ies)
        self._report_end(given.now, given.cause, given.code, by_remote=given.by_remote)

    def _report_end(
        self, now: float, cause: str, cause_code: int | None, by_remote: bool, lost: bool = False
    ) -> None:
        self.next_ping = None
        self.authrep_answer_due = None
        self.close(now)
        self.host.emit(CallEnded(self.local_call, cause, cause_code, by_remote, lost))

    def _end_by_hangup(self, given: _Input) -> None:
        assert given.frame is not None and given.frame.ies is not None
        ies = given.frame.ies
        self.reliability.forget()
        self._report_end(given.now, ies.cause or "hung up", ies.cause_code, by_remote=True)

    def _end_by_reject(self, given: _Input) -> None:
        assert given.frame is not None and given.frame.ies is not None
        ies = given.frame.ies
        self.reliability.forget()
        cause = ies.cause or "rejected"
        if (
            self.authenticated
            and self.machine.previous is CallState.DIALING
            and "auth" in cause.lower()
        ):
            cause = f"{cause} (wrong username or password)"
        self._report_end(given.now, cause, ies.cause_code or Cause.CALL_REJECTED, by_remote=True)

    def on_no_answer(self, frame: FullFrame | None, now: float) -> None:
        self._fire(CallTrigger.TIMED_OUT, _Input(now, frame))

    def _end_timed_out(self, given: _Input) -> None:
        was = self.machine.previous
        if was is CallState.DIALING and self.authenticated and self.cipher is not None:
            # A PBX that cannot decrypt our AUTHREP (its key comes from the
            # secret) ignores it: silence here means the secret was wrong.
            cause = "no answer to our encrypted reply: wrong username or password"
            self._report_end(given.now, cause, Cause.FACILITY_NOT_SUBSCRIBED, True)
        else:
            what = "call set-up" if was is CallState.DIALING else "call"
            cause = f"no answer from {self.peer[0]}:{self.peer[1]} ({what} timed out)"
            self._report_end(given.now, cause, Cause.NORMAL_TEMPORARY_FAILURE, True, lost=True)
        self.linger_until = given.now

    def on_invalid(self, now: float) -> None:
        """The peer says this call does not exist (INVAL)."""
        self._fire(CallTrigger.INVALID, _Input(now))

    def _end_invalid(self, given: _Input) -> None:
        self.reliability.forget()
        cause = "the far end no longer knows this call"
        self._report_end(given.now, cause, Cause.NORMAL_TEMPORARY_FAILURE, True)
        self.linger_until = given.now

    def _release(self, given: _Input) -> None:
        self.reliability.forget()
        self.linger_until = given.now

    # -- voice ------------------------------------------------------------------------

    def send_voice(
        self, payload: bytes, duration_ms: int, now: float, fmt: int | None = None
    ) -> bytes | None:
        """Send one voice frame; returns the mini-frame datagram (or None if sent full)."""
        if self.machine.state not in CONNECTED:
            self.machine.check(CallTrigger.SEND_AUDIO)
        fmt = fmt or self.format
        ts, full = self.clock.stamp(self.elapsed_ms(now), self.last_sent_ts + 1, duration_ms, fmt)
        self.media.sent += 1
        if full:
            self.media.full_sent += 1
            self.last_sent_ts = max(self.last_sent_ts, ts)
            self.send_full(FrameType.VOICE, fmt, now, payload=payload, timestamp=ts)
            return None
        if self.trunk and self.cipher is None:
            # Trunk frames are never encrypted (Asterisk sends trunked voice in
            # clear even on encrypted calls); encrypted calls keep mini frames.
            self.host.trunk_voice(self, ts & 0xFFFF, payload, now)
            return None
        data = MiniFrame(self.local_call, ts & 0xFFFF, payload).to_bytes()
        self.send_datagram(data)
        return data

    def voice_full(self, frame: FullFrame, now: float) -> None:
        self.send_ack(frame)
        self.timeline.format = frame.subclass
        self._audio_in(frame.timestamp, frame.payload)

    def voice_mini(self, frame: MiniFrame) -> None:
        if not self.voice_format:
            return  # neither accepted nor a full voice frame yet: we cannot know the codec
        self._audio_in(self.timeline.unwrap(frame.timestamp), frame.payload)

    def voice_trunk(self, timestamp: int, payload: bytes) -> None:
        if self.voice_format:
            self._audio_in(timestamp, payload)

    @property
    def voice_format(self) -> int:
        """The codec of received voice (see :mod:`.voice`)."""
        if self.timeline.format:
            return self.timeline.format
        return self.format if self.machine.state is not CallState.OFFERED else 0

    def _audio_in(self, ts: int, payload: bytes) -> None:
        if self.machine.state is CallState.ENDED:
            return
        if self.timeline.arrived(ts, self.media):
            self.host.emit(AudioReceived(self.local_call, ts, self.voice_format, payload))

    # -- timers -----------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        return earliest(super().next_deadline(), self.next_ping, self.authrep_answer_due)

    def on_timer(self, now: float) -> None:
        if self.authrep_answer_due is not None and now >= self.authrep_answer_due:
            self.reliability.forget()
            self.on_no_answer(None, now)
            return
        self._ping_if_due(now)
        super().on_timer(now)


_HANDLERS: dict[tuple[int, int], Callable[[Call, FullFrame, float], None]] = {
    **FEATURES,
    (FrameType.IAX, IaxCommand.NEW): Call._on_duplicate_new,
}
# One method per action of the table.
_ACTIONS: dict[CallAction, Callable[[Call, _Input], None]] = {
    CallAction.ANSWER_CHALLENGE: Call._answer_challenge,
    CallAction.RESEND_NEW: Call._resend_new,
    CallAction.START: Call._start,
    CallAction.REPORT_PROCEEDING: Call._report_proceeding,
    CallAction.REPORT_RINGING: Call._report_ringing,
    CallAction.GO_UP: Call._go_up,
    CallAction.SEND_ACCEPT: Call._send_accept,
    CallAction.SEND_ANSWER: Call._send_answer,
    CallAction.VERIFY_CALLER: Call._verify_caller,
    CallAction.ANNOUNCE: Call._announce,
    CallAction.REFUSE_CALLER: Call._refuse_caller,
    CallAction.SEND_REJECT: Call._send_reject,
    CallAction.SEND_HANGUP: Call._send_hangup,
    CallAction.END_BY_HANGUP: Call._end_by_hangup,
    CallAction.END_BY_REJECT: Call._end_by_reject,
    CallAction.END_TIMED_OUT: Call._end_timed_out,
    CallAction.END_INVALID: Call._end_invalid,
    CallAction.RELEASE: Call._release,
}

__all__ = ["TRANSITIONS", "Call", "CallOptions", "CallState", "CallStateError"]
