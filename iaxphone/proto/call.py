"""One IAX2 call: set-up, media, in-call signalling and tear-down.

Theory of operation
-------------------
States and the only transitions allowed (:data:`TRANSITIONS`; anything
else raises, and every change is logged as ``call N: A -> B``)::

    outgoing:  DIALING --ACCEPT--> ACCEPTED --RINGING--> RINGING --ANSWER--> UP
               (AUTHREQ is answered in DIALING; PROCEEDING keeps the state)
    incoming:  OFFERED --accept()--> ACCEPTED --answer()--> UP
                       (RINGING goes out with the ACCEPT)
    any      --HANGUP/REJECT/BUSY/CONGESTION/hangup()/no answer--> ENDED

An outgoing NEW asks for a call token (empty CALLTOKEN IE); when the peer
sends one back we send the NEW again with it, sequence numbers restarted.
On the answering side, :mod:`iaxphone.proto.calltoken` makes the caller do
the same before a call exists.

After our AUTHREP, ACCEPT or REJECT must arrive within the retry window
(about 6 s) even when the AUTHREP itself was acknowledged: IAX2 encryption
has no integrity check, so a PBX that decrypts an AUTHREP made with the
wrong secret may take the noise for an in-order frame and then say nothing.

Voice: the first frame, a codec change and every 65.536 s (when the upper
16 bits of the 32-bit timestamp change) go as full VOICE frames, the rest
as 4-byte-header mini frames.  The voice clock advances by each frame's
duration and is pulled back to the wall clock when it drifts by more than
120 ms (after hold, or a stalled sender), so timestamps stay continuous.
Received mini frame timestamps are unwrapped against the last one seen.

Hold is QUELCH with a MUSICONHOLD IE and resume is UNQUELCH, as Asterisk
expects from phones (CONTROL HOLD/UNHOLD from the PBX are reported too).
Quelch, DTMF, text, flash and transfers are the control and IAX frames of
RFC 5456; each is acknowledged and reported as an event.
Every 10 s (configurable) a call sends PING with receiver-report IEs, from
the ACCEPT on (so a peer that vanishes while the call rings is noticed when
the PING's retransmissions run out), and reports the round-trip time from
the PONG; it answers the peer's PING and LAGRQ.
"""

from __future__ import annotations

import enum
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from iaxphone.wire.constants import CODEC_PREF_ORDER, IE, ControlType, FrameType, IaxCommand
from iaxphone.wire.frames import FullFrame, MiniFrame
from iaxphone.wire.ies import InformationElements, formats_to_codec_prefs
from iaxphone.wire.report import ReceiverReport
from iaxphone.wire.seqnum import unwrap_timestamp

from .auth import AuthenticationError, Credentials, answer_challenge
from .crypto import AES128, KEYROTATE, DecryptError, FrameCipher, derive_key
from .events import (
    AudioReceived,
    CallAccepted,
    CallAnswered,
    CallEnded,
    CallProceeding,
    CallRinging,
    ComfortNoise,
    DtmfReceived,
    FlashReceived,
    HoldChanged,
    IncomingCall,
    PeerReport,
    QuelchChanged,
    TextReceived,
    TransferRequested,
)
from .reliability import earliest
from .session import Address, Host, Session

if TYPE_CHECKING:
    from .registrar import CallAuthenticator
    from .reliability import RetryPolicy

log = logging.getLogger("iaxphone.proto")


class CallState(enum.Enum):
    DIALING = "dialing"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    RINGING = "ringing"
    UP = "up"
    ENDED = "ended"


TRANSITIONS: dict[CallState, frozenset[CallState]] = {
    CallState.DIALING: frozenset({CallState.ACCEPTED, CallState.ENDED}),
    CallState.OFFERED: frozenset({CallState.ACCEPTED, CallState.ENDED}),
    CallState.ACCEPTED: frozenset({CallState.RINGING, CallState.UP, CallState.ENDED}),
    CallState.RINGING: frozenset({CallState.UP, CallState.ENDED}),
    CallState.UP: frozenset({CallState.ENDED}),
    CallState.ENDED: frozenset(),
}
# States in which the call is PINGed every ping_interval: from ACCEPT on, so a
# peer that disappears while the call rings is noticed too.
_PINGED = frozenset({CallState.ACCEPTED, CallState.RINGING, CallState.UP})


class CallStateError(Exception):
    """A command that the call's state does not allow (a local mistake)."""


# Q.931 causes used here.
CAUSE_NORMAL = 16
CAUSE_BUSY = 17
CAUSE_NO_ANSWER = 19
CAUSE_REJECTED = 21
CAUSE_CONGESTION = 34
CAUSE_TEMPORARY_FAILURE = 41
CAUSE_BEARER_NOT_AVAILABLE = 58
CAUSE_FACILITY_REJECTED = 29
CAUSE_FACILITY_NOT_SUBSCRIBED = 50

ENCRYPTION_REFUSED = "encryption required but the far end would not encrypt"

MS_PER_SAMPLE_CLOCK_DRIFT = 120


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


@dataclass(slots=True)
class MediaCounters:
    """What the protocol layer itself counts about a call's voice."""

    sent: int = 0
    received: int = 0
    full_sent: int = 0
    out_of_order: int = 0
    duplicates: int = 0


class Call(Session):
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
        self.outgoing = outgoing
        self.state = CallState.DIALING if outgoing else CallState.OFFERED
        self.formats = formats  # our preference order
        self.format = 0  # the codec in use, once chosen
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
        self.local_hold = False
        self.remote_hold = False
        self.quelched = False
        # Voice clock (what we send) and receive timeline.
        self.voice_ts: int | None = None
        self.voice_next_due = 0
        self.last_full_voice_ts: int | None = None
        self.last_voice_format = 0
        self.rx_last_ts = 0
        self.rx_format = 0
        self.rx_recent: deque[int] = deque(maxlen=16)
        self.media = MediaCounters()
        # Our view of the far end's voice, pushed in by the media engine (PING/PONG RR IEs).
        self.receiver_report: ReceiverReport | None = None
        self.trunk = False
        self._handlers: dict[tuple[int, int], Callable[[FullFrame, float], None]] = {
            (FrameType.IAX, IaxCommand.AUTHREQ): self._on_authreq,
            (FrameType.IAX, IaxCommand.AUTHREP): self._on_authrep,
            (FrameType.IAX, IaxCommand.ACCEPT): self._on_accept,
            (FrameType.IAX, IaxCommand.HANGUP): self._on_hangup,
            (FrameType.IAX, IaxCommand.REJECT): self._on_reject,
            (FrameType.IAX, IaxCommand.PING): self._on_ping,
            (FrameType.IAX, IaxCommand.PONG): self._on_pong,
            (FrameType.IAX, IaxCommand.LAGRQ): self._on_lagrq,
            (FrameType.IAX, IaxCommand.LAGRP): self._on_lagrp,
            (FrameType.IAX, IaxCommand.QUELCH): self._on_quelch,
            (FrameType.IAX, IaxCommand.UNQUELCH): self._on_quelch,
            (FrameType.IAX, IaxCommand.TRANSFER): self._on_transfer,
            (FrameType.IAX, IaxCommand.TXREQ): self._on_txreq,
            (FrameType.IAX, IaxCommand.RTKEY): self._on_rtkey,
            (FrameType.IAX, IaxCommand.TXREJ): self._on_refusal,
            (FrameType.IAX, IaxCommand.UNSUPPORT): self._on_refusal,
            (FrameType.IAX, IaxCommand.NEW): self._on_duplicate_new,
            (FrameType.CONTROL, ControlType.PROCEEDING): self._on_proceeding,
            (FrameType.CONTROL, ControlType.RINGING): self._on_ringing,
            (FrameType.CONTROL, ControlType.ANSWER): self._on_answer,
            (FrameType.CONTROL, ControlType.BUSY): self._on_busy,
            (FrameType.CONTROL, ControlType.CONGESTION): self._on_congestion,
            (FrameType.CONTROL, ControlType.HOLD): self._on_hold,
            (FrameType.CONTROL, ControlType.UNHOLD): self._on_hold,
            (FrameType.CONTROL, ControlType.FLASH): self._on_flash,
        }

    # -- state -----------------------------------------------------------------

    def set_state(self, new: CallState) -> None:
        if new is self.state:
            return
        if new not in TRANSITIONS[self.state]:
            raise CallStateError(
                f"call {self.local_call}: illegal transition {self.state.value} -> {new.value}"
            )
        log.info("call %d: %s -> %s", self.local_call, self.state.value, new.value)
        self.state = new

    def require(self, *states: CallState, action: str) -> None:
        if self.state not in states:
            raise CallStateError(
                f"cannot {action} call {self.local_call}: it is {self.state.value}"
            )

    @property
    def active(self) -> bool:
        return self.state is not CallState.ENDED

    # -- outgoing set-up -------------------------------------------------------------

    def dial(self, options: CallOptions, capability: int, now: float) -> None:
        self.options = options
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
        """The peer requires a call token: send the NEW again with it."""
        if self.state is not CallState.DIALING or self.call_token:
            return
        self.call_token = token
        self.reliability.forget()
        self.reliability.oseqno = self.reliability.iseqno = 0
        self.remote_call = 0
        self._send_new(now)

    def _on_duplicate_new(self, frame: FullFrame, now: float) -> None:
        self.send_ack(frame)

    def _on_authreq(self, frame: FullFrame, now: float) -> None:
        assert frame.ies is not None
        if self.options is None or self.state is not CallState.DIALING:
            self.send_ack(frame)  # not ours to answer: an incoming call, or too late
            return
        credentials = None
        if self.options.secret is not None or self.options.rsa_private_key is not None:
            credentials = Credentials(
                self.options.username or "",
                self.options.secret or "",
                self.options.allow_plaintext,
                self.options.rsa_private_key,
            )
        try:
            answer = answer_challenge(frame.ies, credentials)
        except AuthenticationError as exc:
            self.send_ack(frame)
            self.hangup(now, cause=str(exc), cause_code=CAUSE_REJECTED, reason_local=True)
            return
        offered = frame.ies.encryption or 0
        if (
            self.options.encryption != "off"
            and offered & AES128
            and frame.ies.challenge
            and credentials is not None
        ):
            # Encrypted from here on, starting with our AUTHREP.
            self.cipher = FrameCipher(derive_key(frame.ies.challenge, credentials.secret))
        elif self.options.encryption == "required":
            self.send_ack(frame)
            self.hangup(now, ENCRYPTION_REFUSED, CAUSE_FACILITY_REJECTED, reason_local=True)
            return
        self.authenticated = True
        self.send_iax(IaxCommand.AUTHREP, now, answer)
        # The AUTHREP being acknowledged is not enough: a PBX that decrypts an
        # AUTHREP made with the wrong secret gets noise, which it may take as
        # an in-order frame, acknowledge and then never answer.
        self.authrep_answer_due = now + self.reliability.policy.give_up_after()

    def _on_accept(self, frame: FullFrame, now: float) -> None:
        assert frame.ies is not None
        self.send_ack(frame)
        if self.state is not CallState.DIALING:
            return
        ies = frame.ies
        chosen = ies.format2 if ies.format2 else (ies.format or 0)
        self.format = chosen or (self.formats[0] if self.formats else 0)
        self.authrep_answer_due = None
        self.set_state(CallState.ACCEPTED)
        self.next_ping = now + self.ping_interval  # keepalive while it rings, too
        if (
            self.cipher is None
            and self.options is not None
            and self.options.encryption == "required"
        ):
            self.hangup(now, ENCRYPTION_REFUSED, CAUSE_FACILITY_REJECTED, reason_local=True)
            return
        self.host.emit(CallAccepted(self.local_call, self.format, self.cipher is not None))

    def _on_proceeding(self, frame: FullFrame, now: float) -> None:
        self.send_ack(frame)
        self.host.emit(CallProceeding(self.local_call))

    def _on_ringing(self, frame: FullFrame, now: float) -> None:
        self.send_ack(frame)
        if self.state is CallState.ACCEPTED:
            self.set_state(CallState.RINGING)
            self.host.emit(CallRinging(self.local_call))

    def _on_answer(self, frame: FullFrame, now: float) -> None:
        self.send_ack(frame)
        if self.state in (CallState.ACCEPTED, CallState.RINGING):
            self._go_up(now)

    def _go_up(self, now: float) -> None:
        self.set_state(CallState.UP)
        self.next_ping = now + self.ping_interval
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

    def authenticate_caller(
        self, authenticator: CallAuthenticator, username: str | None, now: float
    ) -> None:
        """Challenge the caller (AUTHREQ); the call is announced once AUTHREP checks out."""
        self.caller_auth = (authenticator, username, authenticator.challenge(self, username, now))

    def _on_authrep(self, frame: FullFrame, now: float) -> None:
        assert frame.ies is not None
        if self.caller_auth is None or self.state is not CallState.OFFERED:
            self.send_ack(frame)
            return
        authenticator, username, challenge = self.caller_auth
        self.caller_auth = None
        if authenticator.verify(username, challenge, frame.ies):
            self.send_ack(frame)
            self.announce()
            return
        self.send_iax(
            IaxCommand.REJECT, now, InformationElements(cause="No authority found", cause_code=50)
        )
        self.set_state(CallState.ENDED)
        self.close(now)

    def choose_format(self) -> int:
        """Our first preference the caller can do; else 0 (no common codec)."""
        for fmt in self.formats:
            if fmt & self.remote_capability:
                return fmt
        return 0

    def accept(self, now: float, fmt: int | None = None) -> None:
        self.require(CallState.OFFERED, action="accept")
        chosen = fmt if fmt is not None else self.choose_format()
        if not chosen:
            self.reject(now, "no common codec", CAUSE_BEARER_NOT_AVAILABLE)
            return
        self.format = chosen
        ies = InformationElements(format=chosen & 0xFFFFFFFF, format2=chosen)
        self.send_iax(IaxCommand.ACCEPT, now, ies)
        self.set_state(CallState.ACCEPTED)
        # A caller that vanishes while we ring (a crash, the network gone) must
        # not leave the phone ringing for ever: PING it, as an answered call.
        self.next_ping = now + self.ping_interval
        self.send_full(FrameType.CONTROL, ControlType.RINGING, now)

    def answer(self, now: float) -> None:
        self.require(CallState.ACCEPTED, CallState.RINGING, action="answer")
        if self.outgoing:
            raise CallStateError(f"call {self.local_call} is outgoing: the far end answers it")
        self.send_full(FrameType.CONTROL, ControlType.ANSWER, now)
        self._go_up(now)

    def reject(self, now: float, cause: str = "rejected", cause_code: int = CAUSE_REJECTED) -> None:
        self.require(CallState.OFFERED, action="reject")
        ies = InformationElements(cause=cause, cause_code=cause_code)
        self.send_iax(IaxCommand.REJECT, now, ies)
        self._ended(now, cause, cause_code, by_remote=False)

    # -- tear-down -------------------------------------------------------------------

    def hangup(
        self,
        now: float,
        cause: str = "normal clearing",
        cause_code: int = CAUSE_NORMAL,
        reason_local: bool = True,
    ) -> None:
        if not self.active:
            return
        if self.state is CallState.OFFERED:
            self.reject(now, cause, cause_code)
            return
        ies = InformationElements(cause=cause, cause_code=cause_code)
        self.send_iax(IaxCommand.HANGUP, now, ies)
        self._ended(now, cause, cause_code, by_remote=not reason_local)

    def _ended(self, now: float, cause: str, cause_code: int | None, by_remote: bool) -> None:
        if not self.active:
            return
        self.set_state(CallState.ENDED)
        self.next_ping = None
        self.authrep_answer_due = None
        self.close(now)
        self.host.emit(CallEnded(self.local_call, cause, cause_code, by_remote))

    def _on_hangup(self, frame: FullFrame, now: float) -> None:
        assert frame.ies is not None
        self.send_ack(frame)
        self.reliability.forget()
        self._ended(now, frame.ies.cause or "hung up", frame.ies.cause_code, by_remote=True)

    def _on_reject(self, frame: FullFrame, now: float) -> None:
        assert frame.ies is not None
        self.send_ack(frame)
        self.reliability.forget()
        cause = frame.ies.cause or "rejected"
        if self.authenticated and self.state is CallState.DIALING and "auth" in cause.lower():
            cause = f"{cause} (wrong username or password)"
        self._ended(now, cause, frame.ies.cause_code or CAUSE_REJECTED, by_remote=True)

    def _on_busy(self, frame: FullFrame, now: float) -> None:
        self.send_ack(frame)
        self.hangup(now, "busy", CAUSE_BUSY, reason_local=False)

    def _on_congestion(self, frame: FullFrame, now: float) -> None:
        self.send_ack(frame)
        self.hangup(now, "congestion", CAUSE_CONGESTION, reason_local=False)

    def on_no_answer(self, frame: FullFrame | None, now: float) -> None:
        if self.state is CallState.DIALING and self.authenticated and self.cipher is not None:
            # A PBX that cannot decrypt our AUTHREP (its key comes from the
            # secret) ignores it: silence here means the secret was wrong.
            self._ended(
                now,
                "no answer to our encrypted reply: wrong username or password",
                CAUSE_FACILITY_NOT_SUBSCRIBED,
                True,
            )
            self.linger_until = now
            return
        what = "call set-up" if self.state is CallState.DIALING else "call"
        self._ended(
            now,
            f"no answer from {self.peer[0]}:{self.peer[1]} ({what} timed out)",
            CAUSE_TEMPORARY_FAILURE,
            True,
        )
        self.linger_until = now

    def on_invalid(self, now: float) -> None:
        """The peer says this call does not exist (INVAL)."""
        self.reliability.forget()
        self._ended(now, "the far end no longer knows this call", CAUSE_TEMPORARY_FAILURE, True)
        self.linger_until = now

    # -- in-call commands ----------------------------------------------------------------

    def _require_connected(self, action: str) -> None:
        self.require(CallState.ACCEPTED, CallState.RINGING, CallState.UP, action=action)

    def send_dtmf(self, digit: str, now: float, begin: bool = False) -> None:
        self._require_connected("send DTMF on")
        if len(digit) != 1 or digit.upper() not in "0123456789*#ABCD":
            raise ValueError(f"not a DTMF digit: {digit!r}")
        frame_type = FrameType.DTMF_BEGIN if begin else FrameType.DTMF_END
        self.send_full(frame_type, ord(digit.upper()), now)

    def hold(self, now: float, music_class: str | None = None) -> None:
        """Put the far end on hold the way Asterisk expects from a phone.

        QUELCH with a MUSICONHOLD IE: Asterisk stops sending us audio, plays
        music to the other party and raises its Hold event (a bare CONTROL
        HOLD frame only reaches the bridge).
        """
        self.require(CallState.UP, action="hold")
        self.local_hold = True
        self.send_iax(IaxCommand.QUELCH, now, InformationElements(music_on_hold=music_class or ""))

    def unhold(self, now: float) -> None:
        self.require(CallState.UP, action="resume")
        self.local_hold = False
        self.send_iax(IaxCommand.UNQUELCH, now)

    def send_text(self, text: str, now: float) -> None:
        self._require_connected("send text on")
        self.send_full(FrameType.TEXT, 0, now, payload=text.encode() + b"\0")

    def flash(self, now: float) -> None:
        self.require(CallState.UP, action="flash")
        self.send_full(FrameType.CONTROL, ControlType.FLASH, now)

    def quelch(self, now: float, on: bool) -> None:
        self.require(CallState.UP, action="quelch")
        self.send_iax(IaxCommand.QUELCH if on else IaxCommand.UNQUELCH, now)

    def blind_transfer(self, number: str, now: float, context: str | None = None) -> None:
        """Ask the PBX to transfer the far end to ``number`` (IAX TRANSFER)."""
        self.require(CallState.UP, action="transfer")
        ies = InformationElements(called_number=number)
        if context:
            ies.called_context = context
        self.send_iax(IaxCommand.TRANSFER, now, ies)

    # -- voice ------------------------------------------------------------------------

    def send_voice(
        self, payload: bytes, duration_ms: int, now: float, fmt: int | None = None
    ) -> bytes | None:
        """Send one voice frame; returns the mini-frame datagram (or None if sent full)."""
        self._require_connected("send audio on")
        fmt = fmt or self.format
        elapsed = self.elapsed_ms(now)
        if self.voice_ts is None or abs(self.voice_next_due - elapsed) > MS_PER_SAMPLE_CLOCK_DRIFT:
            ts = max(elapsed, self.last_sent_ts + 1)
        else:
            ts = self.voice_next_due
        ts &= 0xFFFFFFFF
        self.voice_ts = ts
        self.voice_next_due = ts + duration_ms
        self.media.sent += 1
        needs_full = (
            self.last_full_voice_ts is None
            or fmt != self.last_voice_format
            or (ts >> 16) != (self.last_full_voice_ts >> 16)
        )
        if needs_full:
            self.last_full_voice_ts = ts
            self.last_voice_format = fmt
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
        self.rx_format = frame.subclass
        self._audio_in(frame.timestamp, frame.payload)

    def voice_mini(self, frame: MiniFrame) -> None:
        if not self.voice_format:
            return  # neither accepted nor a full voice frame yet: we cannot know the codec
        ts = unwrap_timestamp(self.rx_last_ts, frame.timestamp)
        self._audio_in(ts, frame.payload)

    def voice_trunk(self, timestamp: int, payload: bytes) -> None:
        if self.voice_format:
            self._audio_in(timestamp, payload)

    @property
    def voice_format(self) -> int:
        """The codec of received voice: the last full voice frame's, else the accepted one.

        The first full voice frame can be lost for good (Asterisk gives up
        retransmitting it after a few tries inside one loss burst); mini
        frames must still play, in the codec the ACCEPT named.
        """
        return self.rx_format or (self.format if self.state is not CallState.OFFERED else 0)

    def _audio_in(self, ts: int, payload: bytes) -> None:
        if self.state is CallState.ENDED:
            return
        if ts in self.rx_recent:
            self.media.duplicates += 1  # a copy the network made: deliver once
            return
        self.rx_recent.append(ts)
        if ts < self.rx_last_ts:
            self.media.out_of_order += 1
        else:
            self.rx_last_ts = ts
        self.media.received += 1
        self.host.emit(AudioReceived(self.local_call, ts, self.voice_format, payload))

    # -- in-call frames received ----------------------------------------------------------

    def handle(self, frame: FullFrame, now: float) -> None:
        if frame.frame_type == FrameType.VOICE:
            self.voice_full(frame, now)
            return
        if frame.frame_type in (FrameType.DTMF_BEGIN, FrameType.DTMF_END):
            self.send_ack(frame)
            digit = chr(frame.subclass) if 0 < frame.subclass < 128 else "?"
            ended = frame.frame_type == FrameType.DTMF_END
            self.host.emit(DtmfReceived(self.local_call, digit, ended, frame.timestamp))
            return
        if frame.frame_type == FrameType.CNG:
            self.send_ack(frame)
            level = frame.payload[0] & 0x7F if frame.payload else 127
            self.host.emit(ComfortNoise(self.local_call, level))
            return
        if frame.frame_type == FrameType.TEXT:
            self.send_ack(frame)
            text = frame.payload.rstrip(b"\0").decode("utf-8", "replace")
            self.host.emit(TextReceived(self.local_call, text))
            return
        handler = self._handlers.get((frame.frame_type, frame.subclass))
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
        handler(frame, now)

    def _on_hold(self, frame: FullFrame, now: float) -> None:
        self.send_ack(frame)
        held = frame.subclass == ControlType.HOLD
        self.remote_hold = held
        music = frame.payload.rstrip(b"\0").decode("utf-8", "replace") or None
        self.host.emit(HoldChanged(self.local_call, held, music if held else None))

    def _on_quelch(self, frame: FullFrame, now: float) -> None:
        """QUELCH (+MUSICONHOLD: we are on hold) or UNQUELCH (resume)."""
        assert frame.ies is not None
        self.send_ack(frame)
        quelched = frame.subclass == IaxCommand.QUELCH
        self.quelched = quelched
        if quelched and frame.ies.music_on_hold is not None:
            self.remote_hold = True
            self.host.emit(HoldChanged(self.local_call, True, frame.ies.music_on_hold or None))
        elif not quelched and self.remote_hold:
            self.remote_hold = False
            self.host.emit(HoldChanged(self.local_call, False))
        else:
            self.host.emit(QuelchChanged(self.local_call, quelched))

    def _on_flash(self, frame: FullFrame, now: float) -> None:
        self.send_ack(frame)
        self.host.emit(FlashReceived(self.local_call))

    def _on_transfer(self, frame: FullFrame, now: float) -> None:
        assert frame.ies is not None
        self.send_ack(frame)
        self.host.emit(
            TransferRequested(
                self.local_call, frame.ies.called_number or "", frame.ies.called_context
            )
        )

    def _on_refusal(self, frame: FullFrame, now: float) -> None:
        """UNSUPPORT / TXREJ: the peer declined something we sent; note it, never answer in kind."""
        self.send_ack(frame)
        log.debug("call %d: peer refused with %s", self.local_call, frame.subclass)

    def _on_rtkey(self, frame: FullFrame, now: float) -> None:
        """The peer rotated its key: decrypt with the one in CHALLENGE from now on."""
        self.send_ack(frame)
        if self.cipher is None or frame.ies is None:
            return
        raw = next((value for ie, value in frame.ies.items if ie == IE.CHALLENGE), b"")
        try:
            self.cipher.rotate_receive_key(raw)
        except DecryptError as exc:
            log.warning("call %d: %s", self.local_call, exc)

    def _on_txreq(self, frame: FullFrame, now: float) -> None:
        # Native (media path) transfer is refused: media stays through the PBX.
        self.send_iax(IaxCommand.TXREJ, now)

    # -- link quality -----------------------------------------------------------------

    def _report_ies(self) -> InformationElements:
        report = self.receiver_report or ReceiverReport(
            packets=self.media.received, out_of_order=self.media.out_of_order
        )
        return report.to_ies()

    def _on_ping(self, frame: FullFrame, now: float) -> None:
        self.send_iax(IaxCommand.PONG, now, self._report_ies(), timestamp=frame.timestamp)

    def _on_pong(self, frame: FullFrame, now: float) -> None:
        assert frame.ies is not None
        self.send_ack(frame)
        sent = self.ping_sent.pop(frame.timestamp, None)
        rtt = round((now - sent) * 1000) if sent is not None else None
        self.host.emit(PeerReport(self.local_call, rtt, ReceiverReport.from_ies(frame.ies)))

    def _on_lagrq(self, frame: FullFrame, now: float) -> None:
        self.send_iax(IaxCommand.LAGRP, now, timestamp=frame.timestamp)

    def _on_lagrp(self, frame: FullFrame, now: float) -> None:
        self.send_ack(frame)
        sent = self.ping_sent.pop(frame.timestamp, None)
        if sent is not None:
            self.host.emit(PeerReport(self.local_call, round((now - sent) * 1000)))

    def next_deadline(self) -> float | None:
        return earliest(super().next_deadline(), self.next_ping, self.authrep_answer_due)

    def on_timer(self, now: float) -> None:
        if self.authrep_answer_due is not None and now >= self.authrep_answer_due:
            self.reliability.forget()
            self.on_no_answer(None, now)
            return
        if self.next_ping is not None and now >= self.next_ping and self.state in _PINGED:
            frame = self.send_iax(IaxCommand.PING, now, self._report_ies())
            self.ping_sent[frame.timestamp] = now
            if len(self.ping_sent) > 8:
                self.ping_sent.pop(next(iter(self.ping_sent)))
            self.next_ping = now + self.ping_interval
        super().on_timer(now)
