"""--play files: every WAV header sox writes is read; broken ones get a reason a user can act on."""

from __future__ import annotations

import shutil
import struct
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from iaxphone.media.virtual import AudioFileError, load_wav
from tests.require import unavailable


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(float) * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def sox_tone(path: Path, *options: str, frequency: int = 440) -> Path:
    if shutil.which("sox") is None:
        unavailable("sox makes the test files")
    subprocess.run(
        ["sox", "-n", *options, str(path), "synth", "1", "sine", str(frequency), "vol", "0.5"],
        check=True,
    )
    return path


@pytest.mark.parametrize(
    "options",
    [
        ("-r", "16000", "-b", "24"),  # WAVE_FORMAT_EXTENSIBLE (0xFFFE), refused before
        ("-r", "8000", "-b", "32"),  # 32-bit: extensible too
        ("-r", "44100", "-b", "16", "-c", "6"),  # six channels: extensible
        ("-r", "48000", "-e", "floating-point", "-b", "32"),  # float
        ("-r", "8000", "-b", "8"),
        ("-r", "22050", "-b", "16", "-c", "2"),
    ],
)
def test_every_sox_wav_is_read_at_the_right_pitch_and_level(
    tmp_path: Path, options: tuple[str, ...]
) -> None:
    path = sox_tone(tmp_path / "tone.wav", *options)
    samples = load_wav(path, 8000)
    assert len(samples) == pytest.approx(8000, abs=2)
    assert dominant_frequency(samples, 8000) == pytest.approx(440, abs=3)
    peak = np.abs(samples[1000:7000]).max() / 32768
    assert peak == pytest.approx(0.5, abs=0.03)


def test_the_header_sox_writes_for_24_bit_is_the_extensible_one(tmp_path: Path) -> None:
    """The case the old reader refused: "unknown format: 65534"."""
    path = sox_tone(tmp_path / "t.wav", "-r", "8000", "-b", "24")
    assert struct.unpack("<H", path.read_bytes()[20:22])[0] == 0xFFFE


def pcm16(path: Path, rate: int = 8000) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(b"\x10\x00" * 800)
    return path


def test_a_wav_declaring_0_hz_is_refused(tmp_path: Path) -> None:
    path = pcm16(tmp_path / "zero.wav")
    data = bytearray(path.read_bytes())
    data[24:28] = struct.pack("<I", 0)
    path.write_bytes(bytes(data))
    with pytest.raises(AudioFileError, match="declares a sample rate of 0 Hz"):
        load_wav(path, 8000)


def test_a_truncated_header_says_so(tmp_path: Path) -> None:
    path = tmp_path / "cut.wav"
    path.write_bytes(pcm16(tmp_path / "whole.wav").read_bytes()[:30])
    with pytest.raises(AudioFileError) as failure:
        load_wav(path, 8000)
    assert str(failure.value) == f"{path}: not a PCM WAV file (the header is cut short: 30 bytes)"


def test_an_empty_or_foreign_file_says_what_it_is(tmp_path: Path) -> None:
    empty, text = tmp_path / "empty.wav", tmp_path / "notes.wav"
    empty.write_bytes(b"")
    text.write_text("call me back\n" * 20)
    with pytest.raises(
        AudioFileError, match=r"empty\.wav: not a PCM WAV file \(the file is empty\)"
    ):
        load_wav(empty, 8000)
    with pytest.raises(AudioFileError, match=r"not a PCM WAV file \(format not recognised\)"):
        load_wav(text, 8000)


def test_a_directory_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(AudioFileError, match="Is a directory"):
        load_wav(tmp_path, 8000)
