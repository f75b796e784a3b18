"""GSM 06.10 full rate (13.2 kbit/s) through libgsm, via ctypes.

Theory of operation
-------------------
GSM full rate is RPE-LTP: every 20 ms (160 samples at 8 kHz) becomes one
33-byte frame (a 4-bit 0xD signature plus 260 bits of parameters), so a
payload of ``frame_ms`` carries ``frame_ms / 20`` frames back to back, the
layout Asterisk's ``codec_gsm`` uses on IAX2.  Encoder and decoder keep state
(LTP history, filters), so one of each lives for a whole call.

Why libgsm through ctypes: Jutta Degener and Carsten Bormann's libgsm is the
reference implementation that Asterisk, SoX and everyone else link, Debian
ships it as ``libgsm1``, and its API is four functions, so a ctypes binding
needs no compiled extension and no PyPI package.  ``gsm_decode`` checks the
signature nibble and returns -1 on a mismatch, which we turn into
:class:`CodecError`; a payload that is not a whole number of 33-byte frames
is rejected the same way (all signatures are checked before any frame
touches the decoder state).  libgsm has no packet-loss concealment.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import weakref
from functools import cache

import numpy as np

from iaxphone.wire.constants import Format

from .base import PCM, CodecError, CodecUnavailableError, Decoder, Encoder

__all__ = ["FRAME_BYTES", "FRAME_SAMPLES", "GsmDecoder", "GsmEncoder"]

FRAME_SAMPLES = 160
"""Samples in one GSM frame (20 ms at 8 kHz)."""
FRAME_BYTES = 33
"""Bytes in one GSM frame."""

_MISSING = "GSM needs libgsm1: apt-get install libgsm1"


@cache
def _lib() -> ctypes.CDLL:
    """Load libgsm once and declare the four functions we call."""
    names = [ctypes.util.find_library("gsm"), "libgsm.so.1"]
    for name in names:
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        lib.gsm_create.argtypes = []
        lib.gsm_create.restype = ctypes.c_void_p
        lib.gsm_destroy.argtypes = [ctypes.c_void_p]
        lib.gsm_destroy.restype = None
        lib.gsm_encode.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        lib.gsm_encode.restype = None
        lib.gsm_decode.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        lib.gsm_decode.restype = ctypes.c_int
        return lib
    raise CodecUnavailableError(_MISSING)


class _GsmState:
    """One ``struct gsm_state``, destroyed when its owner is collected."""

    def __init__(self) -> None:
        self.lib = _lib()
        handle = self.lib.gsm_create()
        if not handle:
            raise MemoryError("gsm_create failed")
        self.handle: int = handle
        weakref.finalize(self, self.lib.gsm_destroy, handle)


class GsmEncoder(Encoder):
    """8 kHz PCM -> GSM 06.10 (33 bytes per 20 ms)."""

    name = "gsm"
    format = Format.GSM
    frame_ms_choices = (20, 40, 60)

    def __init__(self, frame_ms: int = 20) -> None:
        super().__init__(8000, frame_ms)
        self._state = _GsmState()

    def encode(self, pcm: PCM) -> bytes:
        pcm = self.check_frame(pcm)
        count = pcm.shape[0] // FRAME_SAMPLES
        out = np.empty(count * FRAME_BYTES, dtype=np.uint8)
        src, dst = pcm.ctypes.data, out.ctypes.data
        for i in range(count):
            self._state.lib.gsm_encode(
                self._state.handle, src + 2 * FRAME_SAMPLES * i, dst + FRAME_BYTES * i
            )
        return out.tobytes()


class GsmDecoder(Decoder):
    """GSM 06.10 -> 8 kHz PCM; payloads of whole 33-byte frames."""

    name = "gsm"
    format = Format.GSM
    frame_ms_choices = (20, 40, 60)

    def __init__(self, frame_ms: int = 20) -> None:
        super().__init__(8000, frame_ms)
        self._state = _GsmState()

    def decode(self, payload: bytes) -> PCM:
        count, rest = divmod(len(payload), FRAME_BYTES)
        if count == 0 or rest:
            raise CodecError(
                f"gsm payload of {len(payload)} bytes is not a whole number of "
                f"{FRAME_BYTES}-byte frames"
            )
        src = np.frombuffer(payload, dtype=np.uint8).copy()
        if np.any(src[::FRAME_BYTES] >> 4 != 0xD):  # check all before touching decoder state
            raise CodecError("gsm frame lacks the 0xD signature: not a GSM payload")
        out = np.empty(count * FRAME_SAMPLES, dtype=np.int16)
        src_addr, dst_addr = src.ctypes.data, out.ctypes.data
        for i in range(count):
            if self._state.lib.gsm_decode(
                self._state.handle, src_addr + FRAME_BYTES * i, dst_addr + 2 * FRAME_SAMPLES * i
            ):  # pragma: no cover - the signature was checked above
                raise CodecError(f"gsm frame {i} rejected by libgsm")
        return out
