"""kill -9 of a phone mid-call: the history database stays sound and keeps the call.

Before: rows of killed calls ended at their answer time (0.0 s of talk even
after 6 s), and the issue saw no row at all for a call killed in its first
0.35 s.  The row is written as the call starts (right after its NEW) and
each step commits at once; talking calls are marked alive once a second.
"""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from iaxphone.history import INTERRUPTED, History
from tests.pbx import Pbx
from tests.test_cli_call import account, answered_in_history, env_with


def start_call(pbx: Pbx, home: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "iaxphone.cli", "call", "600", "--server",
         f"127.0.0.1:{pbx.iax_port}", *account(6008), "--duration", "60"],
        stderr=subprocess.DEVNULL, env=env_with(home),
    )  # fmt: skip


def first_row(db: Path, timeout: float = 30.0) -> bool:
    """Poll until the call's row exists (the first moment of the call)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if db.exists():
            with (
                contextlib.suppress(sqlite3.OperationalError),
                contextlib.closing(sqlite3.connect(db)) as conn,
            ):
                if conn.execute("SELECT count(*) FROM calls").fetchone()[0]:
                    return True
        time.sleep(0.002)  # polling for the row, not standing in for it
    return False


def check_sound(db: Path) -> None:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_a_call_killed_in_its_first_moment_is_in_history(pbx: Pbx, tmp_path: Path) -> None:
    phone = start_call(pbx, tmp_path)
    db = tmp_path / "data" / "history.sqlite3"
    try:
        seen = first_row(db)
        phone.kill()
        phone.wait(timeout=10)
    finally:
        if phone.poll() is None:
            phone.kill()
        pbx.hang_up_calls_of(6008)  # the next tests should not meet the killed call's channel
    assert seen, "no history row appeared"
    check_sound(db)
    (record,) = History(db).recent()
    assert record.number == "600" and record.cause == INTERRUPTED
    assert record.ended is not None and record.ended >= record.started


def test_a_killed_call_keeps_its_talk_time(pbx: Pbx, tmp_path: Path) -> None:
    phone = start_call(pbx, tmp_path)
    db = tmp_path / "data" / "history.sqlite3"
    try:
        answered = answered_in_history(db)
        assert answered is not None, "the call was never answered"
        time.sleep(3.0)  # the call talks for 3 s: the scenario itself, not a synchronisation
        phone.kill()
        phone.wait(timeout=10)
    finally:
        if phone.poll() is None:
            phone.kill()
        pbx.hang_up_calls_of(6008)  # the next tests should not meet the killed call's channel
    check_sound(db)
    (record,) = History(db).recent()
    assert record.cause == INTERRUPTED and record.answered == answered
    assert record.ended is not None
    assert 2.0 <= record.ended - answered <= 3.5, record.ended - answered
