"""Call recording to WAV: both directions, mixed to mono or as stereo.

The media session hands the recorder, once per frame, what we sent (the
microphone after gain and mute) and what we heard (after concealment and
gain).  Mixed mode sums the two (clipped) into one channel; stereo mode puts
our side on the left and the far end on the right.  The file is written as
the call goes, so a crash loses at most the last frames, and its header is
fixed up on close.
"""

from __future__ import annotations

import contextlib
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .virtual import AudioFileError, Samples, write_failed


class CallRecorder:
    def __init__(self, path: Path, rate: int, stereo: bool = False) -> None:
        self.path = path
        self.rate = rate
        self.stereo = stereo
        try:
            self._file = open(path, "wb")  # noqa: SIM115 - open for the whole call
        except OSError as exc:
            raise AudioFileError(f"{path}: cannot write ({exc.strerror or exc})") from None
        self._wav = wave.open(self._file, "wb")  # noqa: SIM115 - closed in close()
        self._wav.setnchannels(2 if stereo else 1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(rate)
        self.closed = False
        self.frames = 0
        self.error: str | None = None  # why it stopped on its own (a full disk)
        self.on_error: Callable[[str], None] = lambda _message: None

    def record(self, sent: Samples, heard: Samples) -> None:
        if self.closed:
            return
        n = min(len(sent), len(heard))
        if self.stereo:
            out = np.empty(2 * n, dtype="<i2")
            out[0::2], out[1::2] = sent[:n], heard[:n]
        else:
            mixed = sent[:n].astype(np.int32) + heard[:n].astype(np.int32)
            out = np.clip(mixed, -32768, 32767).astype("<i2")
        try:
            self._wav.writeframes(out.tobytes())
        except OSError as exc:  # ENOSPC: stop the file, not the call
            self.error = write_failed(self.path, exc)
            self.close()
            self.on_error(self.error)
            return
        self.frames += n

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            with contextlib.suppress(OSError):  # the header fix-up on a full disk
                self._wav.close()
            with contextlib.suppress(OSError):
                self._file.close()
