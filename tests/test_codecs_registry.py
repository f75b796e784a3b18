"""Codec registry: format bits, names, user codec lists, factories, availability."""

from __future__ import annotations

import ctypes

import pytest

from iaxphone.media.codecs import (
    CODECS,
    CodecUnavailableError,
    Decoder,
    Encoder,
    codec_by_name,
    codec_info,
    formats_mask,
    is_available,
    make_decoder,
    make_encoder,
    parse_codec_list,
    supported_formats,
)
from iaxphone.media.codecs import gsm as gsm_module
from iaxphone.wire.constants import Format

EXPECTED = {
    Format.ULAW: ("ulaw", 8000, 160),
    Format.ALAW: ("alaw", 8000, 160),
    Format.G722: ("g722", 16000, 160),
    Format.GSM: ("gsm", 8000, 33),
    Format.OPUS: ("opus", 16000, None),
    Format.G729: ("g729", 8000, 20),
}
CHOICES = "ulaw, alaw, g722, gsm, opus, g729"


def test_registry_is_keyed_by_format_bit() -> None:
    assert set(CODECS) == set(EXPECTED)
    for fmt, (name, rate, size) in EXPECTED.items():
        info = CODECS[fmt]
        assert (info.format, info.name, info.sample_rate) == (fmt, name, rate)
        assert info.payload_size(20) == size
        assert 20 in info.frame_ms


def test_payload_sizes_scale_with_frame_length() -> None:
    assert CODECS[Format.GSM].payload_size(60) == 99
    assert CODECS[Format.G729].payload_size(10) == 10
    assert CODECS[Format.ULAW].payload_size(30) == 240


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("ulaw", Format.ULAW),
        ("ULAW", Format.ULAW),
        (" pcmu ", Format.ULAW),
        ("g711a", Format.ALAW),
        ("PCMA", Format.ALAW),
        ("g722", Format.G722),
        ("gsm", Format.GSM),
        ("Opus", Format.OPUS),
        ("g729a", Format.G729),
    ],
)
def test_codec_by_name(name: str, fmt: Format) -> None:
    assert codec_by_name(name).format == fmt


def test_unknown_name_lists_choices() -> None:
    with pytest.raises(ValueError, match="unknown codec 'foo'; choose from ") as excinfo:
        codec_by_name("foo")
    assert str(excinfo.value) == f"unknown codec 'foo'; choose from {CHOICES}"


def test_parse_codec_list() -> None:
    assert parse_codec_list("ulaw,alaw,g722") == [Format.ULAW, Format.ALAW, Format.G722]
    assert parse_codec_list(" g729 , opus,,ulaw ") == [Format.G729, Format.OPUS, Format.ULAW]
    assert parse_codec_list("alaw ulaw alaw") == [Format.ALAW, Format.ULAW]
    assert parse_codec_list(["gsm", "PCMU"]) == [Format.GSM, Format.ULAW]


def test_parse_codec_list_errors() -> None:
    with pytest.raises(ValueError, match=f"unknown codec 'speex'; choose from {CHOICES}"):
        parse_codec_list("ulaw,speex")
    with pytest.raises(ValueError, match="no codecs given"):
        parse_codec_list(" , ")


def test_formats_mask() -> None:
    mask = formats_mask(parse_codec_list("ulaw,opus"))
    assert mask == Format.ULAW | Format.OPUS
    assert formats_mask([]) == Format(0)


def test_codec_info_by_format() -> None:
    assert codec_info(int(Format.G722)).name == "g722"
    with pytest.raises(ValueError, match="no codec for format 0x1"):
        codec_info(Format.G723_1)
    with pytest.raises(ValueError, match="no codec for format 0x3"):
        codec_info(Format.G723_1 | Format.GSM)


@pytest.mark.parametrize("fmt", list(EXPECTED))
def test_factories(fmt: Format) -> None:
    if not is_available(fmt):
        pytest.skip(f"{CODECS[fmt].name} library not installed")
    name, rate, _ = EXPECTED[fmt]
    encoder, decoder = make_encoder(fmt), make_decoder(fmt)
    assert isinstance(encoder, Encoder) and isinstance(decoder, Decoder)
    for codec in (encoder, decoder):
        assert (codec.name, codec.format, codec.sample_rate, codec.frame_ms) == (
            name,
            fmt,
            rate,
            20,
        )
        assert codec.samples_per_frame == rate // 50
        assert name in repr(codec) or type(codec).__name__ in repr(codec)
    assert make_encoder(fmt, frame_ms=60).samples_per_frame == rate * 60 // 1000


def test_factory_options() -> None:
    assert make_encoder(Format.OPUS, sample_rate=8000).samples_per_frame == 160
    assert make_decoder(Format.OPUS, sample_rate=48000, frame_ms=10).samples_per_frame == 480
    assert make_encoder(Format.ULAW, sample_rate=8000).sample_rate == 8000
    with pytest.raises(ValueError, match="ulaw runs at 8000 Hz, not 16000"):
        make_encoder(Format.ULAW, sample_rate=16000)
    with pytest.raises(ValueError, match="opus cannot run at 11025 Hz"):
        make_decoder(Format.OPUS, sample_rate=11025)
    with pytest.raises(ValueError, match="gsm cannot use 30 ms frames; choose from 20, 40, 60"):
        make_encoder(Format.GSM, frame_ms=30)
    with pytest.raises(ValueError, match="opus cannot use 30 ms"):
        make_decoder(Format.OPUS, frame_ms=30)


def test_supported_formats() -> None:
    mask = supported_formats()
    assert Format.ULAW in mask and Format.ALAW in mask
    assert mask & ~formats_mask(CODECS) == 0
    for fmt in CODECS:
        assert (fmt in mask) == is_available(fmt)


def test_missing_gsm_library_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_library(name: str) -> ctypes.CDLL:
        raise OSError(f"{name}: cannot open shared object file")

    gsm_module._lib.cache_clear()
    monkeypatch.setattr(gsm_module.ctypes.util, "find_library", lambda name: None)
    monkeypatch.setattr(gsm_module.ctypes, "CDLL", no_library)
    try:
        with pytest.raises(CodecUnavailableError, match=r"GSM needs libgsm1: apt-get install"):
            make_decoder(Format.GSM)
        assert not is_available(Format.GSM)
    finally:
        gsm_module._lib.cache_clear()
