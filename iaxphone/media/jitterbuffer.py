"""Adaptive jitter buffer, pulled by the playout clock.

Pipeline position (baresip's drawing)::

    auplay <- aubuf <- decode <- [jbuf] <- network

Theory of operation
-------------------
Frames go in with :meth:`JitterBuffer.put` (sender timestamp in ms, payload,
arrival time in seconds) and come out with :meth:`JitterBuffer.get`, which
the playout side calls once per frame interval with its own clock.  ``get``
returns a :class:`Playout`: the frame due now, a request to conceal a frame
that is missing (lost, or still on its way and about to be late), or
nothing while the buffer is still filling.  A missing frame never stalls
playout (aiortc's buffer waits on a single lost packet; this one does not).

*Transit.*  For every arrival the buffer computes the relative transit
``arrival_ms - timestamp``.  The smallest transit of the last
``floor_window`` arrivals (one second) is the "fastest path"; a short
window lets it follow clock drift and route changes.  How much later than
that a packet came is its *jitter delay*.

*Target delay.*  A high quantile (95 %) of the recent jitter delays plus a
small margin, in the manner of WebRTC NetEq's inter-arrival statistics,
over a forgetting window of the last ``window`` arrivals (5 s).  The
target grows at once when jitter grows and shrinks by at most
``shrink_ms_per_s`` per second when it calms, so one quiet moment does not
undo it.

*Playout delay.*  When the frame with timestamp ``next_ts`` is played at
``now``, it is played ``now_ms - next_ts - fastest`` after the fastest path
could have delivered it.  Below target, playout is *stretched* (a concealed
frame is inserted and ``next_ts`` does not move); more than a frame above
target, one frame is *skipped* (at most once per ``skip_interval`` s, so
shrinking is smooth).  Stretching waits until the delay is ``slack_ms``
below target: a transit floor that wobbles by a millisecond would
otherwise stretch straight after a skip, and skip again, and again.  The
playout delay therefore stays between the target and a frame above it,
which also absorbs drift between the sender's clock and ours.

*Adjusting in silence.*  A stretch or skip in the middle of a word is
audible (PESQ drops by about 0.7 on speech under 40 ms jitter when the
buffer adjusts whenever its target moves by a few ms).  So the playout side
says whether the last frame it played was speech (``get(now, talking=)``):
while talking, the buffer stretches only when it is a whole frame short of
target (late loss is close) and skips only when it is more than
``urgent_frames`` frames over; otherwise it waits for the next pause, as
Asterisk's jitterbuf and NetEq's expand/accelerate decisions do.  Sound
that never pauses (music on hold, a tone) would keep a too-long delay
forever, so after ``max_wait_s`` without a pause one adjustment is made
anyway, and the wait starts again.

*Start.*  Before any statistics exist the target is ``initial_target_ms``
(60 ms): playout starts when the first frame has waited that long, so the
delay at start lies anywhere from the target to a frame above it, as the
clock phase between arrivals and the playout tick falls.  On a clean link
the target then shrinks to its 10 ms floor and the surplus, up to 70 ms,
goes in skips.  Two rules keep those skips out of words.  Starting counts
as an adjustment: the first skip waits ``skip_interval``, so the playout
side has heard what it plays before it says whether speech is playing
(judged by the silence before the call, the second frame of the first
words was skipped at some phases: live Opus PESQ -0.07).  And until the
delay has first come down from the initial target (*settling*), the urgent
rule does not apply: the start-up surplus goes in pauses, or after
``max_wait_s`` of sound without one (otherwise, at other phases, it crossed
the urgent threshold about two seconds in, before the first pause, and a
frame mid-word went: PESQ down by up to 0.26).  A lower initial target
would do without the second rule but loses frames at the start of a
jittery call (live Opus at 60 ms jitter, from 40 ms: 5-16 frames).

*Underrun.*  When nothing newer than ``next_ts`` has arrived, a few frames
are concealed; then the buffer falls silent and restarts from the next
frame that arrives (the far end paused: silence suppression, hold).

*Resync.*  A transit that jumps by more than ``resync_ms`` (the far end
restarted its timestamps: transfer, re-invite, hold) flushes the buffer and
starts again from that frame.

Timestamps are plain integers in ms; the caller extends IAX2's 16-bit
mini-frame and 32-bit full-frame timestamps (see :class:`TimestampExtender`).
"""

from __future__ import annotations

import bisect
import enum
from collections import deque
from dataclasses import dataclass


class PlayoutKind(enum.Enum):
    FRAME = "frame"  # play this payload
    CONCEAL = "conceal"  # a frame is missing: conceal it (PLC / FEC)
    STRETCH = "stretch"  # buffer below target: insert one concealed frame
    NOTHING = "nothing"  # not started (or nothing heard for a long time): silence


@dataclass(frozen=True, slots=True)
class Playout:
    kind: PlayoutKind
    timestamp: int = 0
    payload: bytes = b""
    next_payload: bytes | None = None  # for CONCEAL: the following frame, if here (Opus FEC)
    skipped_payload: bytes | None = None  # a frame skipped to shrink the delay, just before


@dataclass(slots=True)
class JitterStats:
    received: int = 0
    played: int = 0
    late: int = 0
    lost: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    stretched: int = 0
    skipped: int = 0
    underruns: int = 0  # concealed while nothing newer arrived, and nothing did since
    resyncs: int = 0
    target_ms: float = 0.0
    delay_ms: float = 0.0  # playout delay of the last frame played, vs the fastest path
    buffered_ms: int = 0
    delay_sum_ms: float = 0.0  # of every frame played or concealed, for the mean

    @property
    def mean_delay_ms(self) -> float:
        count = self.played + self.lost
        return self.delay_sum_ms / count if count else 0.0

    @property
    def concealed(self) -> int:
        return self.lost + self.stretched + self.underruns


class TimestampExtender:
    """Turns 32-bit wrapping millisecond timestamps into an unbounded count.

    Each timestamp is placed within half a period (24.8 days) of the highest
    one seen, so a late frame from before a wrap stays before it.
    """

    PERIOD = 1 << 32

    def __init__(self) -> None:
        self.highest: int | None = None

    def extend(self, ts32: int) -> int:
        if self.highest is None:
            self.highest = ts32
            return ts32
        candidate = self.highest - self.highest % self.PERIOD + ts32
        if candidate - self.highest > self.PERIOD // 2:
            candidate -= self.PERIOD
        elif self.highest - candidate > self.PERIOD // 2:
            candidate += self.PERIOD
        self.highest = max(self.highest, candidate)
        return candidate


class JitterBuffer:
    def __init__(
        self,
        frame_ms: int = 20,
        *,
        initial_target_ms: float = 60.0,
        min_target_ms: float = 10.0,
        max_target_ms: float = 500.0,
        quantile: float = 0.95,
        window: int = 250,
        shrink_ms_per_s: float = 20.0,
        skip_interval: float = 0.25,
        resync_ms: int = 1000,
        max_frames: int = 200,
        max_underrun_frames: int = 3,
        floor_window: int = 50,
        margin_ms: float = 5.0,
        urgent_frames: int = 3,
        slack_ms: float = 2.0,
        max_wait_s: float = 5.0,
    ) -> None:
        self.frame_ms = frame_ms
        self.min_target_ms = min_target_ms
        self.max_target_ms = max_target_ms
        self.quantile = quantile
        self.shrink_ms_per_s = shrink_ms_per_s
        self.skip_interval = skip_interval
        self.resync_ms = resync_ms
        self.max_frames = max_frames
        self.initial_target_ms = initial_target_ms
        self.frames: dict[int, bytes] = {}
        self.window = window
        self.max_underrun_frames = max_underrun_frames
        self.margin_ms = margin_ms
        self.urgent_frames = urgent_frames
        self.slack_ms = slack_ms
        self.max_wait_s = max_wait_s
        self.last_pause: float | None = None  # when the playout side last said "no speech"
        self.floor_window = floor_window
        self.floor: deque[tuple[int, float]] = deque()  # (arrival index, transit), increasing
        self.arrivals = 0
        self.jitter_samples: deque[float] = deque()
        self.sorted_jitter: list[float] = []
        self.stats = JitterStats(target_ms=initial_target_ms)
        self.target_ms = initial_target_ms
        self._wanted_ms = initial_target_ms
        self._reset_timeline()

    def _reset_timeline(self) -> None:
        self.frames.clear()
        self.floor.clear()
        self.jitter_samples.clear()
        self.sorted_jitter.clear()
        self.next_ts: int | None = None
        self.started = False
        self.paused = False
        self.underrun = 0
        self.underrun_concealed: list[int] = []
        self.highest_ts: int | None = None
        self.last_skip = float("-inf")
        self.last_get: float | None = None
        # Frames played (or skipped): a second copy is a duplicate; a concealed one, late.
        self.recent_played: deque[int] = deque(maxlen=64)
        self.settling = True  # still coming down from the initial target: no urgent skips

    @property
    def min_transit(self) -> float | None:
        """The fastest path: the smallest transit of the last ``floor_window`` arrivals.

        A short window lets the floor follow clock drift and route changes.
        """
        return self.floor[0][1] if self.floor else None

    # ------------------------------------------------------------------ input

    def put(self, timestamp: int, payload: bytes, arrival: float) -> None:
        transit = arrival * 1000.0 - timestamp
        fastest = self.min_transit
        if fastest is not None and abs(transit - fastest) > self.resync_ms:
            self.stats.resyncs += 1
            self._reset_timeline()
        self.stats.received += 1
        self._add_transit(transit)
        if self.underrun_concealed and timestamp > self.underrun_concealed[-1]:
            # A newer frame came after all: those underruns were losses.
            self.stats.underruns -= len(self.underrun_concealed)
            self.stats.lost += len(self.underrun_concealed)
            self.underrun_concealed.clear()
        if (
            self.next_ts is not None
            and timestamp < self.next_ts - self.frame_ms // 2
            and not self.paused
        ):
            if timestamp in self.recent_played:
                self.stats.duplicates += 1
            else:
                self.stats.late += 1
            return
        if timestamp in self.frames:
            self.stats.duplicates += 1
            return
        if self.highest_ts is not None and timestamp < self.highest_ts:
            self.stats.out_of_order += 1
        if self.highest_ts is None or timestamp > self.highest_ts:
            self.highest_ts = timestamp
        if self.next_ts is None or (not self.started and timestamp < self.next_ts):
            self.next_ts = timestamp
        self.frames[timestamp] = payload
        if len(self.frames) > self.max_frames:
            del self.frames[min(self.frames)]
            self.stats.skipped += 1

    def _add_transit(self, transit: float) -> None:
        """Update the transit floor (sliding minimum) and the jitter quantile; grow the target."""
        self.arrivals += 1
        while self.floor and self.floor[-1][1] >= transit:
            self.floor.pop()
        self.floor.append((self.arrivals, transit))
        while self.floor[0][0] <= self.arrivals - self.floor_window:
            self.floor.popleft()
        jitter = transit - self.floor[0][1]
        self.jitter_samples.append(jitter)
        bisect.insort(self.sorted_jitter, jitter)
        if len(self.jitter_samples) > self.window:
            oldest = self.jitter_samples.popleft()
            del self.sorted_jitter[bisect.bisect_left(self.sorted_jitter, oldest)]
        count = len(self.sorted_jitter)
        spread = self.sorted_jitter[min(count - 1, int(self.quantile * count))]
        wanted = spread + self.margin_ms
        self._wanted_ms = min(max(wanted, self.min_target_ms), self.max_target_ms)
        self.target_ms = max(self.target_ms, self._wanted_ms)  # grow at once

    def _shrink(self, now: float) -> None:
        if self.last_get is None:
            return
        if self._wanted_ms < self.target_ms:
            step = self.shrink_ms_per_s * max(0.0, now - self.last_get)
            self.target_ms = max(self._wanted_ms, self.target_ms - step)

    # ------------------------------------------------------------------ output

    def get(self, now: float, talking: bool = False) -> Playout:
        """What to play at ``now``; ``talking``: the last frame played was speech."""
        self._shrink(now)
        self.last_get = now
        self.stats.target_ms = self.target_ms
        fastest = self.min_transit
        if self.next_ts is None or fastest is None:
            return Playout(PlayoutKind.NOTHING)
        if self.paused:
            if not self.frames:
                return Playout(PlayoutKind.NOTHING)
            # Audio resumes after a gap: start again from the first new frame.
            # The frames of the gap count as lost (IAX2 sends audio continuously).
            resume = min(self.frames)
            self.stats.lost += max(0, (resume - self.next_ts) // self.frame_ms)
            self.next_ts = resume
            self.paused = self.started = False
        delay = now * 1000.0 - self.next_ts - fastest
        if not self.started:
            if delay < self.target_ms:
                return Playout(PlayoutKind.NOTHING)
            self.started = True
            self.last_skip = now  # the start set the delay: no skip until the talking flag knows
        highest = self.highest_ts if self.highest_ts is not None else self.next_ts
        self.stats.buffered_ms = max(0, highest + self.frame_ms - self.next_ts)
        if self.next_ts > highest:
            return self._underrun(delay)
        self.underrun = 0
        self.underrun_concealed.clear()
        if not talking or self.last_pause is None:
            self.last_pause = now
        patient = talking and now - self.last_pause < self.max_wait_s
        short = self.target_ms - (self.frame_ms if patient else self.slack_ms)
        if delay < short:
            self.stats.stretched += 1
            self.last_pause = now  # adjusted: wait for a pause (or max_wait_s) again
            following = self.frames.get(self.next_ts)
            return Playout(PlayoutKind.STRETCH, self.next_ts, next_payload=following)
        over = self.frame_ms * (self.urgent_frames if patient else 1)
        if self.settling and self.target_ms <= self._wanted_ms and delay - over < self.target_ms:
            self.settling = False  # down from the initial target: from now on, urgency as usual
        skipped: bytes | None = None
        if (
            not (patient and self.settling)
            and delay - over >= self.target_ms
            and now - self.last_skip >= self.skip_interval
            and self.next_ts + self.frame_ms in self.frames
        ):
            self.last_pause = now
            skipped = self.frames.pop(self.next_ts, None)
            if skipped is not None:
                self.recent_played.append(self.next_ts)
            self.next_ts += self.frame_ms
            self.last_skip = now
            self.stats.skipped += 1
            delay -= self.frame_ms
        ts = self._due_timestamp(self.next_ts)
        self.next_ts = ts + self.frame_ms
        payload = self.frames.pop(ts, None)
        self.stats.delay_ms = delay
        self.stats.delay_sum_ms += delay
        if payload is None:  # concealed: if it turns up later, it came late
            self.stats.lost += 1
            following = self.frames.get(self.next_ts)
            return Playout(PlayoutKind.CONCEAL, ts, next_payload=following, skipped_payload=skipped)
        self.stats.played += 1
        self.recent_played.append(ts)
        return Playout(PlayoutKind.FRAME, ts, payload, skipped_payload=skipped)

    def _due_timestamp(self, expected: int) -> int:
        """The frame to play for ``expected``: exact, or within half a frame of it.

        Senders (Asterisk bridging a call, for one) do not always stamp frames
        on an exact 20 ms grid; playout follows their grid.
        """
        if expected in self.frames:
            return expected
        half = self.frame_ms // 2
        near = [ts for ts in self.frames if expected - half <= ts < expected + half]
        return min(near) if near else expected

    def _underrun(self, delay: float) -> Playout:
        """Nothing newer has arrived: conceal a few frames, then fall silent and wait."""
        self.underrun += 1
        if self.underrun > self.max_underrun_frames:
            self.paused = True
            return Playout(PlayoutKind.NOTHING)
        self.stats.underruns += 1
        ts = self.next_ts
        assert ts is not None
        self.underrun_concealed.append(ts)
        self.next_ts = ts + self.frame_ms
        return Playout(PlayoutKind.CONCEAL, ts)
