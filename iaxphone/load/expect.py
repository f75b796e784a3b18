"""Did the call sound as expected?  A sink that listens for a tone (or any signal).

An echo call sends a tone and expects it back; a tone call (Asterisk's
Milliwatt) expects the PBX's tone.  :class:`ExpectSink` takes what the call
plays and counts the frames that carry the tone: more than
:data:`TONE_SHARE` of the frame's energy at the tone's frequency (one DFT
bin, two dot products per frame), above :data:`MIN_RMS_DBFS`.  A WAV sent
into an echo has no single frequency, so then any frame above the level
counts.  The call passes if at least :data:`PASS_FRACTION` of the frames
after the first :data:`SETTLE_FRAMES` (the echo's round trip) did.
"""

from __future__ import annotations

import math

import numpy as np

from iaxphone.media.virtual import Samples

MIN_RMS_DBFS = -40.0
TONE_SHARE = 0.5
PASS_FRACTION = 0.5
SETTLE_FRAMES = 25  # half a second at 20 ms


class ExpectSink:
    def __init__(self, rate: int, tone_hz: float | None) -> None:
        self.rate = rate
        self.tone_hz = tone_hz
        self.frames = 0
        self.heard = 0
        self._basis: tuple[np.ndarray, np.ndarray] | None = None
        self._min_energy = 0.0

    def _prepare(self, count: int) -> None:
        n = np.arange(count)
        if self.tone_hz is not None:
            phase = 2.0 * np.pi * self.tone_hz * n / self.rate
            self._basis = (np.cos(phase), np.sin(phase))
        level = 32768.0 * 10 ** (MIN_RMS_DBFS / 20.0)
        self._min_energy = level * level * count

    def write(self, samples: Samples) -> None:
        self.frames += 1
        if self.frames <= SETTLE_FRAMES or len(samples) == 0:
            return
        if self._basis is None or len(self._basis[0]) != len(samples):
            self._prepare(len(samples))
        x = samples.astype(np.float64)
        energy = float(np.dot(x, x))
        if energy < self._min_energy:
            return
        if self._basis is not None:
            re, im = float(np.dot(x, self._basis[0])), float(np.dot(x, self._basis[1]))
            tone = 2.0 * (re * re + im * im) / len(x)  # energy of that one sinusoid
            if tone < TONE_SHARE * energy:
                return
        self.heard += 1

    def close(self) -> None:
        pass

    @property
    def judged(self) -> int:
        return max(0, self.frames - SETTLE_FRAMES)

    def passed(self) -> bool:
        return self.judged > 0 and self.heard >= math.ceil(PASS_FRACTION * self.judged)


__all__ = ["ExpectSink"]
