"""G.711 u-law and A-law, in pure numpy.

Theory of operation
-------------------
G.711 is memoryless: every 16-bit sample maps to one 8-bit code and back, so
the whole codec is two lookup tables per law.  The tables are computed once at
import from the segment/quantiser description in ITU-T G.711 (the same
algorithm as Sun's public-domain ``g711.c`` that CPython's ``audioop``,
Asterisk and SoX all use, so the results are bit-exact with them):

* u-law works on 14-bit magnitudes: ``|x >> 2|`` clipped to 8159, plus a bias
  of 33, then the segment (position of the top bit, 0..7) and the four bits
  below it form the code, inverted (sign bit set for positive values).
* A-law works on 13-bit values: ``x >> 3`` (one's-complemented when
  negative), segment and four mantissa bits, the result XORed with 0x55 (and
  the sign bit 0x80 set for positive values).

Encoding indexes a 65536-entry ``uint8`` table with the samples reinterpreted
as ``uint16``; decoding indexes a 256-entry ``int16`` table with the payload's
bytes.  Both are single vectorised numpy operations.

8000 Hz, one byte per sample: 160 bytes per 20 ms frame.  No native packet
loss concealment (G.711 Appendix I is left to ``media/plc.py``).
"""

from __future__ import annotations

import numpy as np

from iaxphone.wire.constants import Format

from .base import PCM, CodecError, Decoder, Encoder

__all__ = [
    "ALAW_DECODE",
    "ALAW_ENCODE",
    "ULAW_DECODE",
    "ULAW_ENCODE",
    "AlawDecoder",
    "AlawEncoder",
    "UlawDecoder",
    "UlawEncoder",
    "alaw2lin",
    "lin2alaw",
    "lin2ulaw",
    "ulaw2lin",
]

_ULAW_BIAS = 0x84  # 132: added to 16-bit magnitudes (33 at 14 bits)
_ULAW_CLIP = 8159  # largest 14-bit magnitude u-law represents


def _segment(value: np.ndarray, ends: list[int]) -> np.ndarray:
    """Index of the first segment end >= value (len(ends) when beyond all)."""
    return np.searchsorted(np.asarray(ends), value, side="left")


def _build_ulaw_encode() -> np.ndarray:
    pcm = np.arange(-32768, 32768, dtype=np.int32) >> 2  # 14-bit, arithmetic shift
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    mag = np.minimum(np.abs(pcm), _ULAW_CLIP) + (_ULAW_BIAS >> 2)
    seg = _segment(mag, [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
    code = (seg << 4) | ((mag >> (seg + 1)) & 0xF)
    code = np.where(seg >= 8, 0x7F, code) ^ mask
    # Reorder so that the table is indexed by the sample's bits as uint16.
    return np.roll(code.astype(np.uint8), 32768)


def _build_ulaw_decode() -> np.ndarray:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    t = (((u & 0x0F) << 3) + _ULAW_BIAS) << ((u & 0x70) >> 4)
    return np.where(u & 0x80, _ULAW_BIAS - t, t - _ULAW_BIAS).astype(np.int16)


def _build_alaw_encode() -> np.ndarray:
    pcm = np.arange(-32768, 32768, dtype=np.int32) >> 3  # 13-bit, arithmetic shift
    mask = np.where(pcm >= 0, 0xD5, 0x55)
    mag = np.where(pcm >= 0, pcm, -pcm - 1)
    seg = _segment(mag, [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])
    mantissa = np.where(seg < 2, mag >> 1, mag >> np.maximum(seg, 1)) & 0x0F
    code = np.where(seg >= 8, 0x7F, (seg << 4) | mantissa) ^ mask
    return np.roll(code.astype(np.uint8), 32768)


def _build_alaw_decode() -> np.ndarray:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    seg = (a & 0x70) >> 4
    t = (a & 0x0F) << 4
    t = np.where(seg == 0, t + 8, (t + 0x108) << np.maximum(seg - 1, 0))
    return np.where(a & 0x80, t, -t).astype(np.int16)


ULAW_ENCODE: np.ndarray = _build_ulaw_encode()
"""65536 u-law codes (uint8) indexed by a sample's bits read as uint16."""
ULAW_DECODE: np.ndarray = _build_ulaw_decode()
"""256 int16 samples indexed by u-law code."""
ALAW_ENCODE: np.ndarray = _build_alaw_encode()
"""65536 A-law codes (uint8) indexed by a sample's bits read as uint16."""
ALAW_DECODE: np.ndarray = _build_alaw_decode()
"""256 int16 samples indexed by A-law code."""
for _table in (ULAW_ENCODE, ULAW_DECODE, ALAW_ENCODE, ALAW_DECODE):
    _table.flags.writeable = False


def _as_uint16(pcm: PCM) -> np.ndarray:
    return np.ascontiguousarray(pcm, dtype=np.int16).view(np.uint16)


def lin2ulaw(pcm: PCM) -> bytes:
    """Encode any number of int16 samples to u-law."""
    return bytes(ULAW_ENCODE[_as_uint16(pcm)].tobytes())


def lin2alaw(pcm: PCM) -> bytes:
    """Encode any number of int16 samples to A-law."""
    return bytes(ALAW_ENCODE[_as_uint16(pcm)].tobytes())


def ulaw2lin(payload: bytes) -> PCM:
    """Decode u-law bytes to int16 samples (one per byte)."""
    out: PCM = ULAW_DECODE[np.frombuffer(payload, dtype=np.uint8)]
    return out


def alaw2lin(payload: bytes) -> PCM:
    """Decode A-law bytes to int16 samples (one per byte)."""
    out: PCM = ALAW_DECODE[np.frombuffer(payload, dtype=np.uint8)]
    return out


class UlawEncoder(Encoder):
    """G.711 u-law encoder (8 kHz, 8 bytes per millisecond)."""

    name = "ulaw"
    format = Format.ULAW

    def __init__(self, frame_ms: int = 20) -> None:
        super().__init__(8000, frame_ms)

    def encode(self, pcm: PCM) -> bytes:
        return lin2ulaw(self.check_frame(pcm))


class UlawDecoder(Decoder):
    """G.711 u-law decoder: any non-empty payload, one sample per byte."""

    name = "ulaw"
    format = Format.ULAW

    def __init__(self, frame_ms: int = 20) -> None:
        super().__init__(8000, frame_ms)

    def decode(self, payload: bytes) -> PCM:
        if not payload:
            raise CodecError("empty ulaw payload")
        return ulaw2lin(payload)


class AlawEncoder(Encoder):
    """G.711 A-law encoder (8 kHz, 8 bytes per millisecond)."""

    name = "alaw"
    format = Format.ALAW

    def __init__(self, frame_ms: int = 20) -> None:
        super().__init__(8000, frame_ms)

    def encode(self, pcm: PCM) -> bytes:
        return lin2alaw(self.check_frame(pcm))


class AlawDecoder(Decoder):
    """G.711 A-law decoder: any non-empty payload, one sample per byte."""

    name = "alaw"
    format = Format.ALAW

    def __init__(self, frame_ms: int = 20) -> None:
        super().__init__(8000, frame_ms)

    def decode(self, payload: bytes) -> PCM:
        if not payload:
            raise CodecError("empty alaw payload")
        return alaw2lin(payload)
