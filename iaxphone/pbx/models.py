"""What the PBX looks like from AMI: extension lamps, presence, parked calls, channels.

Plain data, no I/O: :class:`~iaxphone.pbx.ami.PbxClient` fills these from
AMI list actions (a full re-sync after every login) and keeps them current
from events.  Front ends read them and subscribe to the typed events.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class LampState(enum.Enum):
    """Device state behind a hint, as a desk phone's busy lamp shows it."""

    IDLE = "idle"
    RINGING = "ringing"
    IN_USE = "in use"
    BUSY = "busy"
    ON_HOLD = "on hold"
    UNAVAILABLE = "unavailable"
    UNKNOWN = "unknown"


# ExtensionStatus "Status" codes (a bit field: in use 1, busy 2, unavailable
# 4, ringing 8, on hold 16).
def lamp_from_status(code: int) -> LampState:
    if code < 0:
        return LampState.UNAVAILABLE if code == -2 else LampState.UNKNOWN
    if code & 4:
        return LampState.UNAVAILABLE
    if code & 8:
        return LampState.RINGING
    if code & 16:
        return LampState.ON_HOLD
    if code & 2:
        return LampState.BUSY
    if code & 1:
        return LampState.IN_USE
    return LampState.IDLE


class Presence(enum.Enum):
    NOT_SET = "not_set"
    AVAILABLE = "available"
    AWAY = "away"
    DND = "dnd"
    XA = "xa"
    CHAT = "chat"
    UNAVAILABLE = "unavailable"

    @classmethod
    def parse(cls, text: str) -> Presence:
        try:
            return cls(text.strip().lower())
        except ValueError:
            return cls.NOT_SET


@dataclass
class Extension:
    """One hint: ``lamp`` is what a busy-lamp field shows.

    ``device_lamp`` is Asterisk's device state; ``lamp`` equals it except
    while one of the extension's channels is on hold (Asterisk raises a Hold
    event for IAX2 channels but no device-state change).
    """

    number: str
    context: str
    hint: str = ""
    device_lamp: LampState = LampState.UNKNOWN
    presence: Presence = Presence.NOT_SET
    held_channels: set[str] = field(default_factory=set)

    @property
    def lamp(self) -> LampState:
        if self.held_channels and self.device_lamp is not LampState.UNAVAILABLE:
            return LampState.ON_HOLD
        return self.device_lamp


@dataclass(frozen=True)
class ParkedCall:
    slot: str
    lot: str
    channel: str
    caller_number: str
    caller_name: str
    parked_by: str
    timeout_s: int | None = None
    parked_at: float = 0.0  # wall-clock seconds
    rings_back_at: float | None = None  # wall-clock seconds; None: never
    uniqueid: str = ""

    def parked_for(self, now: float) -> float:
        return max(0.0, now - self.parked_at)

    def rings_back_in(self, now: float) -> float | None:
        """Seconds until the PBX rings the parker back (None: it never does)."""
        return None if self.rings_back_at is None else max(0.0, self.rings_back_at - now)

    @property
    def parked_by_number(self) -> str:
        """ "IAX2/6003" -> "6003" (the parker's device, as a number)."""
        return self.parked_by.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class ChannelInfo:
    name: str
    caller_number: str
    caller_name: str
    connected_number: str
    state: str
    application: str
    duration_s: int
    bridge: str


@dataclass
class PbxState:
    """Everything the client knows, replaced wholesale on re-sync."""

    extensions: dict[str, Extension] = field(default_factory=dict)  # by number (office context)
    parked: dict[str, ParkedCall] = field(default_factory=dict)  # by slot
    presence_by_entity: dict[str, Presence] = field(default_factory=dict)
    mailboxes: dict[str, tuple[int, int]] = field(default_factory=dict)  # (new, old) by mailbox

    def presence_entity(self, number: str) -> str:
        return f"CustomPresence:{number}"
