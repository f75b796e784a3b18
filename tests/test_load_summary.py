"""``iaxphone load``'s summary figures and the thresholds that decide its exit code."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from iaxphone.callrecord import CallSummary
from iaxphone.cli import exitcodes
from iaxphone.cli.load import exit_code
from iaxphone.load.progress import Progress
from iaxphone.load.results import CallResult, call_result, failed_call
from iaxphone.load.scenario import Destination, LoadAccount, Scenario, Threshold
from iaxphone.load.summary import distribution, summarise, write_csv, write_json
from iaxphone.media.stats import Loss, MediaStats, Traffic
from iaxphone.proto.events import EndReason
from iaxphone.wire.constants import Cause


def scenario(**changes: object) -> Scenario:
    base = Scenario("127.0.0.1", 4569, (LoadAccount("6001", "s"),), (Destination("600"),), calls=10)
    return Scenario(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def answered(index: int, setup: float, mos: float) -> CallResult:
    return CallResult(index, 0, "6001", "600", True, None, "normal clearing", 16, setup, 10.0,
                      "ulaw", 500, 499, 0.2, 0.0, 1.5, mos)  # fmt: skip


def busy(index: int) -> CallResult:
    return CallResult(index, 0, "6001", "600", False, "user busy", "busy", 17)


def test_percentiles_are_nearest_rank() -> None:
    figures = distribution([float(v) for v in range(1, 101)])
    assert figures is not None
    assert (figures.p50, figures.p95, figures.p99, figures.max, figures.mean) == (
        50,
        95,
        99,
        100,
        50.5,
    )
    assert distribution([None, None]) is None


def test_the_summary_counts_every_call() -> None:
    results = [answered(i, 10.0 + i, 4.4 if i < 6 else 3.9) for i in range(8)] + [busy(8)]
    summary = summarise(scenario(mos_threshold=4.0), results, elapsed_s=12.0, cpu_s=1.5)
    assert (summary.planned, summary.placed, summary.answered, summary.failed) == (10, 9, 8, 1)
    assert summary.not_placed == 1
    assert summary.asr_percent == round(100 * 8 / 9, 2)
    assert summary.failures == (("user busy", 1),)
    assert summary.setup_ms is not None and summary.setup_ms.max == 17.0
    assert summary.meeting_mos == 6 and summary.mos_min == 3.9
    assert summary.verdict.met and exit_code(summary) == exitcodes.OK


def test_max_failed_gives_exit_10() -> None:
    results = [answered(0, 5, 4.4), busy(1), busy(2)]
    assert exit_code(summarise(scenario(max_failed=Threshold(2)), results, 1, 1)) == exitcodes.OK
    over = summarise(scenario(max_failed=Threshold(1)), results, 1, 1)
    assert exit_code(over) == exitcodes.LOAD_FAILED_CALLS == 10
    assert over.verdict.reasons == ("2 of 3 calls failed (--max-failed 1)",)
    pct = summarise(scenario(max_failed=Threshold(50, percent=True)), results, 1, 1)
    assert exit_code(pct) == exitcodes.LOAD_FAILED_CALLS


def test_min_mos_gives_exit_11_and_failures_win() -> None:
    results = [answered(0, 5, 4.4), answered(1, 5, 3.2)]
    assert exit_code(summarise(scenario(min_mos=3.0), results, 1, 1)) == exitcodes.OK
    low = summarise(scenario(min_mos=3.5), results, 1, 1)
    assert exit_code(low) == exitcodes.LOAD_LOW_MOS == 11
    both = summarise(scenario(min_mos=3.5, max_failed=Threshold(0)), [*results, busy(2)], 1, 1)
    assert exit_code(both) == exitcodes.LOAD_FAILED_CALLS
    assert len(both.verdict.reasons) == 2
    nobody = summarise(scenario(min_mos=3.0), [busy(0)], 1, 1)
    assert exit_code(nobody) == exitcodes.LOAD_LOW_MOS


def test_a_result_comes_from_the_phones_summary() -> None:
    media = MediaStats(codec="ulaw", traffic=Traffic(500, 80000, 480, 76800), loss=Loss(lost=5, percent=1.03),
                       jitter_ms=2.5, mos=4.2)  # fmt: skip
    summary = CallSummary(3, "out", "600", None, "load0-6001", True, "normal clearing", 16, False,
                          setup_ms=12.34, duration_s=10.0, media=media)  # fmt: skip
    result = call_result(summary, 7, 1, "6001", expect_ok=False)
    assert (result.index, result.worker, result.setup_ms, result.mos) == (7, 1, 12.3, 4.2)
    assert result.missing_percent == 4.0  # 480 of the 500 frames 10 s bring
    assert result.failure == "expect failed"
    busy_summary = CallSummary(4, "out", "600", None, "a", False, "busy", Cause.USER_BUSY, True)
    assert call_result(busy_summary, 8, 0, "6001", None).failure == "user busy"
    assert CallResult.from_fields(result.to_fields()) == result
    refused = CallSummary(5, "out", "600", None, "a", False, "Authentication failed", 29, True,
                          reason=EndReason.WRONG_SECRET)  # fmt: skip
    assert call_result(refused, 9, 0, "6001", None).failure == "auth rejected"
    silent = CallSummary(6, "out", "600", None, "a", False, "no answer from 127.0.0.1:4569", None,
                         False, reason=EndReason.NO_ANSWER)  # fmt: skip
    assert call_result(silent, 10, 0, "6001", None).failure == "unreachable"


def test_files_hold_every_call(tmp_path: Path) -> None:
    results = [answered(1, 5, 4.4), failed_call(0, 1, "6001", "600", "worker died")]
    summary = summarise(scenario(), results, 2, 1)
    write_json(tmp_path / "s.json", summary, results)
    write_csv(tmp_path / "s.csv", results)
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["failures"] == {"worker died": 1}
    assert [c["index"] for c in data["calls"]] == [0, 1]
    rows = list(csv.DictReader((tmp_path / "s.csv").open()))
    assert [r["failure"] for r in rows] == ["worker died", ""]
    assert rows[1]["mos"] == "4.4"


def test_progress_of_workers_adds_up() -> None:
    one = Progress(3.0, placed=10, up=8, answered=9, failures=(("user busy", 1),), setup_rate=2,
                   frames_received=90, frames_expected=100, mos_sum=8 * 4.4, cpu_percent=20)  # fmt: skip
    two = Progress(3.1, placed=10, up=10, answered=10, failures=(("user busy", 2), ("lost", 1)),
                   setup_rate=3, frames_received=100, frames_expected=100, mos_sum=10 * 4.1,
                   cpu_percent=30)  # fmt: skip
    total = one.merge(two)
    assert (total.placed, total.up, total.failed, total.processes) == (20, 18, 4, 2)
    assert total.failures == (("user busy", 3), ("lost", 1))
    assert total.missing_percent is not None and round(total.missing_percent, 6) == 5.0
    assert total.mos is not None and round(total.mos, 3) == round((8 * 4.4 + 10 * 4.1) / 18, 3)
    line = total.line(20)
    assert "up 18 placed 20/20" in line and "user busy 3" in line and "CPU 50 % (2 workers)" in line
    assert Progress.from_fields(one.to_fields()) == one
