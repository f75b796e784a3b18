"""The end of a load run: its figures, its verdict, and the JSON and CSV files.

:func:`summarise` reads the :class:`~iaxphone.load.results.CallResult` of
every call (and how each worker process ended) into a frozen
:class:`LoadSummary`: calls placed, answered and failed by cause, the
answer-seizure ratio (answered / placed), the set-up time distribution
(p50, p95, p99, max, nearest-rank), per-call loss, jitter and MOS, how
many answered calls met the MOS threshold, and the thresholds' verdict
(``--max-failed``, ``--min-mos``), which decides the exit code.

:func:`write_json` writes the summary with every call in it;
:func:`write_csv` one row per call (the columns of ``CallResult``).
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

from iaxphone.callrecord import JsonObject

from .results import FIELD_NAMES, CallResult
from .scenario import Scenario


@dataclass(frozen=True)
class Distribution:
    p50: float
    p95: float
    p99: float
    max: float
    mean: float


@dataclass(frozen=True)
class WorkerReport:
    index: int
    pid: int | None
    calls: int  # results it reported
    died: bool
    how: str  # "finished", "exit 3", "killed by signal 9"
    cpu_s: float | None = None  # its CPU time (user + system), if it said


@dataclass(frozen=True)
class Verdict:
    """Which thresholds the run missed (the command turns them into exit 10 and 11)."""

    too_many_failed: bool
    mos_too_low: bool
    reasons: tuple[str, ...]  # one line per threshold missed

    @property
    def met(self) -> bool:
        return not (self.too_many_failed or self.mos_too_low)


@dataclass(frozen=True)
class LoadSummary:
    planned: int
    placed: int
    answered: int
    failed: int
    not_placed: int  # the run's duration ran out first
    asr_percent: float | None
    failures: tuple[tuple[str, int], ...]
    setup_ms: Distribution | None
    loss_percent: Distribution | None
    missing_percent: Distribution | None
    jitter_ms: Distribution | None
    mos: Distribution | None
    mos_min: float | None
    mos_threshold: float
    meeting_mos: int  # answered calls at or above the threshold
    elapsed_s: float
    cpu_s: float  # every process's CPU time
    workers: tuple[WorkerReport, ...]
    verdict: Verdict


def nearest_rank(ordered: Sequence[float], percent: float) -> float:
    rank = max(1, math.ceil(percent / 100.0 * len(ordered)))
    return ordered[rank - 1]


def distribution(values: Sequence[float | None]) -> Distribution | None:
    ordered = sorted(v for v in values if v is not None)
    if not ordered:
        return None
    return Distribution(
        p50=round(nearest_rank(ordered, 50), 2),
        p95=round(nearest_rank(ordered, 95), 2),
        p99=round(nearest_rank(ordered, 99), 2),
        max=round(ordered[-1], 2),
        mean=round(sum(ordered) / len(ordered), 2),
    )


def judge(scenario: Scenario, placed: int, failed: int, mos_min: float | None) -> Verdict:
    """More failed calls than --max-failed allows; an answered call under --min-mos
    (or none answered at all while --min-mos is given)."""
    reasons: list[str] = []
    threshold = scenario.max_failed
    too_many = threshold is not None and not threshold.allows(failed, placed)
    if too_many and threshold is not None:
        reasons.append(f"{failed} of {placed} calls failed (--max-failed {threshold.describe()})")
    low = False
    if scenario.min_mos is not None:
        if mos_min is None:
            reasons.append(f"no call was answered (--min-mos {scenario.min_mos:g})")
            low = True
        elif mos_min < scenario.min_mos:
            reasons.append(f"lowest MOS {mos_min:.2f} (--min-mos {scenario.min_mos:g})")
            low = True
    return Verdict(too_many, low, tuple(reasons))


def summarise(
    scenario: Scenario,
    results: Sequence[CallResult],
    elapsed_s: float,
    cpu_s: float,
    workers: Sequence[WorkerReport] = (),
) -> LoadSummary:
    placed = len(results)
    answered = [r for r in results if r.answered]
    failed = [r for r in results if r.failure is not None]
    failures = Counter(r.failure for r in failed if r.failure is not None)
    moses = [r.mos for r in answered if r.mos is not None]
    mos_min = min(moses) if moses else None
    return LoadSummary(
        planned=scenario.calls,
        placed=placed,
        answered=len(answered),
        failed=len(failed),
        not_placed=max(0, scenario.calls - placed),
        asr_percent=round(100.0 * len(answered) / placed, 2) if placed else None,
        failures=tuple(failures.most_common()),
        setup_ms=distribution([r.setup_ms for r in answered]),
        loss_percent=distribution([r.loss_percent for r in answered]),
        missing_percent=distribution([r.missing_percent for r in answered]),
        jitter_ms=distribution([r.jitter_ms for r in answered]),
        mos=distribution(moses),
        mos_min=mos_min,
        mos_threshold=scenario.mos_threshold,
        meeting_mos=sum(1 for m in moses if m >= scenario.mos_threshold),
        elapsed_s=round(elapsed_s, 2),
        cpu_s=round(cpu_s, 2),
        workers=tuple(workers),
        verdict=judge(scenario, placed, len(failed), mos_min),
    )


def summary_fields(summary: LoadSummary) -> JsonObject:
    fields = cast(JsonObject, asdict(summary))
    fields["failures"] = dict(summary.failures)
    fields["verdict"] = {
        "met": summary.verdict.met,
        "too_many_failed": summary.verdict.too_many_failed,
        "mos_too_low": summary.verdict.mos_too_low,
        "missed": list(summary.verdict.reasons),
    }
    return fields


def write_json(path: Path, summary: LoadSummary, results: Sequence[CallResult]) -> None:
    data = summary_fields(summary)
    data["calls"] = [r.to_fields() for r in sorted(results, key=lambda r: r.index)]
    path.write_text(json.dumps(data, indent=2) + "\n")


def write_csv(path: Path, results: Sequence[CallResult]) -> None:
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(FIELD_NAMES))
        writer.writeheader()
        for result in sorted(results, key=lambda r: r.index):
            writer.writerow({k: ("" if v is None else v) for k, v in result.to_fields().items()})


def write_figures(path: Path, figures: Mapping[str, Any]) -> None:
    """The Locust run's MOS and loss figures (``--iax-json``)."""
    path.write_text(json.dumps(dict(figures), indent=2) + "\n")


def figures_line(figures: Mapping[str, Any]) -> str:
    return json.dumps(dict(figures))


def describe(summary: LoadSummary) -> list[str]:
    """The lines printed at the end of a run."""
    lines = [
        f"placed {summary.placed} of {summary.planned} calls in {summary.elapsed_s:.1f} s: "
        f"answered {summary.answered} (ASR "
        f"{'-' if summary.asr_percent is None else f'{summary.asr_percent:.1f} %'}), "
        f"failed {summary.failed}"
        + (f", not placed {summary.not_placed}" if summary.not_placed else "")
    ]
    if summary.failures:
        lines.append("failures: " + ", ".join(f"{c} {n}" for c, n in summary.failures))
    if summary.setup_ms is not None:
        s = summary.setup_ms
        lines.append(
            f"set-up ms: p50 {s.p50:.1f}, p95 {s.p95:.1f}, p99 {s.p99:.1f}, max {s.max:.1f}"
        )
    if summary.mos is not None:
        m = summary.mos
        lines.append(
            f"MOS: mean {m.mean:.2f}, lowest {summary.mos_min:.2f}; "
            f"{summary.meeting_mos} of {summary.answered} calls >= {summary.mos_threshold:g}"
        )
    if summary.missing_percent is not None and summary.loss_percent is not None:
        lines.append(
            f"frames missing: mean {summary.missing_percent.mean:.2f} %, "
            f"max {summary.missing_percent.max:.2f} %; "
            f"jitter-buffer loss max {summary.loss_percent.max:.2f} %"
        )
    for worker in summary.workers:
        if worker.died:
            lines.append(f"worker {worker.index} (pid {worker.pid}) died: {worker.how}")
    lines.extend(summary.verdict.reasons)
    return lines


__all__ = [
    "Distribution",
    "LoadSummary",
    "Verdict",
    "WorkerReport",
    "describe",
    "distribution",
    "judge",
    "summarise",
    "write_csv",
    "write_json",
]
