"""``iaxphone console``: needs AMI (exit 2 without), refuses a bad login (3), opens and closes (0)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from iaxphone.cli.console import parse_groups
from tests.ami import AmiWatcher
from tests.guiloop import gui_env, registered
from tests.pbx import Pbx


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "iaxphone.cli", "console", *args],
        env=gui_env(tmp_path, QT_QPA_PLATFORM="offscreen", **env),
        capture_output=True,
        timeout=60,
    )


def test_without_ami_it_says_why_and_exits_2(tmp_path: Path) -> None:
    done = run(tmp_path)
    assert done.returncode == 2
    assert done.stderr.decode().strip().startswith("iaxphone: the console needs AMI")
    assert b"Traceback" not in done.stderr


def test_bad_group_is_a_usage_error(tmp_path: Path) -> None:
    done = run(tmp_path, "--ami-user", "x", "--ami-secret", "y", "--group", "Sales=60x1")
    assert done.returncode == 2
    assert done.stderr.decode().strip() == (
        "iaxphone: --group 'Sales=60x1': '60x1' is not a number or range"
    )


def test_groups_parse_ranges_and_lists() -> None:
    assert parse_groups(["Sales=6001-6003,6007", "Front=6010"]) == {
        "Sales": ["6001", "6002", "6003", "6007"],
        "Front": ["6010"],
    }


@pytest.mark.pbx
def test_a_refused_ami_login_exits_3(pbx: Pbx, tmp_path: Path) -> None:
    done = run(
        tmp_path,
        "--ami", f"{pbx.host}:{pbx.ami_port}", "--ami-user", "operator", "--ami-secret", "wrong",
    )  # fmt: skip
    assert done.returncode == 3
    assert done.stderr.decode().strip().startswith("iaxphone: AMI login refused")
    assert b"Traceback" not in done.stderr


@pytest.mark.pbx
async def test_the_console_logs_in_as_the_operator_and_closes_cleanly(
    pbx: Pbx, tmp_path: Path
) -> None:
    def operator_login(e: Any) -> bool:
        return bool(e.Event == "SuccessfulAuth" and e.AccountID == "operator")

    async with AmiWatcher(pbx) as ami:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "iaxphone.cli", "console",
            "--ami", f"{pbx.host}:{pbx.ami_port}",
            "--ami-user", "operator", "--ami-secret", "operator-secret", "--operator", "6010",
            env=gui_env(tmp_path, QT_QPA_PLATFORM="offscreen"),
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            # Its SIGTERM handler is in place before it logs in: closing while the
            # panels are still being read must be as clean as closing later.
            await ami.wait_for(operator_login, timeout=20)
            process.send_signal(signal.SIGTERM)
            _out, err = await asyncio.wait_for(process.communicate(), 20)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert process.returncode == 0, err
    assert b"Traceback" not in err


@pytest.mark.pbx
async def test_with_an_account_the_console_runs_its_own_softphone(pbx: Pbx, tmp_path: Path) -> None:
    """The account's phone registers (the PBX says so), and the console closes cleanly."""
    user, secret = pbx.extension(6010)

    def operator_login(e: Any) -> bool:
        return bool(e.Event == "SuccessfulAuth" and e.AccountID == "operator")

    async with AmiWatcher(pbx) as ami:
        mark = len(ami.events)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "iaxphone.cli", "console",
            "--server", f"{pbx.host}:{pbx.iax_port}", "--user", user, "--secret", secret,
            "--ami", f"{pbx.host}:{pbx.ami_port}",
            "--ami-user", "operator", "--ami-secret", "operator-secret", "--scheme", "dark",
            env=gui_env(tmp_path, QT_QPA_PLATFORM="offscreen"),
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            await ami.wait_for(operator_login, timeout=20)
            await ami.wait_for(
                lambda e: ami.events.index(e) >= mark and registered("6010")(e), timeout=20
            )
            process.send_signal(signal.SIGTERM)
            _out, err = await asyncio.wait_for(process.communicate(), 20)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert process.returncode == 0, err
    assert b"Traceback" not in err
    assert (tmp_path / "data" / "history.sqlite3").exists()  # the softphone's history


def test_a_bad_server_is_a_usage_error(tmp_path: Path) -> None:
    done = run(
        tmp_path, "--ami-user", "x", "--ami-secret", "y",
        "--server", "127.0.0.1:notaport", "--user", "6010", "--secret", "s",
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert b"Traceback" not in done.stderr
