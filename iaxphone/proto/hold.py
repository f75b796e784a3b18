"""Hold, both ways: two small state machines of a call that is up.

Theory of operation
-------------------
*Our* hold (:data:`LOCAL_TABLE`): a phone puts the far end on hold the way
Asterisk expects, with QUELCH carrying a MUSICONHOLD IE (Asterisk stops
sending us audio, plays music to the other party and raises its Hold
event; a bare CONTROL HOLD only reaches the bridge), and resumes with
UNQUELCH::

    FREE --hold--> HELD --resume--> FREE

Holding a held call or resuming a free one is a local mistake and raises.

The *far end's* hold and quelch (:data:`REMOTE_TABLE`): the peer may ask
us to stop sending (QUELCH), put us on hold (QUELCH with MUSICONHOLD, or
CONTROL HOLD) and take it back (UNQUELCH, CONTROL UNHOLD).  Every frame is
legal in every state; the table says what we report::

    FREE     --QUELCH-->              QUELCHED  (QuelchChanged on)
    any      --QUELCH+MOH, HOLD-->    HELD      (HoldChanged on, with the music class)
    QUELCHED --UNQUELCH-->            FREE      (QuelchChanged off)
    HELD     --UNQUELCH, UNHOLD-->    FREE      (HoldChanged off)
    HELD     --QUELCH-->              HELD      (QuelchChanged on: still held)

A hold the far end takes back with UNQUELCH is reported as HoldChanged
off, not as a quelch ending: that is how Asterisk resumes a held phone.
"""

from __future__ import annotations

import enum

from .machine import Machine, Step


class HoldState(enum.Enum):
    FREE = "not held"
    HELD = "held"


class HoldTrigger(enum.Enum):
    HOLD = "hold"
    RESUME = "resume"


class HoldAction(enum.Enum):
    SEND_QUELCH_MOH = "send QUELCH with MUSICONHOLD"
    SEND_UNQUELCH = "send UNQUELCH"


LOCAL_TABLE: dict[tuple[HoldState, HoldTrigger], Step[HoldState, HoldAction]] = {
    (HoldState.FREE, HoldTrigger.HOLD): Step(HoldState.HELD, HoldAction.SEND_QUELCH_MOH),
    (HoldState.HELD, HoldTrigger.RESUME): Step(HoldState.FREE, HoldAction.SEND_UNQUELCH),
}


class FarState(enum.Enum):
    FREE = "free"
    QUELCHED = "quelched"
    HELD = "holding us"


class FarTrigger(enum.Enum):
    QUELCH = "QUELCH"
    QUELCH_MOH = "QUELCH with MUSICONHOLD"
    UNQUELCH = "UNQUELCH"
    HOLD = "CONTROL HOLD"
    UNHOLD = "CONTROL UNHOLD"


class FarAction(enum.Enum):
    REPORT_HELD = "report HoldChanged on"
    REPORT_RESUMED = "report HoldChanged off"
    REPORT_QUELCHED = "report QuelchChanged on"
    REPORT_UNQUELCHED = "report QuelchChanged off"


_F, _FT, _FA = FarState, FarTrigger, FarAction
REMOTE_TABLE: dict[tuple[FarState, FarTrigger], Step[FarState, FarAction]] = {
    (_F.FREE, _FT.QUELCH): Step(_F.QUELCHED, _FA.REPORT_QUELCHED),
    (_F.FREE, _FT.QUELCH_MOH): Step(_F.HELD, _FA.REPORT_HELD),
    (_F.FREE, _FT.UNQUELCH): Step(_F.FREE, _FA.REPORT_UNQUELCHED),
    (_F.FREE, _FT.HOLD): Step(_F.HELD, _FA.REPORT_HELD),
    (_F.FREE, _FT.UNHOLD): Step(_F.FREE, _FA.REPORT_RESUMED),
    (_F.QUELCHED, _FT.QUELCH): Step(_F.QUELCHED, _FA.REPORT_QUELCHED),
    (_F.QUELCHED, _FT.QUELCH_MOH): Step(_F.HELD, _FA.REPORT_HELD),
    (_F.QUELCHED, _FT.UNQUELCH): Step(_F.FREE, _FA.REPORT_UNQUELCHED),
    (_F.QUELCHED, _FT.HOLD): Step(_F.HELD, _FA.REPORT_HELD),
    (_F.QUELCHED, _FT.UNHOLD): Step(_F.QUELCHED, _FA.REPORT_RESUMED),
    (_F.HELD, _FT.QUELCH): Step(_F.HELD, _FA.REPORT_QUELCHED),
    (_F.HELD, _FT.QUELCH_MOH): Step(_F.HELD, _FA.REPORT_HELD),
    (_F.HELD, _FT.UNQUELCH): Step(_F.FREE, _FA.REPORT_RESUMED),
    (_F.HELD, _FT.HOLD): Step(_F.HELD, _FA.REPORT_HELD),
    (_F.HELD, _FT.UNHOLD): Step(_F.FREE, _FA.REPORT_RESUMED),
}


def local_hold(name: str) -> Machine[HoldState, HoldTrigger, HoldAction]:
    return Machine(name, LOCAL_TABLE, HoldState.FREE)


_FROM_PEER = frozenset(FarTrigger)


def far_hold(name: str) -> Machine[FarState, FarTrigger, FarAction]:
    return Machine(f"{name} far end", REMOTE_TABLE, FarState.FREE, remote=_FROM_PEER)


__all__ = [
    "LOCAL_TABLE",
    "REMOTE_TABLE",
    "FarAction",
    "FarState",
    "FarTrigger",
    "HoldAction",
    "HoldState",
    "HoldTrigger",
    "far_hold",
    "local_hold",
]
