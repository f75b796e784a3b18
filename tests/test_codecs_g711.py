"""G.711: our numpy tables against CPython's audioop (bit-exact), plus framing rules."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from iaxphone.media.codecs import CodecError
from iaxphone.media.codecs.g711 import (
    ALAW_DECODE,
    ALAW_ENCODE,
    ULAW_DECODE,
    ULAW_ENCODE,
    AlawDecoder,
    AlawEncoder,
    UlawDecoder,
    UlawEncoder,
    alaw2lin,
    lin2alaw,
    lin2ulaw,
    ulaw2lin,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

ALL_SAMPLES = np.arange(-32768, 32768, dtype=np.int16)
ALL_CODES = bytes(range(256))


def test_tables_shape_and_read_only() -> None:
    assert ULAW_ENCODE.shape == ALAW_ENCODE.shape == (65536,)
    assert ULAW_ENCODE.dtype == ALAW_ENCODE.dtype == np.uint8
    assert ULAW_DECODE.shape == ALAW_DECODE.shape == (256,)
    assert ULAW_DECODE.dtype == ALAW_DECODE.dtype == np.int16
    with pytest.raises(ValueError, match="read-only"):
        ULAW_ENCODE[0] = 1


def test_ulaw_encode_matches_audioop_for_every_sample() -> None:
    assert lin2ulaw(ALL_SAMPLES) == audioop.lin2ulaw(ALL_SAMPLES.tobytes(), 2)


def test_alaw_encode_matches_audioop_for_every_sample() -> None:
    assert lin2alaw(ALL_SAMPLES) == audioop.lin2alaw(ALL_SAMPLES.tobytes(), 2)


def test_ulaw_decode_matches_audioop_for_every_code() -> None:
    assert ulaw2lin(ALL_CODES).tobytes() == audioop.ulaw2lin(ALL_CODES, 2)


def test_alaw_decode_matches_audioop_for_every_code() -> None:
    assert alaw2lin(ALL_CODES).tobytes() == audioop.alaw2lin(ALL_CODES, 2)


def test_codes_survive_a_round_trip() -> None:
    # A-law has no negative zero, so every code maps back to itself; u-law's
    # 0x7F ("-0") decodes to 0, which encodes as 0xFF ("+0").
    assert lin2alaw(alaw2lin(ALL_CODES)) == ALL_CODES
    expected = bytearray(ALL_CODES)
    expected[0x7F] = 0xFF
    assert lin2ulaw(ulaw2lin(ALL_CODES)) == bytes(expected)


def test_known_values() -> None:
    assert lin2ulaw(np.array([0, 32767, -32768], np.int16)) == b"\xff\x80\x00"
    assert lin2alaw(np.array([0, 32767, -32768], np.int16)) == b"\xd5\xaa\x2a"
    assert ulaw2lin(b"\xff\x80\x00").tolist() == [0, 32124, -32124]
    assert alaw2lin(b"\xd5\xaa\x2a").tolist() == [8, 32256, -32256]


@pytest.mark.parametrize(
    ("encoder_cls", "decoder_cls"), [(UlawEncoder, UlawDecoder), (AlawEncoder, AlawDecoder)]
)
@pytest.mark.parametrize("frame_ms", [10, 20, 30, 60])
def test_frame_is_one_byte_per_sample(encoder_cls: type, decoder_cls: type, frame_ms: int) -> None:
    encoder, decoder = encoder_cls(frame_ms), decoder_cls(frame_ms)
    assert encoder.sample_rate == decoder.sample_rate == 8000
    pcm = (np.arange(8 * frame_ms) * 97 % 20000 - 10000).astype(np.int16)
    payload = encoder.encode(pcm)
    assert len(payload) == 8 * frame_ms
    out = decoder.decode(payload)
    assert out.dtype == np.int16 and out.shape == pcm.shape


@pytest.mark.parametrize("encoder_cls", [UlawEncoder, AlawEncoder])
def test_encoder_rejects_wrong_frames(encoder_cls: type) -> None:
    encoder = encoder_cls()
    with pytest.raises(CodecError, match="160 samples"):
        encoder.encode(np.zeros(159, np.int16))
    with pytest.raises(CodecError, match="int16"):
        encoder.encode(np.zeros(160, np.float32))
    with pytest.raises(CodecError, match="int16"):
        encoder.encode(np.zeros((2, 80), np.int16))
    with pytest.raises(ValueError, match="cannot use 25 ms"):
        encoder_cls(25)


@pytest.mark.parametrize("decoder_cls", [UlawDecoder, AlawDecoder])
def test_decoder_rejects_empty_payload(decoder_cls: type) -> None:
    with pytest.raises(CodecError, match="empty"):
        decoder_cls().decode(b"")
