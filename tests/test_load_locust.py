"""iaxphone's Locust user class: one master and two workers, headless, against the bundled PBX."""

from __future__ import annotations

import csv
import json
import socket
import subprocess
import sys
from pathlib import Path

from tests.pbx import Pbx

LOCUSTFILE = (
    Path(__file__).resolve().parent.parent / "iaxphone" / "load" / "locust" / "locustfile.py"
)
LOCUST = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE)]

SCENARIO = """
target = "127.0.0.1:{port}"
hold = 3
answer_timeout = 5

[[account]]
user = "6007"
secret = "iax6007secret"

[[destination]]
number = "600"
expect = "echo"
"""


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_the_command_prints_the_locustfile() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "iaxphone.cli", "load", "--locustfile"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0
    assert Path(result.stdout.strip()) == LOCUSTFILE


def test_a_master_and_two_workers_headless(pbx: Pbx, tmp_path: Path) -> None:
    scenario = tmp_path / "run.toml"
    scenario.write_text(SCENARIO.format(port=pbx.iax_port))
    port = free_tcp_port()
    figures = tmp_path / "figures.json"
    master = subprocess.Popen(
        [*LOCUST, "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
         "--expect-workers", "2", "--headless", "-u", "4", "-r", "4", "-t", "20s",
         "--csv", str(tmp_path / "run"), "--iax-scenario", str(scenario), "--iax-json", str(figures)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
    )  # fmt: skip
    worker = [*LOCUST, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port),
              "--iax-scenario", str(scenario)]  # fmt: skip
    workers = [
        subprocess.Popen(
            worker, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path
        )
        for _ in range(2)
    ]
    try:
        output, _ = master.communicate(timeout=90)
        for worker in workers:
            worker.wait(timeout=30)
    finally:
        for process in (master, *workers):
            if process.poll() is None:
                process.kill()
                process.wait()
    assert master.returncode == 0, output
    assert "Traceback" not in output
    rows = {row["Name"]: row for row in csv.DictReader((tmp_path / "run_stats.csv").open())}
    setup, call = rows["setup 600"], rows["call 600"]
    assert setup["Type"] == "IAX2" and call["Type"] == "IAX2"
    # 4 users, 3 s calls, about 18 s of calling after the agents start: at least 12 calls.
    assert int(setup["Request Count"]) >= 12 and int(setup["Failure Count"]) == 0
    assert 0 < float(setup["Median Response Time"]) < 1000  # set-up in ms
    assert 2900 <= float(call["Median Response Time"]) <= 3500  # the 3 s hold
    quality = json.loads(figures.read_text())
    assert quality["calls"] >= 12 and 4.0 < quality["mos_mean"] <= 4.5
    assert quality["loss_percent_mean"] < 1.0 and quality["missing_percent_mean"] < 5.0
    assert len(quality["calls_by_worker"]) == 2  # both workers placed calls
    assert all(n > 0 for n in quality["calls_by_worker"].values())
