"""What the sans-IO endpoint tells its user, as frozen dataclasses.

The endpoint queues events as it processes datagrams, timers and commands;
the user pulls them with ``Endpoint.next_event()`` (the aioquic and h11
pattern).  ``call_id`` is the endpoint's local call number for the call.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from iaxphone.wire.report import ReceiverReport


@dataclass(frozen=True, slots=True)
class Event:
    """Base class of every endpoint event."""


# --------------------------------------------------------------------------- registration


@dataclass(frozen=True, slots=True)
class Registered(Event):
    """The registrar accepted us (REGACK); refreshed automatically before ``expires``."""

    account: str
    expires: int
    new_messages: int | None = None
    old_messages: int | None = None
    apparent_address: tuple[str, int] | None = None


@dataclass(frozen=True, slots=True)
class RegistrationFailed(Event):
    """REGREJ, no answer, or an unusable challenge.

    ``auth_rejected`` is true when the registrar refused our credentials; the
    endpoint then stops retrying (a wrong password does not get better).
    Otherwise it retries with backoff.
    """

    account: str
    reason: str
    auth_rejected: bool = False
    cause_code: int | None = None


@dataclass(frozen=True, slots=True)
class Unregistered(Event):
    """REGREL acknowledged (or given up on) for the account."""

    account: str


@dataclass(frozen=True, slots=True)
class MessageWaiting(Event):
    """Voicemail counts changed (from REGACK's MSGCOUNT or an MWI frame)."""

    account: str
    new_messages: int
    old_messages: int


# --------------------------------------------------------------------------- call set-up


@dataclass(frozen=True, slots=True)
class IncomingCall(Event):
    """A NEW arrived and was accepted by the endpoint's checks; ring or reject it."""

    call_id: int
    peer: tuple[str, int]
    caller_number: str | None
    caller_name: str | None
    called_number: str | None
    called_context: str | None
    username: str | None
    format: int
    auto_answer: bool = False


@dataclass(frozen=True, slots=True)
class CallAccepted(Event):
    """The far end accepted the call and chose the codec (ACCEPT); ``encrypted``: AES-128."""

    call_id: int
    format: int
    encrypted: bool = False


@dataclass(frozen=True, slots=True)
class CallProceeding(Event):
    call_id: int


@dataclass(frozen=True, slots=True)
class CallRinging(Event):
    call_id: int


@dataclass(frozen=True, slots=True)
class CallAnswered(Event):
    call_id: int


class EndReason(enum.Enum):
    """Why a call ended, for a front end to act on (the cause text is for people)."""

    CLEARED = "cleared"  # a side hung up, refused or rejected: see the Q.931 cause
    WRONG_SECRET = "wrong-secret"  # the PBX refused or ignored our authentication
    ENCRYPTION_REFUSED = "encryption-refused"  # encryption required but not agreed
    NO_ANSWER = "no-answer"  # the far end stopped answering (set-up or call timed out)
    FORGOTTEN = "forgotten"  # the far end no longer knows the call (INVAL)


@dataclass(frozen=True, slots=True)
class CallEnded(Event):
    """The call is over: hung up by either side, rejected, busy, or lost.

    ``by_remote`` says who ended it; ``cause_code`` is the Q.931 cause
    (16 normal clearing, 17 busy, 21 rejected, 34 congestion, ...) when known.
    ``lost``: nobody hung up - the far end stopped answering (our frames,
    a PING at the latest, went unacknowledged through every retry).
    """

    call_id: int
    cause: str
    cause_code: int | None = None
    by_remote: bool = True
    lost: bool = False
    reason: EndReason = EndReason.CLEARED


# --------------------------------------------------------------------------- in call


@dataclass(frozen=True, slots=True)
class AudioReceived(Event):
    """One voice frame. ``timestamp`` is the call's 32-bit millisecond clock, unwrapped."""

    call_id: int
    timestamp: int
    format: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class DtmfReceived(Event):
    """A DTMF digit; ``ended`` is False for DTMF_BEGIN, True for DTMF_END."""

    call_id: int
    digit: str
    ended: bool = True
    timestamp: int = 0


@dataclass(frozen=True, slots=True)
class TextReceived(Event):
    call_id: int
    text: str


@dataclass(frozen=True, slots=True)
class HoldChanged(Event):
    """The far end put us on hold (``held``) or took us off; ``music_class`` from MUSICONHOLD."""

    call_id: int
    held: bool
    music_class: str | None = None


@dataclass(frozen=True, slots=True)
class QuelchChanged(Event):
    """The far end asked us to stop (``quelched``) or resume sending audio."""

    call_id: int
    quelched: bool


@dataclass(frozen=True, slots=True)
class ComfortNoise(Event):
    """The far end went silent and sent a CNG frame; ``level_dbov`` is the noise level (-dBov)."""

    call_id: int
    level_dbov: int


@dataclass(frozen=True, slots=True)
class FlashReceived(Event):
    call_id: int


@dataclass(frozen=True, slots=True)
class TransferRequested(Event):
    """The far end asked us to transfer (an IAX TRANSFER command) to ``number``."""

    call_id: int
    number: str
    context: str | None


@dataclass(frozen=True, slots=True)
class PeerReport(Event):
    """Our round-trip time and the far end's receiver report (PONG IEs; None after a LAGRP)."""

    call_id: int
    rtt_ms: float | None  # to 0.01 ms: on a LAN or loopback a round trip is well under 1 ms
    report: ReceiverReport | None = None
