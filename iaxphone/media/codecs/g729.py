"""G.729 Annex A (8 kbit/s CS-ACELP) through libbcg729, via ctypes.

Theory of operation
-------------------
G.729 codes every 10 ms (80 samples at 8 kHz) into one 10-byte frame, so a
20 ms IAX2 payload is two frames (20 bytes).  With Annex B silence
suppression a peer may end a payload with a 2-byte SID (comfort noise)
frame, so the decoder accepts ``10 * n`` or ``10 * n + 2`` bytes.  Annex A is
bit-stream compatible with plain G.729, which is what Asterisk negotiates as
``g729``.  Both sides are stateful and live for a whole call.

Concealment is native: bcg729 implements the G.729 frame-erasure algorithm
(repeat the last LSPs and pitch, attenuate the gains), used by
:meth:`G729Decoder.conceal` in 10 ms steps.

Why libbcg729 through our own ctypes binding: Belledonne's bcg729 is the free
G.729A implementation Debian ships (``libbcg729-0``).  The ``g729lib`` PyPI
binding around it was tried and rejected: its decoder sizes the output
buffer as ``8 * len(frame)`` samples, so a 2-byte SID frame (or any short
payload) lets the library write 80 samples into a 16-sample buffer; it also
converts samples one by one in Python and raises a bare ``Exception`` at
import when the library is missing.  Six C functions are easy to bind.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import weakref
from functools import cache

import numpy as np

from iaxphone.wire.constants import Format

from .base import PCM, CodecError, CodecUnavailableError, Decoder, Encoder

__all__ = ["FRAME_BYTES", "FRAME_SAMPLES", "SID_BYTES", "G729Decoder", "G729Encoder"]

FRAME_SAMPLES = 80
"""Samples in one G.729 frame (10 ms at 8 kHz)."""
FRAME_BYTES = 10
"""Bytes in one G.729 speech frame."""
SID_BYTES = 2
"""Bytes in an Annex B silence-insertion-descriptor frame."""

_MISSING = "G.729 needs libbcg729: apt-get install libbcg729-0"
_u8 = ctypes.c_uint8
_ptr = ctypes.c_void_p


@cache
def _lib() -> ctypes.CDLL:
    """Load libbcg729 (1.x API, with explicit bit-stream lengths) once."""
    for name in (ctypes.util.find_library("bcg729"), "libbcg729.so.0"):
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        lib.initBcg729EncoderChannel.argtypes = [_u8]
        lib.initBcg729EncoderChannel.restype = _ptr
        lib.closeBcg729EncoderChannel.argtypes = [_ptr]
        lib.closeBcg729EncoderChannel.restype = None
        lib.bcg729Encoder.argtypes = [_ptr, _ptr, _ptr, ctypes.POINTER(_u8)]
        lib.bcg729Encoder.restype = None
        lib.initBcg729DecoderChannel.argtypes = []
        lib.initBcg729DecoderChannel.restype = _ptr
        lib.closeBcg729DecoderChannel.argtypes = [_ptr]
        lib.closeBcg729DecoderChannel.restype = None
        lib.bcg729Decoder.argtypes = [_ptr, _ptr, _u8, _u8, _u8, _u8, _ptr]
        lib.bcg729Decoder.restype = None
        return lib
    raise CodecUnavailableError(_MISSING)


class G729Encoder(Encoder):
    """8 kHz PCM -> G.729A (10 bytes per 10 ms, no VAD/DTX)."""

    name = "g729"
    format = Format.G729

    def __init__(self, frame_ms: int = 20) -> None:
        super().__init__(8000, frame_ms)
        self._lib = _lib()
        handle = self._lib.initBcg729EncoderChannel(0)
        if not handle:
            raise MemoryError("initBcg729EncoderChannel failed")
        self._handle: int = handle
        weakref.finalize(self, self._lib.closeBcg729EncoderChannel, handle)

    def encode(self, pcm: PCM) -> bytes:
        pcm = self.check_frame(pcm)
        count = pcm.shape[0] // FRAME_SAMPLES
        out = np.zeros(count * FRAME_BYTES, dtype=np.uint8)
        length = _u8(0)
        src, dst = pcm.ctypes.data, out.ctypes.data
        for i in range(count):
            self._lib.bcg729Encoder(
                self._handle, src + 2 * FRAME_SAMPLES * i, dst + FRAME_BYTES * i, length
            )
            if length.value != FRAME_BYTES:  # pragma: no cover - only with VAD on
                raise CodecError(f"g729 encoder produced a {length.value}-byte frame")
        return out.tobytes()


class G729Decoder(Decoder):
    """G.729A -> 8 kHz PCM; 10-byte frames, optionally ending in a 2-byte SID."""

    name = "g729"
    format = Format.G729

    def __init__(self, frame_ms: int = 20) -> None:
        super().__init__(8000, frame_ms)
        self._lib = _lib()
        handle = self._lib.initBcg729DecoderChannel()
        if not handle:
            raise MemoryError("initBcg729DecoderChannel failed")
        self._handle: int = handle
        weakref.finalize(self, self._lib.closeBcg729DecoderChannel, handle)

    def _run(self, frames: list[tuple[int, bool, bool]], src: int) -> PCM:
        """Decode (offset, is_sid, erased) frames from buffer address ``src``."""
        out = np.empty(len(frames) * FRAME_SAMPLES, dtype=np.int16)
        dst = out.ctypes.data
        for i, (offset, sid, erased) in enumerate(frames):
            size = SID_BYTES if sid else FRAME_BYTES
            self._lib.bcg729Decoder(
                self._handle, src + offset, size, int(erased), int(sid), 0,
                dst + 2 * FRAME_SAMPLES * i,
            )  # fmt: skip
        return out

    def decode(self, payload: bytes) -> PCM:
        count, rest = divmod(len(payload), FRAME_BYTES)
        if rest not in (0, SID_BYTES) or (count == 0 and rest == 0):
            raise CodecError(
                f"g729 payload of {len(payload)} bytes is not whole {FRAME_BYTES}-byte "
                f"frames (optionally plus a {SID_BYTES}-byte SID)"
            )
        frames = [(FRAME_BYTES * i, False, False) for i in range(count)]
        if rest:
            frames.append((FRAME_BYTES * count, True, False))
        src = np.frombuffer(payload, dtype=np.uint8).copy()
        return self._run(frames, src.ctypes.data)

    def conceal(self, samples: int) -> PCM:
        """G.729 frame-erasure concealment; ``samples`` must be a multiple of 80 (10 ms)."""
        count, rest = divmod(samples, FRAME_SAMPLES)
        if rest or count <= 0:
            raise CodecError(f"g729 conceals whole 10 ms frames of 80 samples, not {samples}")
        blank = np.zeros(FRAME_BYTES, dtype=np.uint8)
        return self._run([(0, False, True)] * count, blank.ctypes.data)
