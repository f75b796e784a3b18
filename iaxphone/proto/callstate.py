"""The call state machine, as data.

Theory of operation
-------------------
A call is in one of six states.  What moves it is a *trigger*: a frame from
the peer (remote), a timer, or a command from our user (local).  The table
:data:`TABLE` maps every legal (state, trigger) pair to the next state and
the *action* the call carries out on the way (:class:`CallAction`; the call
has one method per action).  A pair that is not in the table is illegal:
a command raises :class:`CallStateError` (a :class:`LocalProtocolError`)
naming the call and its state; a frame that does not fit the state (a late
retransmission, frames that crossed) is acknowledged and ignored::

    outgoing:  DIALING --ACCEPT--> ACCEPTED --RINGING--> RINGING --ANSWER--> UP
               (AUTHREQ is answered and CALLTOKEN restarts the NEW in DIALING;
                PROCEEDING keeps the state)
    incoming:  OFFERED --accept--> ACCEPTED --answer--> UP
               (AUTHREP is checked in OFFERED: the call is announced, or refused;
                RINGING goes out with the ACCEPT)
    any but ENDED --HANGUP/REJECT/BUSY/CONGESTION/hang up/timeout/INVAL--> ENDED
    OFFERED --reject or hang up--> ENDED (REJECT goes out)

ENDED is final; a timeout or INVAL there only releases the call at once.
In-call commands (DTMF, text, voice: from ACCEPTED on; hold, resume, flash,
quelch, transfer: UP only) are self-loops with no action, so the table is
also the one list of what may be done when.  Hold (both directions) and
encryption are sub-machines of their own (:mod:`.hold`, :mod:`.encryption`).
Frames that never change the call's state (PING, LAGRQ, DTMF, TEXT, CNG,
QUELCH, TRANSFER ...) are handled in any state and are not in this table.
"""

from __future__ import annotations

import enum

from iaxphone.errors import LocalProtocolError

from .machine import Step


class CallState(enum.Enum):
    DIALING = "dialing"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    RINGING = "ringing"
    UP = "up"
    ENDED = "ended"


class CallTrigger(enum.Enum):
    """What moves a call; the value reads in "cannot <value> call N: it is <state>"."""

    # remote: frames and timers
    AUTHREQ = "AUTHREQ"
    AUTHREP = "AUTHREP"
    CALL_TOKEN = "CALLTOKEN"
    ACCEPT = "ACCEPT"
    PROCEEDING = "PROCEEDING"
    RINGING = "RINGING"
    ANSWER = "ANSWER"
    HANGUP = "HANGUP"
    REJECT = "REJECT"
    BUSY = "BUSY"
    CONGESTION = "CONGESTION"
    TIMED_OUT = "time out"
    INVALID = "INVAL"
    # local: commands and our own decisions
    ACCEPT_CALL = "accept"
    ANSWER_CALL = "answer"
    REJECT_CALL = "reject"
    HANG_UP = "hang up"
    CALLER_VERIFIED = "announce"
    CALLER_REFUSED = "refuse the caller of"
    SEND_AUDIO = "send audio on"
    SEND_DTMF = "send DTMF on"
    SEND_TEXT = "send text on"
    HOLD = "hold"
    UNHOLD = "resume"
    FLASH = "flash"
    QUELCH = "quelch"
    TRANSFER = "transfer"


class CallAction(enum.Enum):
    ANSWER_CHALLENGE = "answer the challenge (AUTHREP)"
    RESEND_NEW = "send the NEW again with the token"
    START = "take the codec, start pinging, report CallAccepted"
    REPORT_PROCEEDING = "report CallProceeding"
    REPORT_RINGING = "report CallRinging"
    GO_UP = "start pinging, report CallAnswered"
    SEND_ACCEPT = "send ACCEPT and RINGING, start pinging"
    SEND_ANSWER = "send ANSWER, start pinging, report CallAnswered"
    VERIFY_CALLER = "check the AUTHREP"
    ANNOUNCE = "report IncomingCall"
    REFUSE_CALLER = "send REJECT (no authority), unannounced"
    SEND_REJECT = "send REJECT, report CallEnded"
    SEND_HANGUP = "send HANGUP, report CallEnded"
    END_BY_HANGUP = "report CallEnded with the peer's cause"
    END_BY_REJECT = "report CallEnded with the peer's rejection"
    END_TIMED_OUT = "report CallEnded (no answer), release"
    END_INVALID = "report CallEnded (unknown to the peer), release"
    RELEASE = "release at once"


class CallStateError(LocalProtocolError):
    """A command that the call's state does not allow (a local mistake)."""


_S, _T, _A = CallState, CallTrigger, CallAction
LIVE = (_S.DIALING, _S.OFFERED, _S.ACCEPTED, _S.RINGING, _S.UP)
CONNECTED = (_S.ACCEPTED, _S.RINGING, _S.UP)  # voice, DTMF and text may flow
PINGED = frozenset(CONNECTED)  # PINGed from the ACCEPT on, so a vanished peer is noticed


_Entries = dict[tuple[CallState, CallTrigger], Step[CallState, CallAction]]


def _in(
    states: tuple[CallState, ...], trigger: CallTrigger, action: CallAction | None = None
) -> _Entries:
    """``trigger`` allowed in each of ``states``, which it leaves as they are."""
    return {(state, trigger): Step(state, action) for state in states}


def _end(states: tuple[CallState, ...], trigger: CallTrigger, action: CallAction) -> _Entries:
    """``trigger`` ends the call from each of ``states``."""
    return {(state, trigger): Step(_S.ENDED, action) for state in states}


TABLE: _Entries = {
    # -- outgoing set-up
    (_S.DIALING, _T.AUTHREQ): Step(_S.DIALING, _A.ANSWER_CHALLENGE),
    (_S.DIALING, _T.CALL_TOKEN): Step(_S.DIALING, _A.RESEND_NEW),
    (_S.DIALING, _T.ACCEPT): Step(_S.ACCEPTED, _A.START),
    **_in((_S.DIALING, *CONNECTED), _T.PROCEEDING, _A.REPORT_PROCEEDING),
    (_S.ACCEPTED, _T.RINGING): Step(_S.RINGING, _A.REPORT_RINGING),
    (_S.ACCEPTED, _T.ANSWER): Step(_S.UP, _A.GO_UP),
    (_S.RINGING, _T.ANSWER): Step(_S.UP, _A.GO_UP),
    # -- incoming set-up
    (_S.OFFERED, _T.AUTHREP): Step(_S.OFFERED, _A.VERIFY_CALLER),
    (_S.OFFERED, _T.CALLER_VERIFIED): Step(_S.OFFERED, _A.ANNOUNCE),
    (_S.OFFERED, _T.CALLER_REFUSED): Step(_S.ENDED, _A.REFUSE_CALLER),
    (_S.OFFERED, _T.ACCEPT_CALL): Step(_S.ACCEPTED, _A.SEND_ACCEPT),
    (_S.ACCEPTED, _T.ANSWER_CALL): Step(_S.UP, _A.SEND_ANSWER),
    (_S.RINGING, _T.ANSWER_CALL): Step(_S.UP, _A.SEND_ANSWER),
    (_S.OFFERED, _T.REJECT_CALL): Step(_S.ENDED, _A.SEND_REJECT),
    # -- tear-down
    (_S.OFFERED, _T.HANG_UP): Step(_S.ENDED, _A.SEND_REJECT),
    **_end((_S.DIALING, *CONNECTED), _T.HANG_UP, _A.SEND_HANGUP),
    (_S.ENDED, _T.HANG_UP): Step(_S.ENDED),
    **_end(LIVE, _T.HANGUP, _A.END_BY_HANGUP),
    **_end(LIVE, _T.REJECT, _A.END_BY_REJECT),
    (_S.OFFERED, _T.BUSY): Step(_S.ENDED, _A.SEND_REJECT),
    **_end((_S.DIALING, *CONNECTED), _T.BUSY, _A.SEND_HANGUP),
    (_S.OFFERED, _T.CONGESTION): Step(_S.ENDED, _A.SEND_REJECT),
    **_end((_S.DIALING, *CONNECTED), _T.CONGESTION, _A.SEND_HANGUP),
    **_end(LIVE, _T.TIMED_OUT, _A.END_TIMED_OUT),
    (_S.ENDED, _T.TIMED_OUT): Step(_S.ENDED, _A.RELEASE),
    **_end(LIVE, _T.INVALID, _A.END_INVALID),
    (_S.ENDED, _T.INVALID): Step(_S.ENDED, _A.RELEASE),
    # -- in-call commands: allowed, nothing changes
    **_in(CONNECTED, _T.SEND_AUDIO),
    **_in(CONNECTED, _T.SEND_DTMF),
    **_in(CONNECTED, _T.SEND_TEXT),
    **_in((_S.UP,), _T.HOLD),
    **_in((_S.UP,), _T.UNHOLD),
    **_in((_S.UP,), _T.FLASH),
    **_in((_S.UP,), _T.QUELCH),
    **_in((_S.UP,), _T.TRANSFER),
}

REMOTE = frozenset(
    {
        _T.AUTHREQ,
        _T.AUTHREP,
        _T.CALL_TOKEN,
        _T.ACCEPT,
        _T.PROCEEDING,
        _T.RINGING,
        _T.ANSWER,
        _T.HANGUP,
        _T.REJECT,
        _T.BUSY,
        _T.CONGESTION,
        _T.TIMED_OUT,
        _T.INVALID,
    }
)
INITIAL = (_S.DIALING, _S.OFFERED)  # outgoing, incoming

__all__ = [
    "CONNECTED",
    "INITIAL",
    "PINGED",
    "REMOTE",
    "TABLE",
    "CallAction",
    "CallState",
    "CallStateError",
    "CallTrigger",
]
