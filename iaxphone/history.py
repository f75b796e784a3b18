"""Call history in SQLite (WAL), in the user's data directory.

Theory of operation: a row is written when a call starts (direction,
number, name, account, start time), updated when it is answered (answer
time, codec) and completed when it ends (end time, cause, cause code,
MOS).  Each step commits at once, so a phone that crashes mid-call leaves
a row with a start (and answer) time and no end; while a call talks, its
row's ``alive`` time is brought up to date about once a second (one
UPDATE for all open calls).  The next time history is opened, rows whose
process is gone are marked ``interrupted`` and end at their last ``alive``
time, so a killed call keeps its talk time to within a second.  Secrets
are never stored, but who called whom is private: the file (and SQLite's
-wal and -shm files, which take its mode) is 0600, and the folder 0700 when
iaxphone made it or it is iaxphone's own.

A row may carry the operator's ``note`` (the console's note field).  The
schema's version is SQLite's ``user_version``: opening an older file runs
the :data:`MIGRATIONS` it lacks, in order (version 1 adds ``note``, 2
``alive``), so
history written by an earlier iaxphone keeps every row.

The text messages of a call (typed, received, or sent by the PBX) are rows
of ``messages`` that name their call; the table is created when a file
without it is opened, so it needs no migration step.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT,
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    number TEXT NOT NULL,
    name TEXT,
    started REAL NOT NULL,
    answered REAL,
    ended REAL,
    cause TEXT,
    cause_code INTEGER,
    codec TEXT,
    mos REAL,
    pid INTEGER
);
CREATE INDEX IF NOT EXISTS calls_started ON calls (started);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call INTEGER NOT NULL REFERENCES calls (id),
    at REAL NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_call ON messages (call);
"""

# Step N takes the schema from version N to N + 1 (SCHEMA above is version 0):
# each adds a column (name, SQL type) to ``calls``.
MIGRATIONS = (("note", "TEXT"), ("alive", "REAL"))

INTERRUPTED = "interrupted"
COLUMNS = (
    "id, account, direction, number, name, started, answered, ended, cause, cause_code, codec, "
    "mos, note"
)


@dataclass(frozen=True)
class MessageRecord:
    """One text message of a call: ``direction`` "in" (received) or "out" (sent)."""

    call: int
    at: float
    direction: str
    text: str


@dataclass(frozen=True)
class CallRecord:
    id: int
    account: str | None
    direction: str
    number: str
    name: str | None
    started: float
    answered: float | None
    ended: float | None
    cause: str | None
    cause_code: int | None
    codec: str | None
    mos: float | None
    note: str | None = None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _private(path: Path) -> None:
    """Make the history folder and file readable by their owner only."""
    folder = path.parent
    made = not folder.exists()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if made or folder.name == "iaxphone":
        folder.chmod(0o700)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    path.chmod(0o600)


class History:
    def __init__(self, path: Path) -> None:
        _private(path)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, timeout=5.0)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self._migrate()
        self._mark_interrupted()

    def _migrate(self) -> None:
        """Bring an older file up to this schema (see :data:`MIGRATIONS`)."""
        (version,) = self.db.execute("PRAGMA user_version").fetchone()
        for number, (column, kind) in enumerate(MIGRATIONS[version:], start=version + 1):
            self.db.execute("BEGIN IMMEDIATE")  # one process migrates, the others wait
            try:
                columns = {row[1] for row in self.db.execute("PRAGMA table_info(calls)")}
                if column not in columns:
                    self.db.execute(f"ALTER TABLE calls ADD COLUMN {column} {kind}")
                self.db.execute(f"PRAGMA user_version = {number}")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    @property
    def version(self) -> int:
        (version,) = self.db.execute("PRAGMA user_version").fetchone()
        return int(version)

    def _mark_interrupted(self) -> None:
        """Calls left open by a process that has died: close them as interrupted.

        Several iaxphone processes may share the history, so only rows whose
        process is gone are touched.
        """
        open_rows = self.db.execute("SELECT id, pid FROM calls WHERE ended IS NULL").fetchall()
        for row, pid in open_rows:
            if pid is None or not _alive(int(pid)):
                self.db.execute(
                    "UPDATE calls SET cause = ?, ended = COALESCE(alive, answered, started) "
                    "WHERE id = ?",
                    (INTERRUPTED, row),
                )

    def start(
        self, direction: str, number: str, name: str | None = None, account: str | None = None
    ) -> int:
        cursor = self.db.execute(
            "INSERT INTO calls (account, direction, number, name, started, pid) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (account, direction, number, name, time.time(), os.getpid()),
        )
        return int(cursor.lastrowid or 0)

    def answered(self, row: int, codec: str | None) -> None:
        self.db.execute(
            "UPDATE calls SET answered = ?, codec = ? WHERE id = ?", (time.time(), codec, row)
        )

    def alive(self, rows: list[int]) -> None:
        """These calls are still going now (the end a crash leaves them with)."""
        if rows:
            marks = ", ".join("?" * len(rows))
            self.db.execute(
                f"UPDATE calls SET alive = ? WHERE id IN ({marks})", (time.time(), *rows)
            )

    def ended(self, row: int, cause: str, cause_code: int | None, mos: float | None = None) -> None:
        self.db.execute(
            "UPDATE calls SET ended = ?, cause = ?, cause_code = ?, mos = ? WHERE id = ?",
            (time.time(), cause, cause_code, mos, row),
        )

    def set_note(self, row: int, note: str) -> bool:
        """Keep the operator's note with the row ("" clears it); False if there is no such row."""
        cursor = self.db.execute(
            "UPDATE calls SET note = ? WHERE id = ?", (note.strip() or None, row)
        )
        return cursor.rowcount == 1

    def add_message(self, row: int, direction: str, text: str, at: float | None = None) -> None:
        self.db.execute(
            "INSERT INTO messages (call, at, direction, text) VALUES (?, ?, ?, ?)",
            (row, time.time() if at is None else at, direction, text),
        )

    def messages(self, row: int) -> list[MessageRecord]:
        """A call's text messages, oldest first."""
        found = self.db.execute(
            "SELECT call, at, direction, text FROM messages WHERE call = ? ORDER BY at, id",
            (row,),
        ).fetchall()
        return [MessageRecord(*message) for message in found]

    def get(self, row: int) -> CallRecord | None:
        found = self.db.execute(f"SELECT {COLUMNS} FROM calls WHERE id = ?", (row,)).fetchone()
        return CallRecord(*found) if found else None

    def recent(self, limit: int = 50) -> list[CallRecord]:
        rows = self.db.execute(
            f"SELECT {COLUMNS} FROM calls ORDER BY started DESC, id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [CallRecord(*row) for row in rows]

    def last_dialled(self) -> str | None:
        row = self.db.execute(
            "SELECT number FROM calls WHERE direction = 'out' "
            "ORDER BY started DESC, id DESC LIMIT 1"
        ).fetchone()
        return str(row[0]) if row else None

    def close(self) -> None:
        self.db.close()
