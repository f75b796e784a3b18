"""Call history: rows written at start, answer and end; crashed processes leave interrupted rows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from iaxphone.history import INTERRUPTED, History


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
