"""``iaxphone load`` against the bundled PBX: a small run's figures, thresholds, a killed worker."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from iaxphone.cli import exitcodes
from tests.pbx import Pbx

SCENARIO = """
target = "127.0.0.1:{port}"
calls = 20
rate = 10
hold = 8
answer_timeout = 5
workers = 1
max_failed = 1

[[account]]
user = "6001"
secret = "iax6001secret"

[[account]]
user = "6002"
secret = "iax6002secret"

[[destination]]
number = "600"
weight = 8
expect = "echo"
dtmf = "1"

[[destination]]
number = "601"
expect = "tone"

[[destination]]
number = "699"
"""


def load(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "iaxphone.cli", "load", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_twenty_calls_for_ten_seconds(pbx: Pbx, tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text(SCENARIO.format(port=pbx.iax_port))
    summary_path, rows_path = tmp_path / "s.json", tmp_path / "s.csv"
    result = load("--scenario", str(path), "--json", str(summary_path), "--csv", str(rows_path))
    assert "Traceback" not in result.stderr
    # 699 is nobody's number: its two calls fail (cause 3), one more than --max-failed allows.
    assert result.returncode == exitcodes.LOAD_FAILED_CALLS, result.stderr
    assert "2 of 20 calls failed (--max-failed 1)" in result.stderr
    progress = [line for line in result.stderr.splitlines() if " up " in line]
    assert len(progress) >= 8  # a line a second
    assert "MOS 4." in progress[len(progress) // 2] and "CPU" in progress[-1]
    summary = json.loads(summary_path.read_text())
    assert (summary["planned"], summary["placed"], summary["answered"]) == (20, 20, 18)
    assert summary["failures"] == {"no route destination": 2}
    assert summary["asr_percent"] == 90.0
    setup = summary["setup_ms"]
    assert 0 < setup["p50"] <= setup["p95"] <= setup["p99"] <= setup["max"] < 2000
    assert summary["meeting_mos"] == 18 and 4.0 < summary["mos"]["mean"] <= 4.5
    assert summary["missing_percent"]["max"] < 5.0
    assert summary["jitter_ms"]["max"] < 30.0
    assert summary["verdict"]["too_many_failed"] and not summary["verdict"]["mos_too_low"]
    calls = summary["calls"]
    assert [c["index"] for c in calls] == list(range(20))
    talked = [c for c in calls if c["answered"]]
    assert all(7.5 <= c["duration_s"] <= 9.0 for c in talked)
    assert all(c["expect_ok"] for c in talked)  # the echo and the Milliwatt tone came back
    assert {c["account"] for c in calls} == {"6001", "6002"}
    assert {c["number"] for c in calls if not c["answered"]} == {"699"}
    assert all(c["packets_received"] > 300 for c in talked)
    rows = list(csv.DictReader(rows_path.open()))
    assert len(rows) == 20 and rows[0]["setup_ms"]


def test_an_echo_that_never_comes_is_a_failure(pbx: Pbx) -> None:
    # The Milliwatt tone is 1004 Hz, not our 440 Hz: the "echo" never comes back.
    result = load("601", "--server", f"127.0.0.1:{pbx.iax_port}", "--account", "6003:iax6003secret",
                  "--calls", "2", "--rate", "5", "--hold", "2", "--expect", "echo", "--workers", "1",
                  "--max-failed", "0", "-q")  # fmt: skip
    assert result.returncode == exitcodes.LOAD_FAILED_CALLS, result.stderr
    assert "failures: expect failed 2" in result.stderr


def test_a_killed_worker_is_reported_and_its_calls_fail(pbx: Pbx, tmp_path: Path) -> None:
    summary_path = tmp_path / "s.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "iaxphone.cli", "load", "600", "--server", f"127.0.0.1:{pbx.iax_port}",
         "--account", "6004:iax6004secret", "--account", "6005:iax6005secret", "--calls", "12",
         "--rate", "6", "--hold", "6", "--workers", "2", "--json", str(summary_path)],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stderr is not None
    pids: dict[int, int] = {}
    lines: list[str] = []
    killed = False
    for line in process.stderr:
        lines.append(line)
        if line.startswith("iaxphone: worker ") and " started, pid " in line:
            index = int(line.split()[2])
            pids[index] = int(line.rsplit(" ", 1)[1])
        if not killed and " up 1" in line:  # calls are up: kill worker 1 mid-run
            os.kill(pids[1], signal.SIGKILL)
            killed = True
    process.wait(timeout=60)
    stderr = "".join(lines)
    assert killed and "Traceback" not in stderr
    assert f"worker 1 (pid {pids[1]}) died: killed by signal 9 (SIGKILL)" in stderr
    summary = json.loads(summary_path.read_text())
    assert summary["placed"] == 12  # no call is lost from the figures
    assert summary["failures"]["worker died"] == 6  # worker 1's six, none reported
    assert summary["answered"] == 6  # worker 0's, which went on
    assert {c["worker"] for c in summary["calls"] if c["failure"] == "worker died"} == {1}
    dead = [w for w in summary["workers"] if w["died"]]
    assert [w["index"] for w in dead] == [1]
    pbx.hang_up_calls_of(6005)  # worker 1 called as 6005: its PBX channels linger otherwise
