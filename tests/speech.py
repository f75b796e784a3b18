"""Speech for tests and benchmarks, made on the spot with espeak-ng (nothing downloaded)."""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soxr

SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "Please call the reception desk when you arrive at the office.",
)


def have_espeak() -> bool:
    return shutil.which("espeak-ng") is not None


@functools.cache
def speech(
    rate: int = 8000, voice: str = "en", sentences: tuple[str, ...] = SENTENCES
) -> npt.NDArray[np.int16]:
    """A few seconds of synthetic speech at ``rate`` Hz, 16-bit mono (``en+f3``: a female voice)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "speech.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-w", str(path), " ".join(sentences)],
            check=True,
            capture_output=True,
        )
        with wave.open(str(path)) as wav:
            native = wav.getframerate()
            samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    resampled = soxr.resample(samples.astype(np.float32), native, rate)
    clipped: npt.NDArray[np.int16] = np.clip(np.rint(resampled), -32768, 32767).astype(np.int16)
    return clipped
