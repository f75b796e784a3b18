"""Opus (RFC 6716) through libopus, via ``opuslib_next``, with FEC and PLC.

Theory of operation
-------------------
The encoder runs libopus in VoIP mode on mono 16 kHz PCM (wideband, the
default here) or 8 kHz (narrowband), which keeps it in its SILK (speech)
layer.  Packets are variable in size: about 60 bytes per 20 ms at the
default 24 kbit/s.  Frames of 10, 20, 40 or 60 ms are single Opus frames.

Loss handling, cheapest first, is what the jitter buffer asks for:

* **In-band FEC** (LBRR): with ``fec=True`` and an expected loss rate
  (``packet_loss_perc``, 10 % by default) each SILK packet also carries a
  coarse copy of the *previous* frame.  When frame *n* is lost but *n + 1*
  has arrived, :meth:`OpusDecoder.decode_fec` decodes *n* from it
  (``opus_decode(..., decode_fec=1)``); then *n + 1* is decoded normally.
* **PLC**: :meth:`OpusDecoder.conceal` calls ``opus_decode`` with no data,
  which extrapolates pitch and fades out; it must be asked for a multiple of
  2.5 ms, the granularity of Opus frames.

The decoder may run at a different rate than the remote encoder (Opus
packets are rate-independent); IAX2 timestamps are in milliseconds, so no
48 kHz RTP clock is involved.  Malformed packets make libopus return
``OPUS_INVALID_PACKET``, raised here as :class:`CodecError`.

Why ``opuslib_next``: a maintained pure-Python ctypes binding to the
system's ``libopus0`` (Debian), so nothing is compiled and the encoder's
CTLs (FEC, loss percentage, bitrate, signal type) are all reachable.  It is
imported lazily because it raises at import time when libopus is missing.
"""

from __future__ import annotations

from functools import cache
from types import ModuleType
from typing import Any

import numpy as np

from iaxphone.wire.constants import Format

from .base import PCM, CodecError, CodecUnavailableError, Decoder, Encoder

__all__ = ["SAMPLE_RATES", "OpusDecoder", "OpusEncoder"]

SAMPLE_RATES = (8000, 12000, 16000, 24000, 48000)
"""PCM rates libopus accepts."""
DEFAULT_SAMPLE_RATE = 16000
MAX_PACKET_MS = 120
"""Longest audio one Opus packet can hold."""


@cache
def _opus() -> ModuleType:
    try:
        import opuslib_next  # noqa: PLC0415 - raises a bare Exception without libopus
    except Exception as exc:
        raise CodecUnavailableError(
            f"Opus needs libopus and opuslib-next: apt-get install libopus0; "
            f"pip install opuslib-next ({exc})"
        ) from exc
    module: ModuleType = opuslib_next
    return module


def _check_rate(name: str, sample_rate: int) -> None:
    if sample_rate not in SAMPLE_RATES:
        rates = ", ".join(str(rate) for rate in SAMPLE_RATES)
        raise ValueError(f"{name} cannot run at {sample_rate} Hz; choose from {rates}")


class OpusEncoder(Encoder):
    """Mono PCM -> Opus (VoIP application, voice signal, in-band FEC)."""

    name = "opus"
    format = Format.OPUS
    frame_ms_choices = (10, 20, 40, 60)

    def __init__(
        self,
        frame_ms: int = 20,
        sample_rate: int = DEFAULT_SAMPLE_RATE,
        *,
        bitrate: int | None = None,
        fec: bool = True,
        packet_loss_perc: int = 10,
    ) -> None:
        _check_rate(self.name, sample_rate)
        super().__init__(sample_rate, frame_ms)
        opus = _opus()
        self._enc: Any = opus.Encoder(sample_rate, 1, "voip")
        self.bitrate = bitrate or (20000 if sample_rate <= 8000 else 28000)
        self._enc.bitrate = self.bitrate
        self._enc.signal = opus.SIGNAL_VOICE
        self._enc.inband_fec = int(fec)
        self._enc.packet_loss_perc = packet_loss_perc if fec else 0

    def encode(self, pcm: PCM) -> bytes:
        pcm = self.check_frame(pcm)
        try:
            payload = self._enc.encode(pcm.tobytes(), pcm.shape[0])
        except _opus().OpusError as exc:  # pragma: no cover - input already validated
            raise CodecError(f"opus encoder failed: {exc}") from exc
        return bytes(payload)


class OpusDecoder(Decoder):
    """Opus -> mono PCM at ``sample_rate``, with native PLC and FEC recovery."""

    name = "opus"
    format = Format.OPUS
    frame_ms_choices = (10, 20, 40, 60)

    def __init__(self, frame_ms: int = 20, sample_rate: int = DEFAULT_SAMPLE_RATE) -> None:
        _check_rate(self.name, sample_rate)
        super().__init__(sample_rate, frame_ms)
        self._dec: Any = _opus().Decoder(sample_rate, 1)
        self._max_samples = sample_rate * MAX_PACKET_MS // 1000
        self._granule = sample_rate // 400  # 2.5 ms

    def _run(self, data: bytes, samples: int, fec: bool) -> PCM:
        try:
            raw = self._dec.decode(data, samples, fec)
        except _opus().OpusError as exc:
            raise CodecError(f"opus payload rejected: {exc}") from exc
        return np.frombuffer(bytes(raw), dtype=np.int16).copy()

    def _check_samples(self, samples: int) -> None:
        if samples <= 0 or samples % self._granule or samples > self._max_samples:
            raise CodecError(
                f"opus conceals multiples of 2.5 ms ({self._granule} samples at "
                f"{self.sample_rate} Hz) up to {MAX_PACKET_MS} ms, not {samples} samples"
            )

    def decode(self, payload: bytes) -> PCM:
        if not payload:
            raise CodecError("empty opus payload")
        return self._run(bytes(payload), self._max_samples, False)

    def conceal(self, samples: int) -> PCM:
        """libopus packet-loss concealment for ``samples`` (a multiple of 2.5 ms)."""
        self._check_samples(samples)
        pcm = self._run(b"", samples, False)
        if pcm.shape[0] != samples:  # pragma: no cover - libopus contract
            raise CodecError(f"opus PLC returned {pcm.shape[0]} samples, asked {samples}")
        return pcm

    def decode_fec(self, next_payload: bytes, samples: int) -> PCM:
        """Rebuild the ``samples`` lost just before ``next_payload`` from its LBRR data.

        Falls back to PLC inside libopus when the packet carries no FEC; call
        :meth:`decode` on ``next_payload`` afterwards as usual.
        """
        self._check_samples(samples)
        if not next_payload:
            raise CodecError("empty opus payload")
        pcm = self._run(bytes(next_payload), samples, True)
        if pcm.shape[0] != samples:  # pragma: no cover - libopus contract
            raise CodecError(f"opus FEC returned {pcm.shape[0]} samples, asked {samples}")
        return pcm
