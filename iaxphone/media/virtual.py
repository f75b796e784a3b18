"""Clock-driven virtual audio devices for headless use and tests.

Pipeline position::

    [source] -> encode -> network          network -> ... -> aubuf -> [sink]

Theory of operation
-------------------
A virtual device has no clock of its own: the media session's pacer asks a
source for exactly one frame of samples each frame interval and hands a
sink one frame each interval.  So a 10-second WAV file takes 10 seconds to
send, whatever the machine's speed (ALSA's ``null`` device here is not paced
in real time, which is why these exist).

Sources: a WAV file (any rate, mono or stereo, resampled and mixed down to
the codec's rate with soxr; silence after the end), a sine tone, silence,
and the loopback of a sink.  Sinks: a WAV file (written as it plays, closed
properly so nothing is lost), memory (tests read it back), and null.
"""

from __future__ import annotations

import contextlib
import logging
import wave
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt
import soundfile
import soxr

from iaxphone.errors import IaxphoneError

log = logging.getLogger("iaxphone.media")

Samples = npt.NDArray[np.int16]


class AudioFileError(IaxphoneError):
    """A WAV file that cannot be used; the message names the file and the reason."""


class Source(Protocol):
    rate: int

    def read(self, count: int) -> Samples: ...


class Sink(Protocol):
    rate: int

    def write(self, samples: Samples) -> None: ...
    def close(self) -> None: ...


def load_wav(path: Path, rate: int) -> Samples:
    """A whole sound file as mono int16 at ``rate`` Hz (resampled, channels averaged).

    Read by libsndfile (soundfile): PCM WAV of 8 to 32 bits, float WAV, the
    WAVE_FORMAT_EXTENSIBLE header sox writes for 24-bit, 32-bit and
    multichannel files, and the other formats libsndfile knows (FLAC, Ogg).
    """
    try:
        with path.open("rb") as file:
            head = file.read(64)
    except FileNotFoundError:
        raise AudioFileError(f"{path}: no such file") from None
    except OSError as exc:
        raise AudioFileError(f"{path}: {exc.strerror or exc}") from None
    try:
        data, native = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, ValueError) as exc:
        raise AudioFileError(
            f"{path}: not a PCM WAV file ({_why_unreadable(path, head, exc)})"
        ) from None
    if native <= 0:
        raise AudioFileError(
            f"{path}: not a PCM WAV file (it declares a sample rate of {native} Hz)"
        )
    mono: npt.NDArray[np.float32] = np.asarray(data, dtype=np.float32).mean(axis=1) * 32768.0
    if native != rate and len(mono):
        mono = soxr.resample(mono, native, rate)
    return np.clip(np.rint(mono), -32768, 32767).astype(np.int16)


def _why_unreadable(path: Path, head: bytes, exc: Exception) -> str:
    """libsndfile's reason, in words a user can act on where it is vague."""
    if not head:
        return "the file is empty"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        if len(head) < 44:
            return f"the header is cut short: {len(head)} bytes"
        with contextlib.suppress(wave.Error, EOFError, OSError), wave.open(str(path), "rb") as wav:
            if wav.getframerate() == 0:
                return "it declares a sample rate of 0 Hz"
    reason = str(exc).split(": ", 1)[-1].rstrip(".")
    return reason[:1].lower() + reason[1:] if reason else type(exc).__name__


class ArraySource:
    """Plays samples once, then silence.  ``finished`` tells when they ran out."""

    def __init__(self, samples: Samples, rate: int) -> None:
        self.rate = rate
        self.samples = samples
        self.position = 0

    @property
    def finished(self) -> bool:
        return self.position >= len(self.samples)

    def read(self, count: int) -> Samples:
        chunk = self.samples[self.position : self.position + count]
        self.position += count
        if len(chunk) < count:
            chunk = np.concatenate((chunk, np.zeros(count - len(chunk), dtype=np.int16)))
        return chunk


class WavSource(ArraySource):
    """Plays a WAV file (converted to ``rate``) once, then silence."""

    def __init__(self, path: Path, rate: int) -> None:
        super().__init__(load_wav(path, rate), rate)


class ToneSource:
    """A continuous sine tone, phase-continuous across frames.

    One second of the tone is computed once: a whole number of hertz repeats
    exactly every second, so reads are slices of that table (a load test
    runs hundreds of these).  Other frequencies are computed as read.
    """

    def __init__(self, frequency: float, rate: int, level_dbfs: float = -12.0) -> None:
        self.rate = rate
        self.frequency = frequency
        self.amplitude = 32767.0 * 10 ** (level_dbfs / 20.0)
        self.phase = 0
        self._second = self._compute(0, rate) if float(frequency).is_integer() else None

    def _compute(self, start: int, count: int) -> Samples:
        n = np.arange(start, start + count)
        wave = self.amplitude * np.sin(2 * np.pi * self.frequency * n / self.rate)
        return np.rint(wave).astype(np.int16)

    def read(self, count: int) -> Samples:
        start, self.phase = self.phase, self.phase + count
        table = self._second
        if table is None:
            return self._compute(start, count)
        offset = start % self.rate
        if offset + count <= self.rate:
            return table[offset : offset + count].copy()
        return np.resize(np.roll(table, -offset), count)


class SilenceSource:
    def __init__(self, rate: int) -> None:
        self.rate = rate

    def read(self, count: int) -> Samples:
        return np.zeros(count, dtype=np.int16)


class MemorySink:
    """Keeps everything written (tests read ``samples``)."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.chunks: list[Samples] = []

    def write(self, samples: Samples) -> None:
        self.chunks.append(samples.copy())

    @property
    def samples(self) -> Samples:
        return np.concatenate(self.chunks) if self.chunks else np.zeros(0, dtype=np.int16)

    def close(self) -> None:
        pass


class NullSink:
    def __init__(self, rate: int) -> None:
        self.rate = rate

    def write(self, samples: Samples) -> None:
        pass

    def close(self) -> None:
        pass


def write_failed(path: Path, exc: OSError) -> str:
    """The one line for a recording that could not be written on (a full disk)."""
    return f"recording stopped: {path}: {exc.strerror or exc} (the call goes on)"


class WavSink:
    """Writes 16-bit mono WAV as audio plays; the header is fixed up on close.

    A write that fails (ENOSPC on a full disk) stops the file, not the call:
    the sink discards from then on and tells ``on_error`` once, with a
    one-line message (by default a logged warning).
    """

    def __init__(self, path: Path, rate: int) -> None:
        self.rate = rate
        self.path = path
        self.error: str | None = None
        self.on_error: Callable[[str], None] = lambda message: log.warning("%s", message)
        try:
            self._file = open(path, "wb")  # noqa: SIM115 - open for the whole call
        except OSError as exc:
            raise AudioFileError(f"{path}: cannot write ({exc.strerror or exc})") from None
        self._wav = wave.open(self._file, "wb")  # noqa: SIM115 - closed in close()
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(rate)
        self.closed = False

    def write(self, samples: Samples) -> None:
        if self.closed:
            return
        try:
            self._wav.writeframes(samples.astype("<i2").tobytes())
        except OSError as exc:
            self.error = write_failed(self.path, exc)
            self.close()
            self.on_error(self.error)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            with contextlib.suppress(OSError):  # the header fix-up on a full disk
                self._wav.close()
            with contextlib.suppress(OSError):
                self._file.close()


class LoopbackSource:
    """Reads back what a :class:`LoopbackSink` was given (an echo device)."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.queue: deque[Samples] = deque()
        self.pending = np.zeros(0, dtype=np.int16)

    def sink(self) -> LoopbackSink:
        return LoopbackSink(self)

    def read(self, count: int) -> Samples:
        while len(self.pending) < count and self.queue:
            self.pending = np.concatenate((self.pending, self.queue.popleft()))
        if len(self.pending) < count:
            out = np.concatenate(
                (self.pending, np.zeros(count - len(self.pending), dtype=np.int16))
            )
            self.pending = np.zeros(0, dtype=np.int16)
            return out
        out, self.pending = self.pending[:count], self.pending[count:]
        return out


class LoopbackSink:
    def __init__(self, source: LoopbackSource) -> None:
        self.rate = source.rate
        self.source = source

    def write(self, samples: Samples) -> None:
        self.source.queue.append(samples.copy())

    def close(self) -> None:
        pass
