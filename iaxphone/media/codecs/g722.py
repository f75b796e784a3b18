"""G.722 wideband ADPCM (64 kbit/s) through FFmpeg's codec, via PyAV.

Theory of operation
-------------------
G.722 splits 16 kHz PCM with a 24-tap QMF into a low and a high sub-band and
codes them with 6- and 2-bit ADPCM: one byte per two input samples, so a
20 ms frame is 320 samples in and 160 bytes out.  Both directions carry
predictor state, so one encoder and one decoder live for a whole call; the
filter bank delays the signal by 22 samples (1.4 ms).  No native concealment.

Why PyAV: the ``av`` package ships FFmpeg in manylinux wheels (no compiler,
no system library), is actively maintained and fully typed, and FFmpeg's
``g722`` codec derives from the same spandsp code as Asterisk's
``codec_g722``, so the bitstreams match what a PBX sends.  The alternative
``g722`` PyPI package (sippy's libg722) is smaller but a less-used C
extension built per platform.  PyAV re-chunks encoder input into
``frame_size`` pieces, so the encoder is opened with ``frame_size`` equal to
our packetisation (10-60 ms) to get exactly one payload per frame with no
added latency.

IAX2 note: Asterisk stamps G.722 at an 8 kHz RTP-style clock, a well known
quirk of the format; this module only deals in 16 kHz PCM and 8 bytes per
millisecond of audio, and leaves timestamps to the protocol layer.
"""

from __future__ import annotations

from typing import Literal

import av
import numpy as np
from av.audio.codeccontext import AudioCodecContext

from iaxphone.wire.constants import Format

from .base import PCM, CodecError, Decoder, Encoder

__all__ = ["G722Decoder", "G722Encoder"]

SAMPLE_RATE = 16000


def _context(frame_size: int | None = None) -> AudioCodecContext:
    """An encoder context when ``frame_size`` is given, else a decoder context."""
    mode: Literal["r", "w"] = "r" if frame_size is None else "w"
    ctx = av.CodecContext.create("g722", mode)
    ctx.sample_rate = SAMPLE_RATE
    ctx.layout = "mono"
    if frame_size is not None:
        ctx.format = "s16"
        ctx.options = {"frame_size": str(frame_size)}
    ctx.open()
    return ctx


class G722Encoder(Encoder):
    """16 kHz PCM -> G.722 at 64 kbit/s (160 bytes per 20 ms)."""

    name = "g722"
    format = Format.G722

    def __init__(self, frame_ms: int = 20) -> None:
        super().__init__(SAMPLE_RATE, frame_ms)
        self._ctx = _context(self.samples_per_frame)
        self._pts = 0

    def encode(self, pcm: PCM) -> bytes:
        pcm = self.check_frame(pcm)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._pts
        self._pts += pcm.shape[0]
        payload = b"".join(bytes(packet) for packet in self._ctx.encode(frame))
        if len(payload) != pcm.shape[0] // 2:  # pragma: no cover - FFmpeg misbehaving
            raise CodecError(f"g722 encoder produced {len(payload)} bytes for {pcm.shape[0]}")
        return payload


class G722Decoder(Decoder):
    """G.722 -> 16 kHz PCM; any non-empty payload, two samples per byte."""

    name = "g722"
    format = Format.G722

    def __init__(self, frame_ms: int = 20) -> None:
        super().__init__(SAMPLE_RATE, frame_ms)
        self._ctx = _context()

    def decode(self, payload: bytes) -> PCM:
        if not payload:
            raise CodecError("empty g722 payload")
        try:
            frames = self._ctx.decode(av.Packet(bytes(payload)))
        except av.FFmpegError as exc:  # pragma: no cover - every byte string is valid G.722
            raise CodecError(f"g722 payload rejected: {exc}") from exc
        chunks = [np.asarray(f.to_ndarray(), dtype=np.int16).reshape(-1) for f in frames]
        pcm: PCM = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
        if pcm.shape[0] != 2 * len(payload):  # pragma: no cover - FFmpeg misbehaving
            raise CodecError(f"g722 decoder produced {pcm.shape[0]} samples for {len(payload)}")
        return pcm
