"""``iaxphone call --text`` and the texts ``call`` and ``listen`` print, against the bundled PBX."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from iaxphone.cli import exitcodes
from iaxphone.cli.text import format_text
from iaxphone.history import History
from tests.pbx import Pbx
from tests.test_cli_call import SERVER, account, env_with, one_line_error


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "iaxphone.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env_with(tmp_path),
    )


def test_a_multi_line_text_is_printed_indented() -> None:
    assert format_text("6001", "one\ntwo") == "text from 6001: one\n  two"


@pytest.mark.parametrize(("text", "message"), [("", "empty text"), ("x" * 5000, "too long")])
def test_a_bad_text_exits_2_before_calling(tmp_path: Path, text: str, message: str) -> None:
    result = run(tmp_path, "call", "603", *SERVER, *account(6001), "--text", text)
    assert result.returncode == exitcodes.USAGE, result.stderr
    assert message in one_line_error(result)


def test_call_sends_text_and_prints_what_comes_back(pbx: Pbx, tmp_path: Path) -> None:
    result = run(
        tmp_path, "call", "603", *SERVER, *account(6008),
        "--text", "first", "--text", "zweite Nachricht ✓", "--duration", "2",
    )  # fmt: skip
    assert result.returncode == exitcodes.OK, result.stderr
    assert result.stdout.splitlines() == [
        "text from 603: Text echo ready",
        "text from 603: echo: first",
        "text from 603: echo: zweite Nachricht ✓",
    ]
    history = History(tmp_path / "data" / "history.sqlite3")
    (record,) = history.recent()
    messages = history.messages(record.id)  # the greeting and our texts may cross
    assert [m.text for m in messages if m.direction == "out"] == ["first", "zweite Nachricht ✓"]
    assert [m.text for m in messages if m.direction == "in"] == [
        "Text echo ready",
        "echo: first",
        "echo: zweite Nachricht ✓",
    ]
    assert [m.at for m in messages] == sorted(m.at for m in messages)
    history.close()


def test_listen_prints_the_texts_it_receives(pbx: Pbx, tmp_path: Path) -> None:
    listener = subprocess.Popen(
        [sys.executable, "-m", "iaxphone.cli", "listen", *SERVER, *account(6007), "--auto-answer",
         "--max-calls", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env_with(tmp_path / "listener"),
    )  # fmt: skip
    try:
        assert listener.stderr is not None
        seen: list[str] = []
        while not any("listening as 6007" in line for line in seen):
            line = listener.stderr.readline()
            assert line, f"listener exited: {seen}"
            seen.append(line)
        caller = run(
            tmp_path / "caller", "call", "6007", *SERVER, *account(6009),
            "--text", "hello listener\nsecond line", "--duration", "2",
        )  # fmt: skip
        assert caller.returncode == exitcodes.OK, caller.stderr
        out, err = listener.communicate(timeout=30)
        assert listener.returncode == exitcodes.OK, err
    finally:
        if listener.poll() is None:
            listener.kill()
    assert out.splitlines() == ["text from 6009: hello listener", "  second line"]
