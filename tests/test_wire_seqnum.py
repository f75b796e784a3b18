"""Wrap-around tests for iaxphone.wire.seqnum, including a model of chan_iax2's C arithmetic."""

from __future__ import annotations

import random

import pytest

from iaxphone.wire.seqnum import (
    seq_add,
    seq_between,
    seq_diff,
    seq_le,
    seq_lt,
    ts_add,
    ts_diff,
    ts_lt,
    unwrap_timestamp,
    unwrap_video_timestamp,
)


@pytest.mark.parametrize(
    ("a", "b", "diff"),
    [(0, 0, 0), (1, 0, 1), (0, 1, -1), (0, 255, 1), (255, 0, -1), (127, 0, 127), (128, 0, -128)],
)
def test_seq_diff(a: int, b: int, diff: int) -> None:
    assert seq_diff(a, b) == diff
    assert seq_lt(a, b) == (diff < 0)
    assert seq_le(a, b) == (diff <= 0)


def test_seq_add_wraps() -> None:
    assert seq_add(255, 1) == 0
    assert seq_add(250, 10) == 4
    assert seq_add(3, -5) == 254


def test_seq_lt_across_wrap() -> None:
    assert seq_lt(250, 5)
    assert not seq_lt(5, 250)
    assert seq_le(7, 7)


@pytest.mark.parametrize(
    ("x", "low", "high", "inside"),
    [
        (5, 3, 10, True),
        (3, 3, 10, True),
        (10, 3, 10, True),
        (11, 3, 10, False),
        (2, 3, 10, False),
        (0, 250, 4, True),
        (255, 250, 4, True),
        (249, 250, 4, False),
        (5, 250, 4, False),
        (7, 7, 7, True),
    ],
)
def test_seq_between(x: int, low: int, high: int, inside: bool) -> None:
    assert seq_between(x, low, high) is inside


@pytest.mark.parametrize(
    ("last", "low", "expected"),
    [
        (0x00010000 + 1000, 1020, 0x00010000 + 1020),  # same period
        (0x0001FFF0, 0x0010, 0x00020010),  # mini ts wrapped before the full frame said so
        (0x00020010, 0xFFF0, 0x0001FFF0),  # late frame from the previous period
        (0xFFFFFFF0, 0x0010, 0x00000010),  # 32-bit wrap forward
        (5, 0xFFF0, 0xFFFFFFF0),  # before zero: wraps back to the top
        (0x00010000, 50000, 0x00010000 + 50000),  # exactly the threshold: kept
        (0x00010000, 50001, 50001),  # just past it: pushed back a period
        (0x00010000 + 60000, 9999, 0x00020000 + 9999),  # 50001 back: pushed forward
    ],
)
def test_unwrap_mini_timestamp(last: int, low: int, expected: int) -> None:
    assert unwrap_timestamp(last, low) == expected


def test_unwrap_video_timestamp_uses_15_bits_and_25s() -> None:
    assert unwrap_video_timestamp(0x00007FF0, 0x0010) == 0x00008010
    assert unwrap_video_timestamp(0x00008010, 0x7FF0) == 0x00007FF0
    assert unwrap_video_timestamp(0x00008000, 25000) == 0x00008000 + 25000
    assert unwrap_video_timestamp(0x00008000, 25001) == 25001


def _asterisk_unwrap(last: int, low: int, shift: int) -> int:
    """chan_iax2's unwrap_timestamp() with C 32-bit int semantics made explicit."""

    def as_int32(v: int) -> int:
        v &= 0xFFFFFFFF
        return v - (1 << 32) if v & 0x80000000 else v

    lower_mask = (1 << shift) - 1
    upper_mask = as_int32(~lower_mask)
    last_upper = as_int32(last & upper_mask)
    ts = ((last & upper_mask) | low) & 0xFFFFFFFF  # fr->ts as first reconstructed
    if (ts & upper_mask & 0xFFFFFFFF) == (last_upper & 0xFFFFFFFF):
        x = as_int32(ts - last)
        threshold = 25000 if shift == 15 else 50000
        if x < -threshold:
            ts = ((last_upper + (1 << shift)) | (ts & lower_mask)) & 0xFFFFFFFF
        elif x > threshold:
            ts = ((last_upper - (1 << shift)) | (ts & lower_mask)) & 0xFFFFFFFF
    return ts


def test_unwrap_matches_asterisk_model() -> None:
    rng = random.Random(5456)
    edges = [0, 1, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFF0000, 0xFFFFFFFF]
    for _ in range(20000):
        last = rng.choice(edges) if rng.random() < 0.2 else rng.getrandbits(32)
        last = (last + rng.randint(-70000, 70000)) & 0xFFFFFFFF
        for shift in (16, 15):
            low = rng.getrandbits(shift)
            assert unwrap_timestamp(last, low, shift) == _asterisk_unwrap(last, low, shift)


def test_unwrap_follows_a_steady_stream_across_many_wraps() -> None:
    last = 0xFFFE0000
    true_ts = last
    for _ in range(20000):  # 20 ms steps, > 6 wraps of 16 bits and one of 32 bits
        true_ts = (true_ts + 20) & 0xFFFFFFFF
        got = unwrap_timestamp(last, true_ts & 0xFFFF)
        assert got == true_ts
        last = got


def test_ts_diff_and_add() -> None:
    assert ts_diff(5, 0xFFFFFFFB) == 10
    assert ts_diff(0xFFFFFFFB, 5) == -10
    assert ts_diff(0x80000000, 0) == -(1 << 31)
    assert ts_diff(0x7FFFFFFF, 0) == (1 << 31) - 1
    assert ts_add(0xFFFFFFFF, 2) == 1
    assert ts_lt(0xFFFFFFF0, 3)
    assert not ts_lt(3, 0xFFFFFFF0)
