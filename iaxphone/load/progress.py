"""The live progress of a load run: one frozen snapshot a second, and its line.

A :class:`Progress` keeps sums, not averages (frames received and expected,
MOS summed over the calls up), so the snapshots of several worker processes
add up with :meth:`Progress.merge` into the run's, and the line shows::

    00:12 up 180/200 placed 200 | 16.4 setups/s | failed 3 (user busy 2, no answer 1)
      | missing 0.12 % | MOS 4.39 | CPU 62 % (2 workers)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from iaxphone.callrecord import JsonObject


@dataclass(frozen=True)
class Progress:
    elapsed_s: float = 0.0
    placed: int = 0
    up: int = 0  # calls talking now
    answered: int = 0
    failures: tuple[tuple[str, int], ...] = ()  # (cause, calls), most first
    setup_rate: float = 0.0  # answers per second over the last interval
    frames_received: int = 0  # by the calls up now
    frames_expected: float = 0.0  # what their talk time should have brought
    mos_sum: float = 0.0  # over the calls up now
    cpu_percent: float = 0.0  # of one core, summed over the processes
    processes: int = 1

    @property
    def failed(self) -> int:
        return sum(count for _, count in self.failures)

    @property
    def missing_percent(self) -> float | None:
        if self.frames_expected < 1:
            return None
        return max(0.0, 100.0 * (1.0 - self.frames_received / self.frames_expected))

    @property
    def mos(self) -> float | None:
        return self.mos_sum / self.up if self.up else None

    def merge(self, other: Progress) -> Progress:
        failures = Counter(dict(self.failures))
        failures.update(dict(other.failures))
        return Progress(
            elapsed_s=max(self.elapsed_s, other.elapsed_s),
            placed=self.placed + other.placed,
            up=self.up + other.up,
            answered=self.answered + other.answered,
            failures=tuple(failures.most_common()),
            setup_rate=self.setup_rate + other.setup_rate,
            frames_received=self.frames_received + other.frames_received,
            frames_expected=self.frames_expected + other.frames_expected,
            mos_sum=self.mos_sum + other.mos_sum,
            cpu_percent=self.cpu_percent + other.cpu_percent,
            processes=self.processes + other.processes,
        )

    def line(self, calls: int) -> str:
        minutes, seconds = divmod(int(self.elapsed_s), 60)
        failed = f"failed {self.failed}"
        if self.failures:
            failed += " (" + ", ".join(f"{cause} {n}" for cause, n in self.failures[:3]) + ")"
        missing = self.missing_percent
        mos = self.mos
        workers = f" ({self.processes} workers)" if self.processes > 1 else ""
        return (
            f"{minutes:02d}:{seconds:02d} up {self.up} placed {self.placed}/{calls}"
            f" | {self.setup_rate:.1f} setups/s | {failed}"
            f" | missing {'-' if missing is None else f'{missing:.2f} %'}"
            f" | MOS {'-' if mos is None else f'{mos:.2f}'}"
            f" | CPU {self.cpu_percent:.0f} %{workers}"
        )

    def to_fields(self) -> JsonObject:
        return {
            "elapsed_s": self.elapsed_s,
            "placed": self.placed,
            "up": self.up,
            "answered": self.answered,
            "failures": [list(item) for item in self.failures],
            "setup_rate": self.setup_rate,
            "frames_received": self.frames_received,
            "frames_expected": self.frames_expected,
            "mos_sum": self.mos_sum,
            "cpu_percent": self.cpu_percent,
        }

    @classmethod
    def from_fields(cls, raw: Mapping[str, Any]) -> Progress:
        failures = raw.get("failures") or []
        return cls(
            elapsed_s=float(raw.get("elapsed_s", 0.0)),
            placed=int(raw.get("placed", 0)),
            up=int(raw.get("up", 0)),
            answered=int(raw.get("answered", 0)),
            failures=tuple((str(c), int(n)) for c, n in failures),
            setup_rate=float(raw.get("setup_rate", 0.0)),
            frames_received=int(raw.get("frames_received", 0)),
            frames_expected=float(raw.get("frames_expected", 0.0)),
            mos_sum=float(raw.get("mos_sum", 0.0)),
            cpu_percent=float(raw.get("cpu_percent", 0.0)),
        )


__all__ = ["Progress"]
