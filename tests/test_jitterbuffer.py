"""The adaptive jitter buffer on synthetic arrival traces, with a fake clock."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable

import pytest

from iaxphone.media.jitterbuffer import JitterBuffer, PlayoutKind, TimestampExtender

FRAME = 20


def simulate(
    jb: JitterBuffer,
    frames: int,
    *,
    delay: Callable[[int], float | None] = lambda i: 0.030,
    sender_rate: float = 1.0,
    start_ts: int = 1000,
    duplicate: Callable[[int], bool] = lambda i: False,
    ts_of: Callable[[int], int] | None = None,
    talking: Callable[[float], bool] = lambda now: False,
) -> list[tuple[PlayoutKind, int]]:
    """Send ``frames`` frames every 20 ms (scaled by sender_rate), each arriving after
    ``delay(i)`` s (None = lost); pull the buffer every 20 ms; return what was played."""
    arrivals: list[tuple[float, int]] = []
    for i in range(frames):
        d = delay(i)
        if d is None:
            continue
        sent = i * FRAME / 1000 / sender_rate
        ts = ts_of(i) if ts_of else start_ts + i * FRAME
        arrivals.append((sent + d, ts))
        if duplicate(i):
            arrivals.append((sent + d + 0.001, ts))
    arrivals.sort()
    played: list[tuple[PlayoutKind, int]] = []
    end = arrivals[-1][0] + 1.0
    tick = 0.0005  # the pulls happen every 20 ms, phase-shifted from arrivals
    a = 0
    while tick < end:
        while a < len(arrivals) and arrivals[a][0] <= tick:
            jb.put(arrivals[a][1], arrivals[a][1].to_bytes(8, "big"), arrivals[a][0])
            a += 1
        out = jb.get(tick, talking(tick))
        if out.kind is not PlayoutKind.NOTHING:
            played.append((out.kind, out.timestamp))
            if out.kind is PlayoutKind.FRAME:
                assert out.payload == out.timestamp.to_bytes(8, "big")
        tick += FRAME / 1000
    return played


def record_adjustments(jb: JitterBuffer) -> list[float]:
    """The times at which ``jb`` stretches or skips, filled in as it is pulled."""
    adjusted_at: list[float] = []
    original_get = jb.get

    def spy(now: float, talking: bool = False):  # type: ignore[no-untyped-def]
        before = jb.stats.stretched + jb.stats.skipped
        out = original_get(now, talking)
        if jb.stats.stretched + jb.stats.skipped > before:
            adjusted_at.append(now)
        return out

    jb.get = spy  # type: ignore[method-assign]
    return adjusted_at


def frames_played(played: list[tuple[PlayoutKind, int]]) -> list[int]:
    return [ts for kind, ts in played if kind is PlayoutKind.FRAME]


def test_clean_stream_plays_every_frame_in_order_at_low_delay() -> None:
    jb = JitterBuffer()
    played = simulate(jb, 500)
    ts = frames_played(played)
    # From the initial 60 ms the delay converges to the 10 ms floor by skipping
    # at most three frames in the first three seconds; everything else plays in order.
    assert jb.stats.skipped <= 3
    skipped = sorted(set(range(1000, 1000 + 500 * FRAME, FRAME)) - set(ts))
    assert len(skipped) == jb.stats.skipped and all(s < 1000 + 150 * FRAME for s in skipped)
    assert ts == sorted(ts)
    assert jb.stats.lost == 0 and jb.stats.late == 0
    assert jb.stats.underruns <= 3  # only after the stream ends
    assert jb.stats.target_ms == 10
    assert 10 <= jb.stats.delay_ms <= 10 + FRAME


def test_random_loss_is_concealed_and_never_stalls_playout() -> None:
    rng = random.Random(1)
    lost = {i for i in range(1000) if rng.random() < 0.1}
    jb = JitterBuffer()
    played = simulate(jb, 1000, delay=lambda i: None if i in lost else 0.030)
    conceal = [ts for kind, ts in played if kind is PlayoutKind.CONCEAL]
    skipped = set(range(1000, 1000 + 1000 * FRAME, FRAME)) - {ts for _, ts in played}
    expected = {1000 + i * FRAME for i in lost if 0 < i < 999} - skipped
    last = 1000 + 999 * FRAME
    assert {ts for ts in conceal if ts <= last} == expected
    assert len([ts for ts in conceal if ts > last]) <= 3  # after the stream ends
    timeline = [ts for kind, ts in played if kind in (PlayoutKind.FRAME, PlayoutKind.CONCEAL)]
    assert timeline == sorted(timeline) and len(set(timeline)) == len(timeline)
    assert jb.stats.lost + jb.stats.underruns == len(conceal)
    assert jb.stats.underruns <= 3  # only the tail, after the stream ended


def test_short_burst_is_concealed_frame_by_frame() -> None:
    jb = JitterBuffer()
    burst = set(range(200, 203))
    played = simulate(jb, 400, delay=lambda i: None if i in burst else 0.030)
    conceal = [ts for kind, ts in played if kind is PlayoutKind.CONCEAL and ts < 1000 + 400 * FRAME]
    assert conceal == [1000 + i * FRAME for i in sorted(burst)]


def test_long_burst_conceals_three_frames_then_silence_then_resumes() -> None:
    jb = JitterBuffer()
    burst = set(range(200, 215))  # 300 ms
    played = simulate(jb, 400, delay=lambda i: None if i in burst else 0.030)
    conceal = [ts for kind, ts in played if kind is PlayoutKind.CONCEAL and ts < 1000 + 400 * FRAME]
    assert conceal == [1000 + i * FRAME for i in (200, 201, 202)]
    ts = frames_played(played)
    assert 1000 + 215 * FRAME in ts and ts[-1] == 1000 + 399 * FRAME
    assert jb.stats.lost == len(burst)  # 3 concealed, 12 in the silent gap
    assert frames_played(played)[-1] == 1000 + 399 * FRAME


@pytest.mark.parametrize("spread_ms", [20, 40, 60])
def test_jitter_adapts_target_to_the_spread_with_little_late_loss(spread_ms: int) -> None:
    rng = random.Random(spread_ms)
    delays = [0.020 + rng.uniform(0, spread_ms / 1000) for _ in range(3000)]
    jb = JitterBuffer()
    simulate(jb, 3000, delay=lambda i: delays[i])
    late_fraction = jb.stats.lost / 3000
    assert late_fraction <= 0.02, f"late loss {late_fraction:.3%}"
    p95 = sorted(d - 0.020 for d in delays)[int(0.95 * 3000)] * 1000
    assert jb.stats.target_ms <= p95 + FRAME + 5
    assert jb.stats.mean_delay_ms <= p95 + 2 * FRAME


def test_target_grows_fast_and_shrinks_smoothly() -> None:
    rng = random.Random(7)

    def delay(i: int) -> float:
        if 500 <= i < 1000:
            return 0.020 + rng.uniform(0, 0.100)  # a bad patch of network
        return 0.020 + rng.uniform(0, 0.005)

    jb = JitterBuffer()
    targets: list[float] = []
    original_get = jb.get

    def spy(now: float, talking: bool = False):  # type: ignore[no-untyped-def]
        out = original_get(now, talking)
        targets.append(jb.target_ms)
        return out

    jb.get = spy  # type: ignore[method-assign]
    simulate(jb, 2500, delay=delay)
    before, worst = targets[450], max(targets[500:1100])
    assert worst > before + 50, "the target grows when jitter appears"
    first_high = next(i for i, t in enumerate(targets) if t > before + 50)
    assert first_high < 560, "within about a second of the bad patch"
    steps = [a - b for a, b in itertools.pairwise(targets[1100:])]
    assert max(steps) <= 20 * 0.020 + 1e-9, "shrinks by at most 20 ms per second"
    assert targets[-1] < worst - 40, "and does shrink back"


def test_reordered_frames_are_played_in_order() -> None:
    def delay(i: int) -> float:
        return 0.060 if i % 10 == 3 else 0.030  # every tenth frame overtaken by the next ones

    jb = JitterBuffer()
    played = simulate(jb, 500, delay=delay)
    ts = frames_played(played)
    assert ts == sorted(ts)
    assert len(ts) + jb.stats.skipped == 500
    assert jb.stats.lost == 0 and jb.stats.late == 0
    assert jb.stats.out_of_order > 0


def test_duplicates_are_counted_and_played_once() -> None:
    jb = JitterBuffer()
    played = simulate(jb, 300, duplicate=lambda i: i % 7 == 0)
    ts = frames_played(played)
    assert ts == sorted(set(ts)) and len(ts) + jb.stats.skipped == 300
    assert jb.stats.duplicates == len([i for i in range(300) if i % 7 == 0])


def test_a_frame_that_turns_up_after_it_was_concealed_is_late_not_a_duplicate() -> None:
    jb = JitterBuffer()
    # Frame 100 is held up 400 ms: concealed in its turn, then it arrives.
    played = simulate(jb, 200, delay=lambda i: 0.430 if i == 100 else 0.030)
    assert (PlayoutKind.CONCEAL, 1000 + 100 * FRAME) in played
    assert jb.stats.late == 1 and jb.stats.duplicates == 0
    again = JitterBuffer()  # a second copy of a frame that was played is a duplicate
    simulate(again, 200, duplicate=lambda i: i == 100)
    assert again.stats.duplicates == 1 and again.stats.late == 0


@pytest.mark.parametrize("rate", [1.01, 0.99])
def test_clock_drift_is_absorbed_by_skip_or_stretch(rate: float) -> None:
    jb = JitterBuffer()
    played = simulate(jb, 6000, sender_rate=rate)  # 2 minutes, 1 % fast or slow
    if rate > 1:
        assert jb.stats.skipped > 0
    else:
        assert jb.stats.stretched > 0
    assert jb.stats.delay_ms <= jb.stats.target_ms + FRAME
    assert jb.stats.lost == 0 and jb.stats.late == 0
    assert jb.stats.underruns <= 3  # only after the stream ends
    assert len(frames_played(played)) + jb.stats.skipped == 6000


def test_timestamp_jump_resyncs() -> None:
    jb = JitterBuffer()
    played = simulate(jb, 400, ts_of=lambda i: 1000 + i * FRAME if i < 200 else 900_000 + i * FRAME)
    assert jb.stats.resyncs == 1
    after = [ts for ts in frames_played(played) if ts >= 900_000]
    assert len(after) >= 195


def test_extender_crosses_the_32_bit_wrap_in_both_directions() -> None:
    ext = TimestampExtender()
    near = (1 << 32) - 40
    seq = [near, near + 20, (near + 40) % (1 << 32), (near + 60) % (1 << 32), near + 20]
    out = [ext.extend(ts) for ts in seq]
    assert out == [near, near + 20, near + 40, near + 60, near + 20]


def test_across_the_32_bit_wrap_the_buffer_plays_in_order() -> None:
    ext = TimestampExtender()
    start = (1 << 32) - 2000
    jb = JitterBuffer()
    played = simulate(jb, 300, ts_of=lambda i: ext.extend((start + i * FRAME) % (1 << 32)))
    ts = frames_played(played)
    assert ts == sorted(ts) and len(ts) + jb.stats.skipped == 300
    assert ts[0] == start and ts[-1] == start + 299 * FRAME


def test_timestamps_off_the_20_ms_grid_are_followed() -> None:
    # Asterisk, bridging a call, stamps frames 1-5 ms off a regular grid.
    offsets = [0, 3, 1, 4, 2]
    jb = JitterBuffer()
    played = simulate(jb, 500, ts_of=lambda i: 1000 + i * FRAME + offsets[i % 5])
    ts = frames_played(played)
    assert len(ts) + jb.stats.skipped == 500
    assert jb.stats.lost == 0 and jb.stats.late == 0


def test_while_speech_plays_small_adjustments_wait_for_a_pause() -> None:
    """Stretching or skipping mid-word is audible: only pauses (or an emergency) may adjust."""
    rng = random.Random(11)
    rough = [0.020 + rng.uniform(0, 0.060) for _ in range(1000)]
    delays = rough + [0.020 + rng.uniform(0, 0.005) for _ in range(2000)]  # then it calms

    def in_speech(now: float) -> bool:
        return now % 2.0 < 1.5  # 1.5 s talk spurts, 0.5 s pauses

    jb = JitterBuffer()
    adjusted_at = record_adjustments(jb)
    simulate(jb, len(delays), delay=lambda i: delays[i], talking=in_speech)
    mid_speech = [t for t in adjusted_at if in_speech(t)]
    assert len(adjusted_at) >= 3, "the buffer still adapts (in the pauses)"
    assert len(mid_speech) <= 1, mid_speech
    assert jb.stats.late <= 0.02 * len(delays)

    always = JitterBuffer()  # the same network, no pauses at all: adjustments are rarer still
    simulate(always, len(delays), delay=lambda i: delays[i], talking=lambda now: True)
    free = JitterBuffer()
    simulate(free, len(delays), delay=lambda i: delays[i])
    assert always.stats.stretched + always.stats.skipped < free.stats.stretched + free.stats.skipped
    assert always.stats.late <= 0.02 * len(delays)


def test_while_speech_plays_an_emergency_still_adjusts() -> None:
    """A jump in delay during speech: a whole frame short of target, the buffer stretches."""
    jb = JitterBuffer()
    played = simulate(
        jb, 500, delay=lambda i: 0.020 if i < 250 else 0.120, talking=lambda now: True
    )
    assert jb.stats.stretched >= 4, "grows by the 100 ms jump although speech is playing"
    assert jb.stats.late <= 3
    assert frames_played(played) == sorted(frames_played(played))


def test_sound_that_never_pauses_still_sheds_extra_delay_now_and_then() -> None:
    """Music on hold has no pauses: every max_wait_s one adjustment is made anyway."""
    jb = JitterBuffer()  # starts at 60 ms; a clean link wants the 10 ms floor
    adjusted_at = record_adjustments(jb)
    simulate(jb, 1500, talking=lambda now: True)  # 30 s of sound without a pause
    assert jb.stats.skipped >= 2, "the 60 ms start is shed"
    assert jb.stats.delay_ms <= 30
    gaps = [b - a for a, b in itertools.pairwise(adjusted_at)]
    assert all(gap >= jb.max_wait_s - 0.001 for gap in gaps), gaps  # never mid-sound in a hurry
    assert jb.stats.late == 0


def test_a_skipped_frame_is_handed_over_for_stateful_decoders() -> None:
    jb = JitterBuffer()  # starts at 60 ms and skips frames to reach the 10 ms floor
    skipped: list[bytes] = []
    played: list[int] = []
    tick = 0.0005
    for i in range(200):
        jb.put(1000 + i * FRAME, (1000 + i * FRAME).to_bytes(8, "big"), i * 0.020 + 0.030)
        while tick <= i * 0.020 + 0.030:
            out = jb.get(tick)
            if out.skipped_payload is not None:
                skipped.append(out.skipped_payload)
            if out.kind is PlayoutKind.FRAME:
                played.append(out.timestamp)
            tick += 0.020
    assert len(skipped) == jb.stats.skipped >= 2
    skipped_ts = [int.from_bytes(p, "big") for p in skipped]
    assert not set(skipped_ts) & set(played)  # each frame is either played or handed over
    assert sorted(set(skipped_ts) | set(played)) == list(
        range(1000, 1000 + len(played + skipped_ts) * FRAME, FRAME)
    )
