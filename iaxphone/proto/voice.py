"""A call's voice stream: the clock we send on and the timeline we receive.

Theory of operation
-------------------
Sending (:class:`VoiceClock`): each frame's timestamp is the previous one
plus the previous frame's duration, so the far end's jitter buffer sees an
even grid.  When that drifts from the call's wall-clock age by more than
:data:`MAX_DRIFT_MS` (after hold, or a stalled sender), the clock is pulled
back to the wall clock, never behind the last timestamp sent.  The first
frame, a codec change and every 65.536 s (when the upper 16 bits of the
32-bit timestamp change) must go as a full VOICE frame; the rest go as
4-byte-header mini frames carrying the lower 16 bits.

Receiving (:class:`ReceiveTimeline`): mini and trunk timestamps are
unwrapped against the last one seen; a frame whose timestamp is among the
last 16 is a copy the network made and is delivered once; one older than
the newest is counted as out of order (and still delivered: the jitter
buffer puts it in place).  The codec of received voice is the last full
voice frame's, else the one the ACCEPT named: the first full voice frame
can be lost for good inside a loss burst, and mini frames must still play.

Both are plain bookkeeping: no frames, no sockets, no clock.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from iaxphone.wire.seqnum import unwrap_timestamp

MAX_DRIFT_MS = 120


@dataclass(slots=True)
class MediaCounters:
    """What the protocol layer itself counts about a call's voice."""

    sent: int = 0
    received: int = 0
    full_sent: int = 0
    out_of_order: int = 0
    duplicates: int = 0


class VoiceClock:
    """Timestamps for the voice we send, and when a frame must go full."""

    __slots__ = ("last_format", "last_full_ts", "next_due", "ts")

    def __init__(self) -> None:
        self.ts: int | None = None  # the last voice timestamp sent
        self.next_due = 0  # where the next frame falls on the grid
        self.last_full_ts: int | None = None
        self.last_format = 0

    def stamp(self, elapsed_ms: int, floor: int, duration_ms: int, fmt: int) -> tuple[int, bool]:
        """The next frame's 32-bit timestamp, and whether it must be a full frame.

        ``elapsed_ms`` is the call's age; ``floor`` the least timestamp allowed
        when the clock is reset (one past the last full frame sent).
        """
        if self.ts is None or abs(self.next_due - elapsed_ms) > MAX_DRIFT_MS:
            ts = max(elapsed_ms, floor)
        else:
            ts = self.next_due
        ts &= 0xFFFFFFFF
        self.ts = ts
        self.next_due = ts + duration_ms
        full = (
            self.last_full_ts is None
            or fmt != self.last_format
            or (ts >> 16) != (self.last_full_ts >> 16)
        )
        if full:
            self.last_full_ts = ts
            self.last_format = fmt
        return ts, full


class ReceiveTimeline:
    """Unwraps, de-duplicates and counts the voice frames a call receives."""

    __slots__ = ("format", "last_ts", "recent")

    def __init__(self) -> None:
        self.last_ts = 0  # the newest timestamp received
        self.format = 0  # the codec of the last full voice frame
        self.recent: deque[int] = deque(maxlen=16)

    def unwrap(self, timestamp16: int) -> int:
        """A mini or trunk frame's 16-bit timestamp, on the call's 32-bit timeline."""
        return unwrap_timestamp(self.last_ts, timestamp16)

    def arrived(self, ts: int, counters: MediaCounters) -> bool:
        """Note a frame; False if it is a duplicate (not to be delivered again)."""
        if ts in self.recent:
            counters.duplicates += 1
            return False
        self.recent.append(ts)
        if ts < self.last_ts:
            counters.out_of_order += 1
        else:
            self.last_ts = ts
        counters.received += 1
        return True


__all__ = ["MAX_DRIFT_MS", "MediaCounters", "ReceiveTimeline", "VoiceClock"]
