"""Clock-driven virtual audio devices and WAV handling."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from iaxphone.media.virtual import (
    AudioFileError,
    LoopbackSource,
    MemorySink,
    SilenceSource,
    ToneSource,
    WavSink,
    WavSource,
    load_wav,
)


def write_wav(
    path: Path, samples: np.ndarray, rate: int, channels: int = 1, width: int = 2
) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(float) * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def test_tone_source_is_phase_continuous_and_at_level() -> None:
    tone = ToneSource(1000, 8000, level_dbfs=-6.0)
    frames = np.concatenate([tone.read(160) for _ in range(50)])
    assert dominant_frequency(frames, 8000) == pytest.approx(1000, abs=5)
    assert np.max(np.abs(frames)) == pytest.approx(32767 * 10 ** (-6 / 20), rel=0.01)
    assert np.max(np.abs(np.diff(frames.astype(float)))) < 0.8 * 32767 * 2 * np.pi * 1000 / 8000


def test_wav_source_resamples_and_mixes_down(tmp_path: Path) -> None:
    t = np.arange(44100) / 44100
    left = (10000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    stereo = np.stack([left, left], axis=1).reshape(-1)
    path = tmp_path / "stereo44k.wav"
    write_wav(path, stereo, 44100, channels=2)
    source = WavSource(path, 8000)
    assert len(source.samples) == pytest.approx(8000, abs=2)
    assert dominant_frequency(source.samples, 8000) == pytest.approx(440, abs=5)
    frames = [source.read(160) for _ in range(51)]
    assert source.finished and all(len(f) == 160 for f in frames)
    assert not frames[-1].any()  # silence after the end


def test_eight_bit_wav_is_read(tmp_path: Path) -> None:
    t = np.arange(8000) / 8000
    unsigned = (128 + 100 * np.sin(2 * np.pi * 300 * t)).astype(np.uint8)
    path = tmp_path / "u8.wav"
    write_wav(path, unsigned, 8000, width=1)
    samples = load_wav(path, 8000)
    assert dominant_frequency(samples, 8000) == pytest.approx(300, abs=5)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"RIFF\x00\x00junk", "not a PCM WAV file"),
        (b"", "not a PCM WAV file"),
    ],
)
def test_bad_wav_files_raise_a_clear_error(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "bad.wav"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(AudioFileError, match=message) as failure:
        load_wav(path, 8000)
    assert str(path) in str(failure.value)


def test_wav_sink_writes_what_it_was_given(tmp_path: Path) -> None:
    path = tmp_path / "out.wav"
    sink = WavSink(path, 16000)
    tone = ToneSource(700, 16000)
    written = [tone.read(320) for _ in range(25)]
    for chunk in written:
        sink.write(chunk)
    sink.close()
    assert np.array_equal(load_wav(path, 16000), np.concatenate(written))


def test_wav_sink_in_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AudioFileError, match="cannot write"):
        WavSink(tmp_path / "nope" / "out.wav", 8000)


def test_loopback_returns_what_was_written_and_silence_when_empty() -> None:
    loop = LoopbackSource(8000)
    sink = loop.sink()
    assert not loop.read(160).any()
    tone = ToneSource(500, 8000)
    chunks = [tone.read(100) for _ in range(5)]
    for chunk in chunks:
        sink.write(chunk)
    out = np.concatenate([loop.read(160) for _ in range(4)])
    assert np.array_equal(out[:500], np.concatenate(chunks)) and not out[500:].any()


def test_memory_sink_and_silence() -> None:
    sink = MemorySink(8000)
    sink.write(SilenceSource(8000).read(160))
    sink.write(np.ones(160, dtype=np.int16))
    assert (
        len(sink.samples) == 320
        and sink.samples[:160].sum() == 0
        and sink.samples[160:].sum() == 160
    )
