"""In-band DTMF: generated tones are detected once each; speech and noise are not digits."""

from __future__ import annotations

import numpy as np
import pytest

from iaxphone.media.codecs import make_decoder, make_encoder
from iaxphone.media.dtmf import DtmfDetector, DtmfGenerator, frequencies
from iaxphone.wire.constants import Format
from tests.require import unavailable
from tests.speech import have_espeak, speech

ALL = "123A456B789C*0#D"


def keyed(digits: str, rate: int, on_ms: int = 80, off_ms: int = 60) -> np.ndarray:
    gen = DtmfGenerator(rate)
    silence = np.zeros(rate * off_ms // 1000, dtype=np.int16)
    parts = [silence]
    for digit in digits:
        parts += [gen.tone(digit, on_ms), silence]
    return np.concatenate(parts)


@pytest.mark.parametrize("rate", [8000, 16000])
def test_every_digit_is_detected_once_in_order(rate: int) -> None:
    detector = DtmfDetector(rate)
    audio = keyed(ALL, rate)
    found: list[str] = []
    for start in range(0, len(audio), rate // 50):  # fed in 20 ms frames
        found += detector.feed(audio[start : start + rate // 50])
    assert "".join(found) == ALL


def test_a_long_key_press_is_one_digit_and_repeats_need_a_gap() -> None:
    detector = DtmfDetector()
    assert detector.feed(keyed("5", 8000, on_ms=1000)) == ["5"]
    assert detector.feed(keyed("55", 8000)) == ["5", "5"]


def test_too_short_a_tone_is_not_a_digit() -> None:
    assert DtmfDetector().feed(keyed("7", 8000, on_ms=25)) == []


def test_digits_survive_a_g711_round_trip() -> None:
    encoder, decoder = make_encoder(Format.ULAW), make_decoder(Format.ULAW)
    audio = keyed("0123456789*#", 8000)
    audio = audio[: len(audio) // 160 * 160]
    decoded = np.concatenate(
        [decoder.decode(encoder.encode(audio[i : i + 160])) for i in range(0, len(audio), 160)]
    )
    assert "".join(DtmfDetector().feed(decoded)) == "0123456789*#"


def test_speech_and_noise_are_not_digits() -> None:
    if not have_espeak():
        unavailable("espeak-ng is not installed (make system)")
    detector = DtmfDetector()
    assert detector.feed(speech(8000)) == []
    rng = np.random.default_rng(1)
    assert detector.feed((rng.normal(0, 3000, 80000)).astype(np.int16)) == []


def test_a_chord_of_two_rows_is_not_a_digit() -> None:
    t = np.arange(8000) / 8000
    chord = 6000 * (
        np.sin(2 * np.pi * 697 * t) + np.sin(2 * np.pi * 852 * t) + np.sin(2 * np.pi * 1336 * t)
    )
    assert DtmfDetector().feed(chord.astype(np.int16)) == []


def test_generator_levels_and_unknown_digits() -> None:
    tone = DtmfGenerator(8000, level_dbfs=-14).tone("8", 100)
    assert len(tone) == 800
    assert np.max(np.abs(tone)) <= 2 * 32767 * 10 ** (-14 / 20) + 1
    assert frequencies("#") == (941.0, 1477.0)
    with pytest.raises(ValueError, match="not a DTMF digit"):
        frequencies("x")
