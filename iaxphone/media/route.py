"""Where a call's sound stream is routed on the sound server, and what to tell the user.

Theory of operation
-------------------
A sound server (PulseAudio, or PipeWire's PulseAudio service) moves a
stream on its own when its device goes away: unplug the USB headset and
the call carries on from the laptop's speaker, the sound card none the
wiser.  :class:`RouteMachine` follows one stream (our playback or our
recording) from what the server reports, one :class:`Sighting` at a time,
and says what to do: tell the user, or move the stream back.

The *chosen* device is where the stream first played (the device the user
picked, or the default when the call started).  Each sighting is turned
into one trigger:

* ``ON_CHOSEN``: the stream is on the chosen device;
* ``AWAY_GONE``: on another device, and the chosen one is gone;
* ``AWAY_BACK``: on another device, the chosen one is present, same stream;
* ``NEW_AWAY``: a new stream (the card reopened) on another device while the
  chosen one is present;
* ``NO_STREAM``: no stream of ours (not started yet, or reopening).

The table below maps (state, trigger) to (next state, action).  A stream the
user moves (pavucontrol, the desktop's sound settings) while the chosen
device is still there is their new choice, but only once a second sighting
agrees (``AWAY``): a device being removed moves its streams a moment before
it leaves the list, and that first sighting looks the same.  After a
fallback, the same trigger means the chosen device came back: the stream is
moved back (``RETURNING``) and the user is told once it is there.  Nothing
here talks to the server or reads a clock; the watcher
(:mod:`iaxphone.media.pulse`) feeds sightings in and carries actions out.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from iaxphone.errors import IaxphoneError


class RouteState(enum.Enum):
    UNSEEN = "unseen"  # no stream seen yet: nothing chosen
    ON_CHOSEN = "on chosen"
    AWAY = "away"  # moved while the chosen device is still listed: wait for one more sighting
    FALLEN_BACK = "fallen back"  # the chosen device is gone; the server moved us
    RETURNING = "returning"  # the chosen device is back; we asked to move there


class Trigger(enum.Enum):
    ON_CHOSEN = "on chosen"
    AWAY_GONE = "away, chosen gone"
    AWAY_BACK = "away, chosen present"
    NEW_AWAY = "new stream away, chosen present"
    NO_STREAM = "no stream"


class Act(enum.Enum):
    NOTHING = "nothing"
    ADOPT = "adopt"  # the device the stream is on becomes the chosen one
    ADOPT_QUIETLY = "adopt quietly"  # the first sighting
    SAY_FALLBACK = "say fallback"
    MOVE_BACK = "move back"
    SAY_BACK = "say back"


S, T, A = RouteState, Trigger, Act
TABLE: dict[tuple[RouteState, Trigger], tuple[RouteState, Act]] = {
    (S.UNSEEN, T.ON_CHOSEN): (S.ON_CHOSEN, A.ADOPT_QUIETLY),
    (S.UNSEEN, T.NO_STREAM): (S.UNSEEN, A.NOTHING),
    (S.ON_CHOSEN, T.ON_CHOSEN): (S.ON_CHOSEN, A.NOTHING),
    (S.ON_CHOSEN, T.AWAY_GONE): (S.FALLEN_BACK, A.SAY_FALLBACK),
    (S.ON_CHOSEN, T.AWAY_BACK): (S.AWAY, A.NOTHING),
    (S.ON_CHOSEN, T.NEW_AWAY): (S.RETURNING, A.MOVE_BACK),
    (S.ON_CHOSEN, T.NO_STREAM): (S.ON_CHOSEN, A.NOTHING),
    (S.AWAY, T.ON_CHOSEN): (S.ON_CHOSEN, A.NOTHING),
    (S.AWAY, T.AWAY_GONE): (S.FALLEN_BACK, A.SAY_FALLBACK),  # it was being removed
    (S.AWAY, T.AWAY_BACK): (S.ON_CHOSEN, A.ADOPT),  # the user moved it: their new choice
    (S.AWAY, T.NEW_AWAY): (S.RETURNING, A.MOVE_BACK),
    (S.AWAY, T.NO_STREAM): (S.AWAY, A.NOTHING),
    (S.FALLEN_BACK, T.ON_CHOSEN): (S.ON_CHOSEN, A.SAY_BACK),
    (S.FALLEN_BACK, T.AWAY_GONE): (S.FALLEN_BACK, A.NOTHING),
    (S.FALLEN_BACK, T.AWAY_BACK): (S.RETURNING, A.MOVE_BACK),
    (S.FALLEN_BACK, T.NEW_AWAY): (S.RETURNING, A.MOVE_BACK),
    (S.FALLEN_BACK, T.NO_STREAM): (S.FALLEN_BACK, A.NOTHING),
    (S.RETURNING, T.ON_CHOSEN): (S.ON_CHOSEN, A.SAY_BACK),
    (S.RETURNING, T.AWAY_GONE): (S.FALLEN_BACK, A.NOTHING),  # gone again before we got there
    (S.RETURNING, T.AWAY_BACK): (S.RETURNING, A.MOVE_BACK),  # the move did not take: again
    (S.RETURNING, T.NEW_AWAY): (S.RETURNING, A.MOVE_BACK),
    (S.RETURNING, T.NO_STREAM): (S.RETURNING, A.NOTHING),
}


class RouteError(IaxphoneError):
    """A (state, trigger) pair the table does not have: a bug, not a user error."""


@dataclass(frozen=True, slots=True)
class Device:
    name: str  # the server's name (``alsa_output.usb-...``, ``speaker``)
    description: str  # what the user sees ("USB headset")


@dataclass(frozen=True, slots=True)
class Sighting:
    """What the server reports of one direction: our stream (if any) and the devices."""

    stream: int | None  # the server's index of our stream
    device: Device | None  # the device the stream is on
    present: frozenset[str]  # names of the devices of that direction that exist now


@dataclass(frozen=True, slots=True)
class Step:
    """What to do after a sighting: a line for the user, and whether to move the stream."""

    note: str = ""
    move_to: str = ""  # the device name to move the stream to


NONE = Step()


class RouteMachine:
    """One direction's stream ("output" or "input") against its chosen device."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.state = RouteState.UNSEEN
        self.chosen: Device | None = None
        self.stream: int | None = None
        self.transitions: list[tuple[RouteState, Trigger, RouteState]] = []

    def _trigger(self, sighting: Sighting) -> Trigger:
        if sighting.stream is None or sighting.device is None:
            return Trigger.NO_STREAM
        if self.chosen is None or sighting.device.name == self.chosen.name:
            return Trigger.ON_CHOSEN
        if self.chosen.name not in sighting.present:
            return Trigger.AWAY_GONE
        return Trigger.AWAY_BACK if sighting.stream == self.stream else Trigger.NEW_AWAY

    def observe(self, sighting: Sighting) -> Step:
        trigger = self._trigger(sighting)
        try:
            following, act = TABLE[self.state, trigger]
        except KeyError:
            raise RouteError(f"route: no transition from {self.state} on {trigger}") from None
        if following != self.state:
            self.transitions.append((self.state, trigger, following))
        self.state = following
        if sighting.stream is not None:
            self.stream = sighting.stream
        return self._act(act, sighting)

    def _act(self, act: Act, sighting: Sighting) -> Step:
        here = sighting.device
        what = "playing on" if self.kind == "output" else "recording from"
        if act in (Act.ADOPT, Act.ADOPT_QUIETLY):
            assert here is not None
            self.chosen = here
            if act is Act.ADOPT:
                return Step(f"{self.kind} moved to {here.description!r}")
            return NONE
        if act is Act.SAY_FALLBACK:
            assert here is not None and self.chosen is not None
            return Step(
                f"{self.kind} device {self.chosen.description!r} is gone: {what} "
                f"{here.description!r} (the default) until it is back"
            )
        if act is Act.MOVE_BACK:
            assert self.chosen is not None
            return Step(move_to=self.chosen.name)
        if act is Act.SAY_BACK:
            assert self.chosen is not None
            return Step(f"{self.kind} device {self.chosen.description!r} is back: {what} it again")
        return NONE
