"""DTMF tones: generation (local key feedback) and in-band detection (Goertzel).

Theory of operation
-------------------
A DTMF digit is the sum of one *row* tone (697, 770, 852, 941 Hz) and one
*column* tone (1209, 1336, 1477, 1633 Hz).  :class:`DtmfGenerator` makes
them, phase-continuous, for the short beep a phone plays when a key is
pressed.

:class:`DtmfDetector` finds digits that the far end sends as audio (a
PBX or gateway that does not send DTMF frames).  Audio is cut into blocks
of 205 samples at 8 kHz (410 at 16 kHz), about 25.6 ms, the classic
Goertzel block whose bins fall close to all eight frequencies.  In each
block the Goertzel algorithm measures the energy at the eight frequencies.
A block *holds* a digit when

* the strongest row and the strongest column each stand 8 dB above the
  other tones of their group (a clean pair, not a chord or speech),
* together they carry at least 60 % of the block's energy,
* the block is loud enough (above -36 dBFS), and
* the twist (column minus row level) is within +4 / -8 dB.

A digit is reported once two consecutive blocks hold the same digit
(>= 40 ms, as ITU-T Q.24 asks), and may repeat only after a block without
it, so a long key press is one digit.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

ROWS = (697.0, 770.0, 852.0, 941.0)
COLS = (1209.0, 1336.0, 1477.0, 1633.0)
KEYS = ("123A", "456B", "789C", "*0#D")

Samples = npt.NDArray[np.int16]


def frequencies(digit: str) -> tuple[float, float]:
    for r, row in enumerate(KEYS):
        c = row.find(digit.upper())
        if c >= 0:
            return ROWS[r], COLS[c]
    raise ValueError(f"not a DTMF digit: {digit!r}")


class DtmfGenerator:
    """Phase-continuous DTMF tone pairs at ``level_dbfs`` per tone."""

    def __init__(self, rate: int, level_dbfs: float = -14.0) -> None:
        self.rate = rate
        self.amplitude = 32767.0 * 10 ** (level_dbfs / 20.0)

    def tone(self, digit: str, duration_ms: int) -> Samples:
        low, high = frequencies(digit)
        t = np.arange(self.rate * duration_ms // 1000) / self.rate
        wave = self.amplitude * (np.sin(2 * np.pi * low * t) + np.sin(2 * np.pi * high * t))
        # 5 ms ramps so the beep does not click.
        ramp = min(len(t) // 2, self.rate // 200)
        if ramp:
            envelope = np.ones(len(t))
            envelope[:ramp] = np.linspace(0.0, 1.0, ramp)
            envelope[-ramp:] = np.linspace(1.0, 0.0, ramp)
            wave *= envelope
        return np.clip(np.rint(wave), -32768, 32767).astype(np.int16)


class DtmfDetector:
    """Feed audio with :meth:`feed`; it returns the digits completed in it."""

    def __init__(self, rate: int = 8000) -> None:
        self.rate = rate
        self.block = 205 * rate // 8000
        n = np.arange(self.block)
        freqs = np.array(ROWS + COLS)
        # Goertzel as a projection onto the eight bins (exact for one block).
        k = np.rint(self.block * freqs / rate)
        phase = 2 * np.pi * np.outer(k, n) / self.block
        self._basis = np.vstack((np.cos(phase), np.sin(phase)))  # one product per block
        self._quiet = self.block * (10 ** (-36 / 20)) ** 2 / 2
        self.pending = np.zeros(0, dtype=np.float64)
        self.candidate: str | None = None
        self.reported: str | None = None

    def feed(self, samples: Samples) -> list[str]:
        self.pending = np.concatenate((self.pending, samples.astype(np.float64) / 32768.0))
        digits: list[str] = []
        while len(self.pending) >= self.block:
            block, self.pending = self.pending[: self.block], self.pending[self.block :]
            held = self._classify(block)
            if held is not None and held == self.candidate and held != self.reported:
                digits.append(held)
                self.reported = held
            if held is None:
                self.reported = None
            self.candidate = held
        return digits

    def _classify(self, block: npt.NDArray[np.float64]) -> str | None:
        total = float(np.dot(block, block))
        if total < self._quiet:
            return None
        projection = self._basis @ block
        energy = (projection[:8] ** 2 + projection[8:] ** 2) * (2.0 / self.block)
        rows, cols = energy[:4], energy[4:]
        r, c = int(rows.argmax()), int(cols.argmax())
        row, col = float(rows[r]), float(cols[c])
        if row <= 0 or col <= 0 or row + col < 0.6 * total:  # mostly not these tones: speech
            return None
        next_row, next_col = float(np.partition(rows, 2)[2]), float(np.partition(cols, 2)[2])
        if row < 6.3 * next_row or col < 6.3 * next_col:  # 8 dB above the rest of its group
            return None
        twist_db = 10 * np.log10(col / row)
        if not -8.0 <= twist_db <= 4.0:
            return None
        return KEYS[r][c]
