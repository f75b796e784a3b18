"""``iaxphone load``'s scenario: the TOML file and the options, checked before any call."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from iaxphone.cli import build_parser, exitcodes
from iaxphone.cli.load import scenario_from_args
from iaxphone.load.plan import destination_order, plan
from iaxphone.load.scenario import (
    MILLIWATT_HZ,
    LoadAccount,
    ScenarioError,
    Threshold,
    from_table,
    parse_threshold,
)
from iaxphone.wire.constants import Format

FULL = """
target = "127.0.0.1:4709"
calls = 40
rate = 8.5
hold = 12
duration = 60
answer_timeout = 5
codec = "alaw,ulaw"
trunk = true
workers = 2
mos_threshold = 4.2
max_failed = "2.5%"
min_mos = 3.6

[[account]]
user = "trunk1"
secret = "trunk1secret"

[[destination]]
number = 600
weight = 3
expect = "echo"
dtmf = "12#"

[[destination]]
number = "601"
expect = "tone"
"""


def args_of(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["load", *argv])


def test_a_full_file_gives_every_setting(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text(FULL)
    scenario = scenario_from_args(args_of("--scenario", str(path)))
    assert (scenario.host, scenario.port) == ("127.0.0.1", 4709)
    assert scenario.calls == 40 and scenario.rate == 8.5 and scenario.hold_s == 12
    assert scenario.duration_s == 60 and scenario.answer_timeout_s == 5
    assert scenario.formats == (Format.ALAW, Format.ULAW)
    assert scenario.trunk and scenario.workers == 2
    assert scenario.accounts == (LoadAccount("trunk1", "trunk1secret"),)
    echo, tone = scenario.destinations
    assert (echo.number, echo.weight, echo.action.expect, echo.action.dtmf) == (
        "600",
        3,
        "echo",
        "12#",
    )
    assert (tone.number, tone.action.expect, tone.action.tone_hz) == ("601", "tone", MILLIWATT_HZ)
    assert scenario.max_failed == Threshold(2.5, percent=True)
    assert scenario.min_mos == 3.6 and scenario.mos_threshold == 4.2


def test_options_win_over_the_file(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text(FULL)
    argv = ["--scenario", str(path), "602*2", "--calls", "5", "--account", "6003:s3"]
    scenario = scenario_from_args(args_of(*argv, "--max-failed", "1", "--expect", "none"))
    assert scenario.calls == 5
    assert [(d.number, d.weight, d.action.expect) for d in scenario.destinations] == [
        ("602", 2, "none")
    ]
    assert scenario.accounts == (LoadAccount("6003", "s3"),)
    assert scenario.max_failed == Threshold(1)
    assert scenario.rate == 8.5  # the file's, untouched


def test_the_command_line_alone_is_a_scenario(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IAXPHONE_SECRET", "from-env")
    scenario = scenario_from_args(args_of("600", "--server", "pbx.example", "--account", "6001"))
    assert (scenario.host, scenario.port) == ("pbx.example", 4569)
    assert scenario.accounts == (LoadAccount("6001", "from-env"),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'target = "h"\ncalls = 0\n[[account]]\nuser="1"\n[[destination]]\nnumber="6"',
            "calls must be more than 0",
        ),
        (
            'target = "h"\ncalls = 2.5\n[[account]]\nuser="1"\n[[destination]]\nnumber="6"',
            "calls must be a whole number",
        ),
        (
            'target = "h"\nrate = "fast"\n[[account]]\nuser="1"\n[[destination]]\nnumber="6"',
            "rate must be a number",
        ),
        (
            'target = "h"\nspeed = 3\n[[account]]\nuser="1"\n[[destination]]\nnumber="6"',
            "unknown key 'speed'",
        ),
        (
            'target = "h"\n[[account]]\nuser="1"\n[[destination]]\nnumber="6"\nexpect="music"',
            "expect must be one of",
        ),
        (
            'target = "h"\n[[account]]\nuser="1"\n[[destination]]\nnumber="6"\ndtmf="12x"',
            "dtmf '12x'",
        ),
        (
            'target = "h"\n[[account]]\nuser="1"\n[[destination]]\nnumber="6"\nplay="gone.wav"',
            "no such file",
        ),
        ('target = "h"\n[[account]]\nuser="1"', "no destination"),
        ('target = "h"\n[[destination]]\nnumber="6"', "no account"),
        ('[[account]]\nuser="1"\n[[destination]]\nnumber="6"', "no target"),
        ('target = "h:99999"\n[[account]]\nuser="1"\n[[destination]]\nnumber="6"', "port must be"),
        ('target = "h"\ncodec="mp3"\n[[account]]\nuser="1"\n[[destination]]\nnumber="6"', "codec"),
        (
            'target = "h"\nmin_mos=7\n[[account]]\nuser="1"\n[[destination]]\nnumber="6"',
            "min_mos must be from 1 to 4.5",
        ),
        (
            'target = "h"\nmax_failed="lots"\n[[account]]\nuser="1"\n[[destination]]\nnumber="6"',
            "give a number of calls",
        ),
        (
            'target = "h"\n[[account]]\nuser="1"\n[[destination]]\nnumber="6 0"',
            "neither an extension",
        ),
        ("target = [", "not valid TOML"),
    ],
)
def test_a_bad_file_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=r"bad\.toml") as caught:
        scenario_from_args(args_of("--scenario", str(path)))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_command_says_it_in_one_line_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('target = "127.0.0.1"\nhold = -1\n')
    result = subprocess.run(
        [sys.executable, "-m", "iaxphone.cli", "load", "--scenario", str(path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == exitcodes.USAGE
    assert result.stderr.strip().splitlines() == [
        f"iaxphone: {path}: hold must be more than 0, not -1"
    ]


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read the scenario"):
        scenario_from_args(args_of("--scenario", str(tmp_path / "none.toml")))


def test_thresholds_count_or_percent() -> None:
    assert parse_threshold("3") == Threshold(3)
    assert parse_threshold("1.5%") == Threshold(1.5, True)
    assert Threshold(3).allows(3, 10) and not Threshold(3).allows(4, 10)
    assert Threshold(10, True).allows(10, 100) and not Threshold(10, True).allows(11, 100)


def test_the_mix_is_exact_and_spread() -> None:
    assert destination_order((3.0, 1.0), 8) == [0, 0, 1, 0, 0, 0, 1, 0]
    order = destination_order((1.0, 1.0, 2.0), 400)
    assert [order.count(i) for i in range(3)] == [100, 100, 200]


def test_each_worker_takes_its_own_calls_and_accounts() -> None:
    table = {
        "target": "h", "calls": 10, "rate": 5,
        "account": [{"user": str(6001 + i), "secret": "s"} for i in range(4)],
        "destination": [{"number": "600"}],
    }  # fmt: skip
    calls = plan(from_table(table, "t"), workers=2)
    assert [c.worker for c in calls] == [0, 1] * 5
    assert [c.at_s for c in calls[:3]] == [0.0, 0.2, 0.4]
    assert {c.account for c in calls if c.worker == 0} == {0, 2}
    assert {c.account for c in calls if c.worker == 1} == {1, 3}
    one = plan(from_table({**table, "account": [{"user": "trunk1"}]}, "t"), workers=2)
    assert {c.account for c in one} == {0}  # one trunk: every worker its own flow of it
