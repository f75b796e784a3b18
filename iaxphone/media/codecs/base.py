"""Codec interface and registry: PCM frames <-> IAX2 voice payloads.

Theory of operation
-------------------
Sits between the jitter buffer and the audio device, as in baresip's pipeline::

    auplay <- aubuf <- [decode] <- jbuf <- network
    ausrc  -> [encode] -> network

Like aiortc's ``codecs/`` package, every codec is a pair of small stateful
objects, an :class:`Encoder` and a :class:`Decoder`, one pair per call and
direction.  PCM is always a one-dimensional, mono, native-endian
``numpy.int16`` array at the codec's :attr:`~Codec.sample_rate` (8000 Hz, or
16000 Hz for G.722 and wideband Opus); payloads are the bytes an IAX2 voice
frame carries.

* ``Encoder.encode(pcm)`` takes exactly one frame of ``frame_ms`` milliseconds
  (``samples_per_frame`` samples) and returns one payload.
* ``Decoder.decode(payload)`` accepts any whole number of codec frames, since
  the remote end chooses its own packetisation, and returns all their samples.
  A payload that cannot be decoded (empty, truncated, garbage the codec can
  detect) raises :class:`CodecError`, never a crash nor audio of a length
  that does not match the payload.
* ``Decoder.conceal(samples)`` asks the codec for native packet-loss
  concealment (Opus and G.729 have it); ``None`` means "no native PLC, use
  your own" (``media/plc.py``).
* ``Decoder.decode_fec(next_payload, samples)`` rebuilds a lost frame from
  the in-band forward error correction carried by the *next* packet (Opus
  only; ``None`` elsewhere).

The registry :data:`CODECS` maps each IAX2 format bit
(:class:`~iaxphone.wire.constants.Format`) to a :class:`CodecInfo`.  Codec
modules are imported lazily, so a missing native library (libgsm, libbcg729,
libopus) only disables that codec: :func:`supported_formats` leaves it out and
:func:`make_encoder` raises :class:`CodecUnavailableError` telling the user
what to install.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from iaxphone.errors import IaxphoneError
from iaxphone.wire.constants import Format

PCM = npt.NDArray[np.int16]
"""One-dimensional mono signed 16-bit samples."""


class CodecError(IaxphoneError, ValueError):
    """A payload or PCM frame the codec cannot process (wrong size, garbage)."""


class CodecUnavailableError(IaxphoneError, RuntimeError):
    """The codec's native library is not installed on this machine."""


class Codec(ABC):
    """What encoders and decoders share: identity, clock and packetisation."""

    name: ClassVar[str]
    """Short name as users type it and Asterisk spells it: ``"ulaw"``."""
    format: ClassVar[Format]
    """The IAX2 media format bit."""
    frame_ms_choices: ClassVar[tuple[int, ...]] = (10, 20, 30, 40, 50, 60)
    """Packetisations this implementation supports, in milliseconds."""

    def __init__(self, sample_rate: int, frame_ms: int = 20) -> None:
        if frame_ms not in self.frame_ms_choices:
            choices = ", ".join(str(ms) for ms in self.frame_ms_choices)
            raise ValueError(f"{self.name} cannot use {frame_ms} ms frames; choose from {choices}")
        self.sample_rate = sample_rate
        self.frame_ms = frame_ms

    @property
    def samples_per_frame(self) -> int:
        """PCM samples in one frame of ``frame_ms``."""
        return self.sample_rate * self.frame_ms // 1000

    def __repr__(self) -> str:
        return f"{type(self).__name__}(sample_rate={self.sample_rate}, frame_ms={self.frame_ms})"


class Encoder(Codec):
    """Turns one frame of PCM into one payload."""

    @abstractmethod
    def encode(self, pcm: PCM) -> bytes:
        """Encode exactly :attr:`samples_per_frame` samples."""

    def check_frame(self, pcm: PCM) -> PCM:
        """Return ``pcm`` as a contiguous int16 vector of one frame, or raise CodecError."""
        if not isinstance(pcm, np.ndarray) or pcm.dtype != np.int16 or pcm.ndim != 1:
            raise CodecError(f"{self.name} encoder needs a 1-D numpy int16 array")
        if pcm.shape[0] != self.samples_per_frame:
            raise CodecError(
                f"{self.name} encoder needs {self.samples_per_frame} samples "
                f"({self.frame_ms} ms at {self.sample_rate} Hz), got {pcm.shape[0]}"
            )
        return np.ascontiguousarray(pcm)


class Decoder(Codec):
    """Turns payloads back into PCM and, where the codec can, hides losses."""

    @abstractmethod
    def decode(self, payload: bytes) -> PCM:
        """Decode a payload of one or more whole codec frames."""

    def conceal(self, samples: int) -> PCM | None:
        """Codec-native concealment of ``samples`` lost samples; None if the codec has none."""
        del samples
        return None

    def decode_fec(self, next_payload: bytes, samples: int) -> PCM | None:
        """Recover the lost frame before ``next_payload`` from its in-band FEC, if possible."""
        del next_payload, samples
        return None


@dataclass(frozen=True)
class CodecInfo:
    """Static facts about one codec and where its implementation lives."""

    name: str
    format: Format
    sample_rate: int
    """Default PCM sample rate."""
    frame_ms: tuple[int, ...]
    """Supported packetisations in milliseconds (20 is always among them)."""
    bitrate: int | None
    """Constant bit rate in bit/s, or None for variable-rate codecs (Opus)."""
    description: str
    module: str
    """Module under ``iaxphone.media.codecs`` holding the two classes."""
    encoder_class: str
    decoder_class: str
    aliases: tuple[str, ...] = ()

    def payload_size(self, frame_ms: int = 20) -> int | None:
        """Bytes in a payload of ``frame_ms`` (None when the rate is variable)."""
        if self.bitrate is None:
            return None
        return self.bitrate * frame_ms // 8000


CODECS: dict[Format, CodecInfo] = {
    info.format: info
    for info in (
        CodecInfo(
            "ulaw", Format.ULAW, 8000, (10, 20, 30, 40, 50, 60), 64000,
            "G.711 u-law, 64 kbit/s", "g711", "UlawEncoder", "UlawDecoder",
            ("pcmu", "g711u", "mulaw"),
        ),
        CodecInfo(
            "alaw", Format.ALAW, 8000, (10, 20, 30, 40, 50, 60), 64000,
            "G.711 A-law, 64 kbit/s", "g711", "AlawEncoder", "AlawDecoder",
            ("pcma", "g711a"),
        ),
        CodecInfo(
            "g722", Format.G722, 16000, (10, 20, 30, 40, 50, 60), 64000,
            "G.722 wideband ADPCM, 64 kbit/s", "g722", "G722Encoder", "G722Decoder",
        ),
        CodecInfo(
            "gsm", Format.GSM, 8000, (20, 40, 60), 13200,
            "GSM 06.10 full rate, 13.2 kbit/s", "gsm", "GsmEncoder", "GsmDecoder",
        ),
        CodecInfo(
            "opus", Format.OPUS, 16000, (10, 20, 40, 60), None,
            "Opus (SILK wideband, in-band FEC)", "opus", "OpusEncoder", "OpusDecoder",
        ),
        CodecInfo(
            "g729", Format.G729, 8000, (10, 20, 30, 40, 50, 60), 8000,
            "G.729 Annex A, 8 kbit/s", "g729", "G729Encoder", "G729Decoder",
            ("g729a",),
        ),
    )
}  # fmt: skip
"""Every codec iaxphone implements, keyed by IAX2 format bit, in default preference order."""

_BY_NAME: dict[str, CodecInfo] = {
    alias: info for info in CODECS.values() for alias in (info.name, *info.aliases)
}


def _known_names() -> str:
    return ", ".join(info.name for info in CODECS.values())


def codec_by_name(name: str) -> CodecInfo:
    """Look a codec up by name or alias, case-insensitively."""
    key = name.strip().lower()
    try:
        return _BY_NAME[key]
    except KeyError:
        raise ValueError(f"unknown codec {name.strip()!r}; choose from {_known_names()}") from None


def codec_info(fmt: Format | int) -> CodecInfo:
    """Look a codec up by its IAX2 format bit."""
    try:
        return CODECS[Format(fmt)]
    except (KeyError, ValueError):
        raise ValueError(
            f"no codec for format {int(fmt):#x}; iaxphone implements {_known_names()}"
        ) from None


def parse_codec_list(text: str | Iterable[str]) -> list[Format]:
    """Parse ``"ulaw,alaw,g722"`` (or a list of names) into format bits, in order.

    Duplicates are dropped, blanks ignored; an unknown name raises ValueError
    naming the valid choices.
    """
    names = text.replace(";", ",").replace(" ", ",").split(",") if isinstance(text, str) else text
    formats: list[Format] = []
    for name in names:
        if not name.strip():
            continue
        fmt = codec_by_name(name).format
        if fmt not in formats:
            formats.append(fmt)
    if not formats:
        raise ValueError(f"no codecs given; choose from {_known_names()}")
    return formats


def formats_mask(formats: Iterable[Format | int]) -> Format:
    """OR a list of format bits into one capability mask."""
    mask = Format(0)
    for fmt in formats:
        mask |= Format(fmt)
    return mask


@cache
def _classes(fmt: Format) -> tuple[type[Encoder], type[Decoder]]:
    info = codec_info(fmt)
    try:
        module = importlib.import_module(f"{__package__}.{info.module}")
    except ImportError as exc:  # a Python binding is missing from the environment
        raise CodecUnavailableError(f"{info.name} is unavailable: {exc}") from exc
    encoder = getattr(module, info.encoder_class)
    decoder = getattr(module, info.decoder_class)
    if not (issubclass(encoder, Encoder) and issubclass(decoder, Decoder)):
        raise TypeError(f"{info.module} does not define {info.name} codec classes")
    return encoder, decoder


def codec_classes(fmt: Format | int) -> tuple[type[Encoder], type[Decoder]]:
    """The encoder and decoder classes of a format (imports the codec's module)."""
    return _classes(codec_info(fmt).format)


def _kwargs(info: CodecInfo, frame_ms: int | None, sample_rate: int | None) -> dict[str, int]:
    kwargs: dict[str, int] = {}
    if frame_ms is not None:
        kwargs["frame_ms"] = frame_ms
    if sample_rate is not None and sample_rate != info.sample_rate:
        if info.format != Format.OPUS:
            raise ValueError(f"{info.name} runs at {info.sample_rate} Hz, not {sample_rate}")
        kwargs["sample_rate"] = sample_rate
    return kwargs


def make_encoder(
    fmt: Format | int, *, frame_ms: int | None = None, sample_rate: int | None = None
) -> Encoder:
    """A fresh encoder for one call.  Only Opus accepts another ``sample_rate``."""
    info = codec_info(fmt)
    return codec_classes(fmt)[0](**_kwargs(info, frame_ms, sample_rate))


def make_decoder(
    fmt: Format | int, *, frame_ms: int | None = None, sample_rate: int | None = None
) -> Decoder:
    """A fresh decoder for one call.  Only Opus accepts another ``sample_rate``."""
    info = codec_info(fmt)
    return codec_classes(fmt)[1](**_kwargs(info, frame_ms, sample_rate))


def is_available(fmt: Format | int) -> bool:
    """Whether this machine can run the codec (its native library loads)."""
    try:
        make_encoder(fmt)
        make_decoder(fmt)
    except CodecUnavailableError:
        return False
    return True


@cache
def supported_formats() -> Format:
    """Capability mask of the codecs that work on this machine, for NEW/ACCEPT."""
    return formats_mask(fmt for fmt in CODECS if is_available(fmt))
