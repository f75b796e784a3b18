"""The states of a phone line, and what moves a line from one to the next, as data.

Theory of operation
-------------------
A line is one call as the user sees it.  It is born ``DIALING`` (we call)
or ``INCOMING`` (it rings here) and ends ``ENDED``; nothing leaves
``ENDED``.  Every change is one *trigger*: something the far end did
(it rings, it answers, the call ended) or something the user asked for
(answer, hold, resume).  :data:`TRANSITIONS` says, for each (state, trigger)
pair that may happen, the next state and the *action* the phone takes on
the way: start the line's media (the microphone and speaker are now its),
pause it (held: nothing sent, nothing heard), resume it, or stop it.  A pair
that is not in the table is a mistake:

* a user command in the wrong state (hold a ringing line, answer a line that
  is talking) is the caller's error: :func:`step` raises
  :class:`LocalProtocolError` and nothing changes;
* a far-end trigger in the wrong state (a second RINGING, an ANSWER for a
  call we answered) is the far end's: the phone logs it and the line keeps
  its state (see :func:`allowed`).

::

    DIALING --far_ringing--> RINGING --far_answered--> TALKING <--hold/resume--> HELD
    DIALING --far_answered--> TALKING (start media)
    INCOMING --answer--> TALKING (start media)
    any state but ENDED --ended--> ENDED (stop media)

The table is the whole rule: the handset's view model and the tests read
it (which keys may act on a line) instead of repeating it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from iaxphone.errors import LocalProtocolError


class LineState(enum.Enum):
    DIALING = "dialing"
    RINGING = "ringing"  # outgoing, the far end rings
    INCOMING = "incoming"  # ringing here
    TALKING = "talking"
    HELD = "held"
    ENDED = "ended"


class LineTrigger(enum.Enum):
    FAR_RINGING = "far end rings"
    FAR_ANSWERED = "far end answered"
    ANSWER = "answer"
    HOLD = "hold"
    RESUME = "resume"
    ENDED = "call ended"


class LineAction(enum.Enum):
    NOTHING = "nothing"
    START_MEDIA = "start media"  # the line gets the microphone and the speaker
    PAUSE_MEDIA = "pause media"  # held: send nothing, hear nothing
    RESUME_MEDIA = "resume media"
    STOP_MEDIA = "stop media"


@dataclass(frozen=True)
class Step:
    next: LineState
    action: LineAction


S, T, A = LineState, LineTrigger, LineAction

TRANSITIONS: dict[tuple[LineState, LineTrigger], Step] = {
    (S.DIALING, T.FAR_RINGING): Step(S.RINGING, A.NOTHING),
    (S.DIALING, T.FAR_ANSWERED): Step(S.TALKING, A.START_MEDIA),
    (S.RINGING, T.FAR_ANSWERED): Step(S.TALKING, A.START_MEDIA),
    (S.INCOMING, T.ANSWER): Step(S.TALKING, A.START_MEDIA),
    (S.TALKING, T.HOLD): Step(S.HELD, A.PAUSE_MEDIA),
    (S.HELD, T.RESUME): Step(S.TALKING, A.RESUME_MEDIA),
    (S.DIALING, T.ENDED): Step(S.ENDED, A.NOTHING),
    (S.RINGING, T.ENDED): Step(S.ENDED, A.NOTHING),
    (S.INCOMING, T.ENDED): Step(S.ENDED, A.NOTHING),
    (S.TALKING, T.ENDED): Step(S.ENDED, A.STOP_MEDIA),
    (S.HELD, T.ENDED): Step(S.ENDED, A.STOP_MEDIA),
}

# What a user command needs, said the way the user would (for the error message).
_NEEDS = {
    T.ANSWER: "is not ringing here",
    T.HOLD: "is not talking",
    T.RESUME: "is not on hold",
}


def allowed(state: LineState, trigger: LineTrigger) -> bool:
    return (state, trigger) in TRANSITIONS


def step(line_id: int, state: LineState, trigger: LineTrigger) -> Step:
    """The next state and action; raises LocalProtocolError for a pair not in the table."""
    found = TRANSITIONS.get((state, trigger))
    if found is None:
        why = _NEEDS.get(trigger, f"cannot take '{trigger.value}' while {state.value}")
        raise LocalProtocolError(f"line {line_id} {why} (it is {state.value})")
    return found


def triggers_from(state: LineState) -> frozenset[LineTrigger]:
    """Every trigger the table allows in ``state``."""
    return frozenset(t for (s, t) in TRANSITIONS if s is state)


LIVE = frozenset(s for s in LineState if s is not LineState.ENDED)

__all__ = [
    "LIVE",
    "TRANSITIONS",
    "LineAction",
    "LineState",
    "LineTrigger",
    "LocalProtocolError",
    "Step",
    "allowed",
    "step",
    "triggers_from",
]
