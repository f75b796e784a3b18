"""One IAX2 call: its state table run on frames, timers and commands; tear-down; voice.

Theory of operation
-------------------
A :class:`Call` runs its state table (:mod:`.callstate`): each signalling
frame, timeout and command is a trigger, and every action of the table
is one method (:data:`_ACTIONS`).  A frame that is not signalling goes to
the handler table of the in-call features.  The call's jobs live in one
module each:

* :mod:`.callsetup`: the NEW and its call token, authentication both
  ways, ACCEPT and ANSWER;
* this module: dispatch, tear-down (HANGUP, REJECT, BUSY, CONGESTION,
  timeouts, INVAL) and the voice path;
* :mod:`.callfeatures`: in-call commands and frames (DTMF, text, hold,
  quelch, flash, transfer) and the link reports (PING/PONG, LAGRQ);
* :mod:`.voice`: the voice clock we send on and the receive timeline;
* :mod:`.hold` and :mod:`.encryption`: the hold and encryption
  sub-machines.

Ending: the call reports :class:`~.events.CallEnded` once, with the cause
text and Q.931 code (:class:`~iaxphone.wire.constants.Cause`) and who
ended it, then lingers to acknowledge the peer's retransmissions (or is
released at once when the peer is gone).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from iaxphone.wire.constants import (
    Cause,
    ControlType,
    FrameType,
    IaxCommand,
    cause_of,
)
from iaxphone.wire.frames import FullFrame, MiniFrame
from iaxphone.wire.ies import InformationElements
from iaxphone.wire.report import ReceiverReport

from .callfeatures import FEATURES, FEATURES_BY_TYPE
from .callsetup import ANSWERED, ENCRYPTION_REFUSED, ActionInput, CallOptions, CallSetup
from .callstate import (
    CONNECTED,
    REMOTE,
    TABLE,
    CallAction,
    CallState,
    CallStateError,
    CallTrigger,
)
from .encryption import encryption
from .events import (
    AudioReceived,
    CallEnded,
    EndReason,
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
# The far end's refusals that we answer with a HANGUP of our own.
_PEER_ENDINGS = {
    CallTrigger.BUSY: ("busy", Cause.USER_BUSY),
    CallTrigger.CONGESTION: ("congestion", Cause.NORMAL_CIRCUIT_CONGESTION),
}


class Call(CallSetup):
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
            if trigger not in ANSWERED:
                self.send_ack(frame)
            ending = _PEER_ENDINGS.get(trigger)
            if ending is not None:
                given = ActionInput(now, frame, ending[0], ending[1], by_remote=True)
            else:
                given = ActionInput(now, frame)
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

    def reject(
        self, now: float, cause: str = "rejected", cause_code: int = Cause.CALL_REJECTED
    ) -> None:
        self._fire(CallTrigger.REJECT_CALL, ActionInput(now, cause=cause, code=cause_code))

    def _send_reject(self, given: ActionInput) -> None:
        ies = InformationElements(cause=given.cause, cause_code=given.code)
        self.send_iax(IaxCommand.REJECT, given.now, ies)
        self._report_end(given.now, given.cause, given.code, given.by_remote, reason=given.reason)

    # -- tear-down -------------------------------------------------------------------

    def hangup(
        self,
        now: float,
        cause: str = "normal clearing",
        cause_code: int = Cause.NORMAL_CLEARING,
        reason_local: bool = True,
    ) -> None:
        given = ActionInput(now, cause=cause, code=cause_code, by_remote=not reason_local)
        self._fire(CallTrigger.HANG_UP, given)

    def _send_hangup(self, given: ActionInput) -> None:
        ies = InformationElements(cause=given.cause, cause_code=given.code)
        self.send_iax(IaxCommand.HANGUP, given.now, ies)
        self._report_end(given.now, given.cause, given.code, given.by_remote, reason=given.reason)

    def _report_end(
        self,
        now: float,
        cause: str,
        cause_code: int | None,
        by_remote: bool,
        lost: bool = False,
        reason: EndReason = EndReason.CLEARED,
    ) -> None:
        self.next_ping = None
        self.authrep_answer_due = None
        self.close(now)
        self.host.emit(CallEnded(self.local_call, cause, cause_code, by_remote, lost, reason))

    def _end_by_hangup(self, given: ActionInput) -> None:
        assert given.frame is not None and given.frame.ies is not None
        ies = given.frame.ies
        self.reliability.forget()
        cause = ies.cause or "hung up"
        self._report_end(given.now, cause, cause_of(ies.cause_code), by_remote=True)

    def _end_by_reject(self, given: ActionInput) -> None:
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
            reason = EndReason.WRONG_SECRET
        else:
            reason = EndReason.CLEARED
        code = cause_of(ies.cause_code) or Cause.CALL_REJECTED
        self._report_end(given.now, cause, code, by_remote=True, reason=reason)

    def on_no_answer(self, frame: FullFrame | None, now: float) -> None:
        self._fire(CallTrigger.TIMED_OUT, ActionInput(now, frame))

    def _end_timed_out(self, given: ActionInput) -> None:
        was = self.machine.previous
        if was is CallState.DIALING and self.authenticated and self.cipher is not None:
            # A PBX that cannot decrypt our AUTHREP (its key comes from the
            # secret) ignores it: silence here means the secret was wrong.
            cause = "wrong username or password (the PBX ignored our encrypted answer)"
            self._report_end(
                given.now, cause, Cause.FACILITY_NOT_SUBSCRIBED, True, reason=EndReason.WRONG_SECRET
            )
        else:
            what = "call set-up" if was is CallState.DIALING else "call"
            cause = f"no answer from {self.peer[0]}:{self.peer[1]} ({what} timed out)"
            self._report_end(
                given.now,
                cause,
                Cause.NORMAL_TEMPORARY_FAILURE,
                True,
                lost=True,
                reason=EndReason.NO_ANSWER,
            )
        self.linger_until = given.now

    def on_invalid(self, now: float) -> None:
        """The peer says this call does not exist (INVAL)."""
        self._fire(CallTrigger.INVALID, ActionInput(now))

    def _end_invalid(self, given: ActionInput) -> None:
        self.reliability.forget()
        cause = "the far end no longer knows this call"
        reason = EndReason.FORGOTTEN
        self._report_end(given.now, cause, Cause.NORMAL_TEMPORARY_FAILURE, True, reason=reason)
        self.linger_until = given.now

    def _release(self, given: ActionInput) -> None:
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
_ACTIONS: dict[CallAction, Callable[[Any, ActionInput], None]] = {
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

Call.ACTIONS = _ACTIONS

__all__ = [
    "ENCRYPTION_REFUSED",
    "TRANSITIONS",
    "Call",
    "CallOptions",
    "CallState",
    "CallStateError",
]
