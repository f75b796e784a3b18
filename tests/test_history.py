"""Call history: rows written at start, answer and end; crashed processes leave interrupted rows."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

from iaxphone.history import INTERRUPTED, MIGRATIONS, History


def test_a_call_goes_from_start_to_end(tmp_path: Path) -> None:
    history = History(tmp_path / "h.sqlite3")
    row = history.start("out", "600", account="office")
    history.answered(row, "ulaw")
    history.ended(row, "normal clearing", 16, 4.3)
    (record,) = history.recent()
    assert (record.direction, record.number, record.codec, record.cause_code, record.mos) == (
        "out",
        "600",
        "ulaw",
        16,
        4.3,
    )
    assert record.started <= record.answered <= record.ended
    assert history.last_dialled() == "600"


def test_rows_of_a_dead_process_become_interrupted_and_live_ones_stay(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    script = (
        "import sys; from pathlib import Path; from iaxphone.history import History; "
        "h = History(Path(sys.argv[1])); r = h.start('in', '6002', 'Bob'); h.answered(r, 'gsm')"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True)  # exits mid-call
    mine = History(path)
    live = mine.start("out", "6003")
    reopened = History(path)  # another process opening the history now
    records = {r.number: r for r in reopened.recent()}
    assert records["6002"].cause == INTERRUPTED and records["6002"].codec == "gsm"
    assert records["6002"].ended == records["6002"].answered
    assert records["6003"].cause is None and records["6003"].ended is None  # its process lives
    mine.ended(live, "normal clearing", 16)


def test_history_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    """Who called whom is private: 0600 file (and WAL), 0700 folder, even under umask 022."""
    old = os.umask(0o022)
    try:
        folder = tmp_path / "share" / "iaxphone"
        history = History(folder / "history.sqlite3")
        history.ended(history.start("out", "6002"), "normal clearing", 16)
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}
        assert modes["history.sqlite3"] == 0o600 and modes.get("history.sqlite3-wal") == 0o600
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        history.close()
    finally:
        os.umask(old)


def test_an_older_world_readable_history_is_tightened(tmp_path: Path) -> None:
    folder = tmp_path / "iaxphone"
    folder.mkdir(mode=0o755)
    old = folder / "history.sqlite3"
    History(old).close()
    old.chmod(0o644)
    folder.chmod(0o755)
    History(old).close()
    assert stat.S_IMODE(old.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_a_shared_folder_given_by_the_user_keeps_its_mode(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    History(shared / "history.sqlite3").close()
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755  # not ours to change
    assert stat.S_IMODE((shared / "history.sqlite3").stat().st_mode) == 0o600


OLD_SCHEMA = """
CREATE TABLE calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT,
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')), number TEXT NOT NULL,
    name TEXT, started REAL NOT NULL, answered REAL, ended REAL, cause TEXT,
    cause_code INTEGER, codec TEXT, mos REAL, pid INTEGER
);
INSERT INTO calls (direction, number, name, started, answered, ended, cause, cause_code)
VALUES ('in', '6002', 'Bob Baker', 100.0, 101.0, 160.0, 'normal clearing', 16);
"""


def test_an_older_history_gains_the_note_column_and_keeps_its_rows(tmp_path: Path) -> None:
    import sqlite3  # noqa: PLC0415

    path = tmp_path / "h.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(OLD_SCHEMA)
    old.close()
    history = History(path)
    assert history.version == len(MIGRATIONS)  # note, then alive
    (record,) = history.recent()
    assert (record.number, record.name, record.note) == ("6002", "Bob Baker", None)
    assert history.set_note(record.id, "  wants a call back about the invoice ")
    assert History(path).recent()[0].note == "wants a call back about the invoice"
    assert History(path).version == len(MIGRATIONS)  # opening again migrates nothing twice
    assert history.set_note(record.id, "") and history.get(record.id).note is None  # type: ignore[union-attr]
    assert not history.set_note(record.id + 1, "no such row")


def test_a_live_calls_note_goes_to_its_row_through_the_call_log(tmp_path: Path) -> None:
    from iaxphone.callrecord import CallLog  # noqa: PLC0415

    history = History(tmp_path / "h.sqlite3")
    log = CallLog(history)
    log.start(7, "in", "6004", "Dave Dunn", "desk")
    row = log.row_of(7)
    assert row is not None and log.set_note(row, "asked for Carol")
    log.ended(7, "normal clearing", 16, by_remote=True)
    assert log.row_of(7) is None
    (record,) = history.recent()
    assert (record.number, record.note) == ("6004", "asked for Carol")
    assert not CallLog(None).set_note(row, "no history")


def test_text_messages_belong_to_their_call_and_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    history = History(path)
    first = history.start("out", "6002")
    second = history.start("in", "6003")
    history.add_message(first, "out", "hello", at=10.0)
    history.add_message(second, "in", "other call", at=11.0)
    history.add_message(first, "in", "hi ✓", at=12.0)
    history.close()
    again = History(path)
    assert [(m.direction, m.text, m.at) for m in again.messages(first)] == [
        ("out", "hello", 10.0),
        ("in", "hi ✓", 12.0),
    ]
    assert [m.text for m in again.messages(second)] == ["other call"]
    again.close()


def test_an_older_file_without_messages_gets_the_table(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE calls (id INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT, direction TEXT, "
        "number TEXT, name TEXT, started REAL, answered REAL, ended REAL, cause TEXT, "
        "cause_code INTEGER, codec TEXT, mos REAL, pid INTEGER)"
    )
    old.execute("INSERT INTO calls (direction, number, started) VALUES ('in', '6001', 1.0)")
    old.commit()
    old.close()
    history = History(path)
    (record,) = history.recent()
    history.add_message(record.id, "in", "kept")
    assert [m.text for m in history.messages(record.id)] == ["kept"]
    assert history.version == 2
    history.close()
