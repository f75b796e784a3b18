"""Wrap-around arithmetic for IAX2 sequence numbers and timestamps.

Three counters wrap on the wire:

* sequence numbers (``oseqno``/``iseqno``) are 8 bits and wrap modulo 256;
* mini frames carry only the low 16 bits of the call's 32-bit timestamp
  (meta video frames only the low 15 bits), so the receiver rebuilds the
  full value from the last timestamp it knows;
* full frame timestamps are 32-bit milliseconds and wrap after ~49.7 days.

All functions are pure; nothing here keeps state.
"""

from __future__ import annotations

SEQ_MOD = 256
MINI_TS_BITS = 16
VIDEO_TS_BITS = 15
_U32_MASK = 0xFFFFFFFF


def seq_add(seq: int, n: int) -> int:
    """``seq + n`` modulo 256."""
    return (seq + n) & 0xFF


def seq_diff(a: int, b: int) -> int:
    """Signed distance ``a - b`` of two 8-bit sequence numbers, in ``[-128, 127]``."""
    d = (a - b) & 0xFF
    return d - 256 if d >= 128 else d


def seq_lt(a: int, b: int) -> bool:
    """True if ``a`` comes before ``b`` (within half the sequence space)."""
    return seq_diff(a, b) < 0


def seq_le(a: int, b: int) -> bool:
    """True if ``a`` comes before ``b`` or equals it."""
    return seq_diff(a, b) <= 0


def seq_between(x: int, low: int, high: int) -> bool:
    """True if ``x`` lies in the circular range ``low .. high`` (both inclusive).

    This is the test chan_iax2 uses for "does this iseqno acknowledge frames we
    sent": ``(x - low) mod 256 <= (high - low) mod 256``.
    """
    return ((x - low) & 0xFF) <= ((high - low) & 0xFF)


def unwrap_timestamp(last: int, low: int, bits: int = MINI_TS_BITS) -> int:
    """Rebuild a 32-bit timestamp from its low ``bits`` bits, as chan_iax2 does.

    ``last`` is the call's most recent full 32-bit timestamp and ``low`` the
    16-bit (mini frame) or 15-bit (meta video) value from the wire.  The upper
    bits are taken from ``last``; if that puts the result more than 50 s
    (25 s for 15-bit video) *behind* ``last``, the low counter has wrapped
    before a full frame told us, so the result moves one period forward; if
    it lands more than that *ahead*, this is a late frame from the previous
    period and it moves one period back.  The result wraps modulo 2**32.
    """
    period = 1 << bits
    lower_mask = period - 1
    threshold = 50000 if bits == MINI_TS_BITS else 25000
    last &= _U32_MASK
    upper = last & ~lower_mask & _U32_MASK
    ts = upper | (low & lower_mask)
    delta = ts - last
    if delta < -threshold:
        ts += period
    elif delta > threshold:
        ts -= period
    return ts & _U32_MASK


def unwrap_video_timestamp(last: int, low: int) -> int:
    """:func:`unwrap_timestamp` for the 15-bit timestamp of meta video frames."""
    return unwrap_timestamp(last, low, VIDEO_TS_BITS)


def ts_add(ts: int, n: int) -> int:
    """``ts + n`` modulo 2**32."""
    return (ts + n) & _U32_MASK


def ts_diff(a: int, b: int) -> int:
    """Signed distance ``a - b`` of two 32-bit timestamps, in ``[-2**31, 2**31)``."""
    d = (a - b) & _U32_MASK
    return d - (1 << 32) if d >= (1 << 31) else d


def ts_lt(a: int, b: int) -> bool:
    """True if 32-bit timestamp ``a`` is earlier than ``b`` (modulo 2**32)."""
    return ts_diff(a, b) < 0
