"""The jitter buffer's start-up on a clean link: the surplus goes in pauses, whatever the phase.

On a clean link the buffer starts at its initial target and sheds the surplus
down to its 10 ms floor by skipping frames.  Where the start lands depends on
the clock phase between arrivals and the playout tick; from a 60 ms start,
at some phases a skip came mid-word (the urgent threshold, about two
seconds into the call) or took the second frame of the first words (judged
by the silence before the call).  Live, through the PBX's echo test, that
cost Opus 0.07 PESQ at the loopback's phase, and up to 0.26 at others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from iaxphone.media.jitterbuffer import JitterBuffer, PlayoutKind

FRAME = 20
PAUSE_MS = 100  # as the media session: this long quiet is a pause
SPURT, GAP = 150, 25  # 3 s of speech, then 0.5 s of pause


def words(index: int) -> bool:
    """Frame ``index`` is speech; frame 0 is quiet, as a decoder's first frame often is."""
    return 1 <= index % (SPURT + GAP) < SPURT


@dataclass
class Call:
    jb: JitterBuffer = field(default_factory=JitterBuffer)
    started_at: float | None = None
    skips: list[tuple[float, int]] = field(default_factory=list)  # (when, frame index)


def play_clean_call(
    phase_ms: float, speech: Callable[[int], bool], frames: int = 2 * (SPURT + GAP)
) -> Call:
    """A clean link, arrivals ``phase_ms`` off the playout tick; the talking flag is worked
    out from what was played, as MediaSession does."""
    call = Call()
    jb = call.jb
    quiet_ms = PAUSE_MS  # silence before the call counts as a pause
    arrival = [(20 + phase_ms + i * FRAME) / 1000 for i in range(frames)]
    a = 0
    for tick in range(frames + 50):
        now = tick * FRAME / 1000
        while a < frames and arrival[a] <= now:
            jb.put(a * FRAME, a.to_bytes(4, "big"), arrival[a])
            a += 1
        out = jb.get(now, quiet_ms < PAUSE_MS)
        if jb.started and call.started_at is None:
            call.started_at = now
        if out.skipped_payload is not None:
            call.skips.append((now, int.from_bytes(out.skipped_payload, "big")))
        loud = out.kind is PlayoutKind.FRAME and speech(int.from_bytes(out.payload, "big"))
        quiet_ms = 0 if loud else quiet_ms + FRAME
    return call


@pytest.mark.parametrize("phase_ms", [p / 4 for p in range(4 * FRAME)])
def test_start_up_surplus_is_shed_in_pauses_only_whatever_the_phase(phase_ms: float) -> None:
    call = play_clean_call(phase_ms, words)
    skipped = [index for _, index in call.skips]
    assert skipped, "the start-up surplus is shed"
    assert not [i for i in skipped if words(i)], f"frames of speech skipped: {skipped}"
    stats = call.jb.stats
    assert stats.lost == stats.late == stats.stretched == 0
    assert stats.target_ms == 10 and stats.delay_ms < 10 + FRAME


def test_the_start_counts_as_an_adjustment() -> None:
    """Started a hair under a frame above target: the first skip still waits skip_interval,
    so that the talking flag has heard what is played before a frame may go."""
    for phase in range(10 * FRAME):  # every 0.1 ms of the frame interval
        call = play_clean_call(phase / 10, speech=lambda index: False, frames=100)
        assert call.started_at is not None and call.skips
        first = call.skips[0][0]
        assert first - call.started_at >= call.jb.skip_interval, phase / 10
