"""Every codec on real signals: round-trip quality, framing, loss handling, bad input.

Signals: a 1 kHz tone at -10 dBFS, a synthetic voiced "speech" signal (glottal
harmonics of a gliding 140 Hz pitch shaped by three formants, amplitude
modulated at a syllable rate of 4 Hz), and, if ``espeak-ng`` is on PATH, a
real synthesised sentence.  Waveform codecs (G.711, G.722) are held to SNR
bounds; for parametric codecs (GSM, G.729, Opus) waveform SNR says little, so
the tone's FFT peak and level, and the speech's level and log-spectral
distance, are checked instead.  The bounds sit a few dB below what was
measured (see the table above ``WAVEFORM``).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from collections.abc import Callable
from functools import cache

import numpy as np
import pytest

from iaxphone.media.codecs import (
    CODECS,
    PCM,
    CodecError,
    Decoder,
    Encoder,
    is_available,
    make_decoder,
    make_encoder,
)
from iaxphone.wire.constants import Format
from tests.require import unavailable

ALL = list(CODECS)


def _ids(fmt: Format) -> str:
    return CODECS[fmt].name


def _need(fmt: Format) -> None:
    if not is_available(fmt):
        unavailable(f"{CODECS[fmt].name}: native library not installed")


# --------------------------------------------------------------------- signals


@cache
def tone(rate: int, seconds: float = 1.0, freq: float = 1000.0) -> PCM:
    t = np.arange(int(rate * seconds)) / rate
    return (10362 * np.sin(2 * np.pi * freq * t)).astype(np.int16)  # -10 dBFS


@cache
def speechlike(rate: int, seconds: float = 1.0) -> PCM:
    t = np.arange(int(rate * seconds)) / rate
    f0 = 140 + 25 * np.sin(2 * np.pi * 1.5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    x = np.zeros_like(t)
    for k in range(1, 3400 // 140):
        fk = k * f0
        weight = (
            np.exp(-(((fk - 500) / 300) ** 2))
            + 0.6 * np.exp(-(((fk - 1500) / 400) ** 2))
            + 0.3 * np.exp(-(((fk - 2500) / 500) ** 2))
            + 0.05
        )
        x += weight * np.sin(k * phase)
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 4 * t)
    return (x / np.abs(x).max() * envelope * 14000).astype(np.int16)


@cache
def espeak(rate: int) -> PCM:
    exe = shutil.which("espeak-ng")
    if exe is None:
        unavailable("espeak-ng is not on PATH")
    text = "The quick brown fox jumps over the lazy dog. Please call me back at extension 42."
    wav = subprocess.run(
        [exe, "--stdout", "-s", "160", text], capture_output=True, check=True, timeout=20
    ).stdout
    with wave.open(io.BytesIO(wav)) as w:
        source_rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(float)
    n = int(len(x) * rate / source_rate)  # band-limited resampling by FFT truncation
    y = np.fft.irfft(np.fft.rfft(x)[: n // 2 + 1], n) * n / len(x)
    return np.clip(y, -32768, 32767).astype(np.int16)


SIGNALS: dict[str, Callable[[int], PCM]] = {
    "tone": tone,
    "speech": speechlike,
    "espeak": espeak,
}


# ------------------------------------------------------------------- measures


def round_trip(fmt: Format, x: PCM, frame_ms: int = 20) -> tuple[PCM, PCM]:
    encoder, decoder = make_encoder(fmt, frame_ms=frame_ms), make_decoder(fmt, frame_ms=frame_ms)
    n = encoder.samples_per_frame
    x = x[: len(x) // n * n]
    out = [decoder.decode(encoder.encode(x[i : i + n])) for i in range(0, len(x), n)]
    return x, np.concatenate(out)


def snr_db(x: PCM, y: PCM, delay: int, skip: int) -> float:
    a = x[skip : len(x) - delay].astype(float)
    b = y[skip + delay :].astype(float)
    return float(10 * np.log10(np.sum(a * a) / np.sum((a - b) ** 2)))


def level_dbfs(x: PCM) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(x.astype(float) ** 2)) / 32768))


def peak_hz(x: PCM, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * rate / len(x))


def log_spectral_distance(x: PCM, y: PCM, rate: int) -> float:
    """RMS difference in dB of the long-term power spectra, 200-3400 Hz."""

    def spectrum(s: PCM) -> np.ndarray:
        n = rate // 25
        s = s.astype(float)
        frames = [s[i : i + n] * np.hanning(n) for i in range(0, len(s) - n, n // 2)]
        power = np.mean([np.abs(np.fft.rfft(f)) ** 2 for f in frames], axis=0)
        freqs = np.fft.rfftfreq(n, 1 / rate)
        return 10 * np.log10(power[(freqs >= 200) & (freqs <= 3400)] + 1e-9)

    return float(np.sqrt(np.mean((spectrum(x) - spectrum(y)) ** 2)))


# Measured (tone | speech | espeak); the limits below sit a few dB off:
#   ulaw  SNR 40.9 | 37.3 | 37.3 dB        alaw  SNR 40.3 | 37.2 | 37.5 dB
#   g722  SNR 47.6 | 30.2 | 26.0 dB (QMF delay 22 samples)
#   gsm   SNR 34.2 | 11.1 | 10.8 dB; LSD 2.11 | 3.47 dB; level +0.1 | -0.3 | -0.6 dB
#   opus  LSD 0.50 | 0.92 dB; level -0.0 | -0.3 | -0.7 dB (delay 104 samples at 16 kHz)
#   g729  SNR 10.8 on the tone; LSD 2.42 | 3.04 dB; level -0.6 | -0.4 | -0.9 dB
# (a 1 kHz tone at 8 kHz takes only 8 distinct values, so G.711's tone SNR
# depends on the exact amplitude; 10362 = -10 dBFS.)
WAVEFORM = {  # fmt: (delay, {signal: minimum SNR dB})
    Format.ULAW: (0, {"tone": 38, "speech": 34, "espeak": 34}),
    Format.ALAW: (0, {"tone": 37, "speech": 34, "espeak": 34}),
    Format.G722: (22, {"tone": 44, "speech": 27, "espeak": 23}),
}
PARAMETRIC = {  # fmt: {signal: maximum log-spectral distance dB}
    Format.GSM: {"speech": 3.5, "espeak": 4.5},
    Format.OPUS: {"speech": 1.5, "espeak": 2.0},
    Format.G729: {"speech": 3.5, "espeak": 4.0},
}


@pytest.mark.parametrize("fmt", ALL, ids=_ids)
def test_tone_keeps_frequency_and_level(fmt: Format) -> None:
    _need(fmt)
    rate = CODECS[fmt].sample_rate
    x, y = round_trip(fmt, tone(rate))
    skip = rate // 10  # let predictors and filters settle
    assert y.dtype == np.int16 and y.shape == x.shape
    assert abs(peak_hz(y[skip:], rate) - 1000) <= 2
    assert abs(level_dbfs(y[skip:]) - level_dbfs(x[skip:])) < 1.5
    if fmt in WAVEFORM:
        delay, limits = WAVEFORM[fmt]
        assert snr_db(x, y, delay, skip) > limits["tone"]
    elif fmt == Format.GSM:
        assert snr_db(x, y, 0, skip) > 31


@pytest.mark.parametrize("signal", ["speech", "espeak"])
@pytest.mark.parametrize("fmt", ALL, ids=_ids)
def test_speech_round_trip(fmt: Format, signal: str) -> None:
    _need(fmt)
    rate = CODECS[fmt].sample_rate
    x, y = round_trip(fmt, SIGNALS[signal](rate))
    skip = rate // 10
    assert y.shape == x.shape
    if fmt in WAVEFORM:
        delay, limits = WAVEFORM[fmt]
        assert snr_db(x, y, delay, skip) > limits[signal]
        assert abs(level_dbfs(y[skip:]) - level_dbfs(x[skip:])) < 0.3
    else:
        assert abs(level_dbfs(y[skip:]) - level_dbfs(x[skip:])) < 2.0
        assert log_spectral_distance(x[skip:], y[skip:], rate) < PARAMETRIC[fmt][signal]


# --------------------------------------------------------------------- framing

FRAME_SIZES = [  # (format, frame_ms, payload bytes, PCM samples)
    (Format.ULAW, 20, 160, 160),
    (Format.ULAW, 10, 80, 80),
    (Format.ALAW, 20, 160, 160),
    (Format.ALAW, 60, 480, 480),
    (Format.G722, 20, 160, 320),
    (Format.G722, 10, 80, 160),
    (Format.G722, 30, 240, 480),
    (Format.GSM, 20, 33, 160),
    (Format.GSM, 60, 99, 480),
    (Format.G729, 20, 20, 160),
    (Format.G729, 10, 10, 80),
    (Format.G729, 30, 30, 240),
]


@pytest.mark.parametrize(
    ("fmt", "frame_ms", "size", "samples"),
    FRAME_SIZES,
    ids=[f"{CODECS[f].name}-{ms}ms" for f, ms, _, _ in FRAME_SIZES],
)
def test_constant_rate_frame_sizes(fmt: Format, frame_ms: int, size: int, samples: int) -> None:
    _need(fmt)
    encoder, decoder = make_encoder(fmt, frame_ms=frame_ms), make_decoder(fmt, frame_ms=frame_ms)
    assert encoder.samples_per_frame == samples
    pcm = speechlike(encoder.sample_rate)
    for i in range(3):
        payload = encoder.encode(pcm[i * samples : (i + 1) * samples])
        assert len(payload) == size == CODECS[fmt].payload_size(frame_ms)
        assert decoder.decode(payload).shape == (samples,)


@pytest.mark.parametrize("rate", [8000, 16000])
@pytest.mark.parametrize("frame_ms", [10, 20, 40, 60])
def test_opus_frames_are_variable_but_decode_to_the_frame(rate: int, frame_ms: int) -> None:
    _need(Format.OPUS)
    encoder = make_encoder(Format.OPUS, frame_ms=frame_ms, sample_rate=rate)
    decoder = make_decoder(Format.OPUS, frame_ms=frame_ms, sample_rate=rate)
    n = encoder.samples_per_frame
    pcm = speechlike(rate)
    sizes = set()
    for i in range(len(pcm) // n):
        payload = encoder.encode(pcm[i * n : (i + 1) * n])
        sizes.add(len(payload))
        assert 1 <= len(payload) <= 1275
        assert decoder.decode(payload).shape == (n,)
    assert len(sizes) > 1  # VBR


@pytest.mark.parametrize("fmt", ALL, ids=_ids)
def test_decoder_accepts_other_packetisations(fmt: Format) -> None:
    """The peer picks its own frame length: a 20 ms decoder takes a 60 ms payload."""
    _need(fmt)
    encoder, decoder = make_encoder(fmt, frame_ms=60), make_decoder(fmt, frame_ms=20)
    payload = encoder.encode(speechlike(encoder.sample_rate)[: encoder.samples_per_frame])
    assert decoder.decode(payload).shape == (encoder.samples_per_frame,)


@pytest.mark.parametrize("fmt", ALL, ids=_ids)
def test_encoder_rejects_wrong_frames(fmt: Format) -> None:
    _need(fmt)
    encoder = make_encoder(fmt)
    n = encoder.samples_per_frame
    for bad in (np.zeros(n - 1, np.int16), np.zeros(n + 1, np.int16), np.zeros(0, np.int16)):
        with pytest.raises(CodecError, match=f"needs {n} samples"):
            encoder.encode(bad)
    with pytest.raises(CodecError, match="int16"):
        encoder.encode(np.zeros(n, np.float64))  # type: ignore[arg-type]


# ------------------------------------------------------------------- bad input

BAD_PAYLOADS = [  # (format, payload, message fragment)
    *[(fmt, b"", "empty|whole") for fmt in CODECS],
    (Format.GSM, bytes(32), "whole number"),
    (Format.GSM, bytes([0xD0]) + bytes(33), "whole number"),
    (Format.GSM, bytes(33), "signature"),
    (Format.GSM, bytes([0xD0]) + bytes(32) + bytes(33), "signature"),
    (Format.G729, bytes(9), "whole"),
    (Format.G729, bytes(13), "whole"),
    (Format.G729, bytes(1), "whole"),
    (Format.OPUS, b"\x03", "corrupted"),
    (Format.OPUS, b"\x09\x00", "corrupted"),  # code 1: two equal frames in odd bytes
    (Format.OPUS, b"\x0b\x00", "corrupted"),  # code 3 with a frame count of 0
]


@pytest.mark.parametrize(
    ("fmt", "payload", "message"),
    BAD_PAYLOADS,
    ids=[f"{CODECS[f].name}-{len(p)}B" for f, p, _ in BAD_PAYLOADS],
)
def test_bad_payloads_raise_codec_error(fmt: Format, payload: bytes, message: str) -> None:
    _need(fmt)
    decoder = make_decoder(fmt)
    with pytest.raises(CodecError, match=message):
        decoder.decode(payload)
    assert isinstance(CodecError("x"), ValueError)


def _expected_samples(decoder: Decoder, payload: bytes) -> set[int]:
    """Sample counts a decoder may legitimately return for ``payload``."""
    n = len(payload)
    if decoder.format in (Format.ULAW, Format.ALAW):
        return {n}
    if decoder.format == Format.G722:
        return {2 * n}
    if decoder.format == Format.GSM:
        return {n // 33 * 160}
    if decoder.format == Format.G729:
        return {(n + 8) // 10 * 80}
    granule = decoder.sample_rate // 400  # Opus: any multiple of 2.5 ms up to 120 ms
    return {granule * k for k in range(1, 49)}


@pytest.mark.parametrize("fmt", ALL, ids=_ids)
def test_garbage_never_crashes_nor_returns_wrong_lengths(fmt: Format) -> None:
    _need(fmt)
    rng = np.random.default_rng(int(fmt) % 1000)
    decoder = make_decoder(fmt)
    encoder = make_encoder(fmt)
    good = encoder.encode(speechlike(encoder.sample_rate)[: encoder.samples_per_frame])
    candidates = [rng.bytes(int(rng.integers(0, 200))) for _ in range(150)]
    candidates += [good[:cut] for cut in range(len(good))]  # every truncation
    candidates += [bytes([0xD0 | (b & 0x0F)]) + rng.bytes(32) for b in range(16)]  # GSM-ish
    rejected = 0
    for payload in candidates:
        try:
            pcm = decoder.decode(payload)
        except CodecError:
            rejected += 1
            continue
        assert pcm.dtype == np.int16 and pcm.ndim == 1
        assert pcm.shape[0] in _expected_samples(decoder, payload), payload.hex()
    assert rejected >= 1  # at least the empty payload
    assert decoder.decode(good).shape == (decoder.samples_per_frame,)  # still usable


# ---------------------------------------------------------------- loss handling


@pytest.mark.parametrize("fmt", [Format.ULAW, Format.ALAW, Format.G722, Format.GSM], ids=_ids)
def test_codecs_without_native_plc_say_so(fmt: Format) -> None:
    _need(fmt)
    decoder = make_decoder(fmt)
    assert decoder.conceal(decoder.samples_per_frame) is None
    assert decoder.decode_fec(b"\x00" * 40, decoder.samples_per_frame) is None


def _rms(x: PCM) -> float:
    return float(np.sqrt(np.mean(x.astype(float) ** 2)))


def _encode_all(encoder: Encoder, x: PCM) -> list[bytes]:
    n = encoder.samples_per_frame
    return [encoder.encode(x[i : i + n]) for i in range(0, len(x) // n * n, n)]


def test_g729_conceals_with_its_own_erasure_algorithm() -> None:
    _need(Format.G729)
    encoder, decoder = make_encoder(Format.G729), make_decoder(Format.G729)
    for payload in _encode_all(encoder, speechlike(8000))[:20]:
        last = decoder.decode(payload)
    first = decoder.conceal(160)
    assert first is not None and first.dtype == np.int16 and first.shape == (160,)
    assert _rms(first) > 0.1 * _rms(last)  # continues the voice, not silence
    later = [decoder.conceal(160) for _ in range(10)]
    assert all(p is not None and p.shape == (160,) for p in later)
    assert decoder.conceal(80) is not None
    with pytest.raises(CodecError, match="whole 10 ms frames"):
        decoder.conceal(100)
    assert decoder.decode_fec(b"\x00" * 20, 160) is None


@pytest.mark.parametrize("rate", [8000, 16000])
def test_opus_plc_returns_the_requested_samples(rate: int) -> None:
    _need(Format.OPUS)
    encoder = make_encoder(Format.OPUS, sample_rate=rate)
    decoder = make_decoder(Format.OPUS, sample_rate=rate)
    for payload in _encode_all(encoder, speechlike(rate))[:20]:
        decoder.decode(payload)
    for ms in (2.5, 10, 20, 40, 60, 120):
        samples = int(rate * ms / 1000)
        pcm = decoder.conceal(samples)
        assert pcm.dtype == np.int16 and pcm.shape == (samples,)
    for bad in (0, -160, rate // 400 + 1, rate * 121 // 1000):
        with pytest.raises(CodecError, match=r"multiples of 2\.5 ms"):
            decoder.conceal(bad)


@pytest.mark.parametrize("rate", [8000, 16000])
def test_opus_fec_recovers_lost_frames(rate: int) -> None:
    """Lose every 5th packet; FEC from the next packet must rebuild it well."""
    _need(Format.OPUS)
    encoder = make_encoder(Format.OPUS, sample_rate=rate)
    n = encoder.samples_per_frame
    packets = _encode_all(encoder, speechlike(rate, 2.0))
    reference = make_decoder(Format.OPUS, sample_rate=rate)
    clean = [reference.decode(p) for p in packets]
    receiver = make_decoder(Format.OPUS, sample_rate=rate)
    concealer = make_decoder(Format.OPUS, sample_rate=rate)  # same losses, PLC only
    fec_level, fec_error, plc_error = [], [], []
    for i, packet in enumerate(packets):
        lost = i >= 5 and i % 5 == 0 and i + 1 < len(packets)
        if not lost:
            receiver.decode(packet)
            concealer.decode(packet)
            continue
        recovered = receiver.decode_fec(packets[i + 1], n)
        guessed = concealer.conceal(n)
        assert recovered.shape == guessed.shape == (n,)
        original = clean[i].astype(float)
        fec_level.append(20 * np.log10(_rms(recovered) / _rms(clean[i])))
        fec_error.append(20 * np.log10(_rms(original - recovered) / _rms(clean[i])))
        plc_error.append(20 * np.log10(_rms(original - guessed) / _rms(clean[i])))
    # Measured medians over 19 losses: level -0.2 dB; error of the FEC frame
    # -13.1 dB (16 kHz) / -7.6 dB (8 kHz) against about 0 dB for PLC, which
    # guesses the waveform where FEC carries it.  LBRR rides only on frames
    # the encoder's VAD rates as active, so about 55 % of losses get it.
    assert abs(float(np.median(fec_level))) < 1.5
    assert float(np.median(fec_error)) < (-10 if rate == 16000 else -5)
    assert float(np.median(plc_error)) > float(np.median(fec_error)) + 5
    assert np.mean(np.array(fec_error) < -6) > 0.4


def test_opus_fec_argument_checks() -> None:
    _need(Format.OPUS)
    decoder = make_decoder(Format.OPUS)
    with pytest.raises(CodecError, match="empty"):
        decoder.decode_fec(b"", 320)
    with pytest.raises(CodecError, match=r"multiples of 2\.5 ms"):
        decoder.decode_fec(b"\x08\x00", 321)
    with pytest.raises(CodecError, match="corrupted"):
        decoder.decode_fec(b"\x03", 320)
