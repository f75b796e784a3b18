"""Messages a new user meets: each says one thing a person understands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from iaxphone import cli
from iaxphone.cli import exitcodes
from iaxphone.media import devices


def iaxphone(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "iaxphone", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


def test_a_config_file_named_in_the_environment_must_exist(tmp_path: Path) -> None:
    missing = tmp_path / "typo.toml"
    result = iaxphone(
        "register", "--server", "127.0.0.1:9", "--user", "1", "--secret", "s",
        IAXPHONE_CONFIG=str(missing),
    )  # fmt: skip
    assert result.returncode == exitcodes.USAGE
    assert (
        result.stderr.strip() == f"iaxphone: IAXPHONE_CONFIG names {missing}, which does not exist"
    )


def test_an_empty_history_says_so() -> None:
    result = iaxphone("history")
    assert result.returncode == exitcodes.OK
    assert (result.stdout, result.stderr.strip()) == ("", "no calls in the history yet")


def test_devices_without_any_says_so_without_the_call_time_note(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(devices, "list_devices", lambda: [])
    assert cli.main(["devices"]) == exitcodes.OK
    err = capsys.readouterr().err.strip()
    assert err == f"iaxphone: {devices.NO_DEVICES_LISTED}"
    assert "sending silence" not in err


@pytest.mark.parametrize("command", ["call", "listen"])
@pytest.mark.parametrize(
    ("option", "where", "message"),
    [
        ("--record", "no-such-dir/x.wav", "no folder"),
        ("--stats", "no-such-dir/s.json", "no folder"),
        ("--record", ".", "is a folder, not a file"),
    ],
)
def test_an_output_file_that_cannot_be_written_is_refused_before_dialling(
    tmp_path: Path, command: str, option: str, where: str, message: str
) -> None:
    # 127.0.0.1:9 answers nothing: had the command dialled, it would wait and exit 6.
    target = ["600"] if command == "call" else []
    result = iaxphone(
        command, *target, "--server", "127.0.0.1:9", "--user", "1", "--secret", "s",
        option, str(tmp_path / where),
    )  # fmt: skip
    assert result.returncode == exitcodes.USAGE, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"iaxphone: {option} {tmp_path / where}: {message}"
    )
    assert not (tmp_path / "data").exists()
