"""Supervision: listen to, whisper to or barge into a live call through ChanSpy.

Theory of operation
-------------------
The console has AMI ``Originate`` ring the operator's own phone and, once
answered, run the bundled dialplan's ``[supervision]`` extension for the
mode, with ``SPY_CHANNEL`` set to the channel to supervise.  That
extension runs ``ChanSpy(${SPY_CHANNEL},<options>)``:

=========  =======  ==================================================
mode       options  the operator ...
=========  =======  ==================================================
listen     qE       hears both parties, says nothing
whisper    qwE      is also heard by the supervised phone only
barge      qBE      is heard by both parties
=========  =======  ==================================================

(q: no beep; E: ChanSpy ends when the supervised channel hangs up.)

A :class:`Supervision` session follows a table of (state, trigger) ->
next state: RINGING (the operator's phone rings) -> ACTIVE (the operator's
channel runs ChanSpy) -> ENDED (either side hung up, or the phone did not
answer: FAILED).  A trigger not in the table for the state raises
:class:`SupervisionError`: it is a bug in the console, not the PBX.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass

from iaxphone.errors import IaxphoneError


class SpyMode(enum.Enum):
    LISTEN = "listen"
    WHISPER = "whisper"
    BARGE = "barge"

    @property
    def options(self) -> str:
        return CHANSPY_OPTIONS[self]


CHANSPY_OPTIONS = {SpyMode.LISTEN: "qE", SpyMode.WHISPER: "qwE", SpyMode.BARGE: "qBE"}
SUPERVISION_CONTEXT = "supervision"


class SupervisionState(enum.Enum):
    RINGING = "ringing"
    ACTIVE = "active"
    ENDED = "ended"
    FAILED = "failed"


class SupervisionTrigger(enum.Enum):
    ANSWERED = "answered"  # ChanSpyStart: the operator's answered channel runs ChanSpy
    REFUSED = "refused"  # the operator's phone did not answer
    HUNG_UP = "hung up"  # the operator's spy channel or the supervised one ended


TRANSITIONS: dict[tuple[SupervisionState, SupervisionTrigger], SupervisionState] = {
    (SupervisionState.RINGING, SupervisionTrigger.ANSWERED): SupervisionState.ACTIVE,
    (SupervisionState.RINGING, SupervisionTrigger.REFUSED): SupervisionState.FAILED,
    (SupervisionState.RINGING, SupervisionTrigger.HUNG_UP): SupervisionState.ENDED,
    (SupervisionState.ACTIVE, SupervisionTrigger.HUNG_UP): SupervisionState.ENDED,
}


class SupervisionError(IaxphoneError):
    """A trigger the supervision table does not allow in the session's state."""


@dataclass(frozen=True)
class Supervision:
    mode: SpyMode
    target_channel: str  # the channel supervised, "IAX2/6004-1234"
    target_label: str  # "6004"
    operator_device: str  # "IAX2/6010"
    state: SupervisionState = SupervisionState.RINGING
    spy_channel: str = ""  # the operator's channel running ChanSpy, once known
    started_at: float = 0.0

    def after(self, trigger: SupervisionTrigger, **changes: object) -> Supervision:
        following = TRANSITIONS.get((self.state, trigger))
        if following is None:
            raise SupervisionError(f"supervision {self.state.value}: {trigger.value} not allowed")
        return dataclasses.replace(self, state=following, **changes)  # type: ignore[arg-type]

    @property
    def live(self) -> bool:
        return self.state in (SupervisionState.RINGING, SupervisionState.ACTIVE)

    @property
    def banner(self) -> str:
        """What the console shows while it lasts: "LISTENING to 6004"."""
        verb = {"listen": "LISTENING to", "whisper": "WHISPERING to", "barge": "BARGED into"}
        return f"{verb[self.mode.value]} {self.target_label}"
