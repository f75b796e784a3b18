"""The call history panel over a real SQLite history written by a real phone's calls."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QColor
from PyQt6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from iaxphone.gui.history_view import MISSED_COLOUR, HistoryView, is_missed, time_text
from iaxphone.history import CallRecord, History
from iaxphone.phone import LineState
from tests.guiloop import desk_phone, run_on_qt_loop, until
from tests.pbx import Pbx


@pytest.mark.pbx
def test_calls_appear_newest_first_missed_marked_and_redial_on_activation(
    pbx: Pbx, qapp: QApplication, qtbot: QtBot, tmp_path: Path
) -> None:
    history = History(tmp_path / "history.sqlite3")

    async def scenario() -> None:
        async with desk_phone(pbx, 6006, history) as bob, desk_phone(pbx, 6007) as carol:
            view = HistoryView(history)
            qtbot.addWidget(view)
            view.show()
            bob.subscribe(view.on_phone_event)
            assert view.summary.text() == "no calls yet" and view.calls.topLevelItemCount() == 0

            # Bob calls the echo test and talks a moment.
            line_id = await bob.dial("600")
            await bob.wait_line(line_id, LineState.TALKING)
            await bob.hangup(line_id)
            await until(bob, lambda: len(view.records) == 1)
            assert view.row(0) is not None and view.row(0).text(0) == "↗ out"  # type: ignore[union-attr]

            # Carol rings Bob and gives up before he answers: a missed call.
            carol_line = await carol.dial("6006")
            await until(bob, lambda: any(i.state is LineState.INCOMING for i in _infos(bob)))
            await carol.hangup(carol_line)
            await until(bob, lambda: len(view.records) == 2)

            missed, echo = view.row(0), view.row(1)
            assert missed is not None and echo is not None
            assert missed.text(0) == "↙ missed" and missed.text(1) == "6007"
            assert missed.foreground(1).color() == QColor(MISSED_COLOUR)
            assert missed.text(4) == ""  # never talked
            assert echo.text(0) == "↗ out" and echo.text(1) == "600"
            assert echo.text(3) == time.strftime("%H:%M", time.localtime(view.records[1].started))
            minutes, seconds = echo.text(4).split(":")
            assert int(minutes) == 0 and 0 <= int(seconds) < 10
            assert view.summary.text() == "2 calls, 1 missed"

            # Double-click redials the echo test; Enter calls Carol back.
            rect = view.calls.visualItemRect(echo)
            viewport = view.calls.viewport()
            with qtbot.waitSignal(view.call_requested, timeout=2000) as clicked:
                qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())
                qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())
            assert clicked.args == ["600"]
            view.calls.setCurrentItem(missed)
            with qtbot.waitSignal(view.call_requested, timeout=2000) as entered:
                qtbot.keyClick(view.calls, Qt.Key.Key_Return)
            assert entered.args == ["6007"]

    try:
        run_on_qt_loop(qapp, scenario())
    finally:
        history.close()


def _infos(phone: object) -> list[object]:
    return [line.info for line in phone.lines.values()]  # type: ignore[attr-defined]


def record(**fields: object) -> CallRecord:
    base: dict[str, object] = dict(
        id=1, account="desk", direction="in", number="6002", name=None, started=1000.0,
        answered=None, ended=1010.0, cause="hangup", cause_code=16, codec=None, mos=None,
    )  # fmt: skip
    base.update(fields)
    return CallRecord(**base)  # type: ignore[arg-type]


def test_what_counts_as_missed() -> None:
    assert is_missed(record())
    assert not is_missed(record(answered=1002.0))  # talked
    assert not is_missed(record(direction="out"))  # ours, unanswered
    assert not is_missed(record(cause="busy", cause_code=17))  # refused by do-not-disturb
    assert not is_missed(record(cause="rejected", cause_code=21))  # refused by us
    assert not is_missed(record(ended=None))  # still ringing


def test_old_calls_show_their_date() -> None:
    now = time.mktime((2026, 3, 5, 15, 0, 0, 0, 0, -1))
    assert time_text(now - 3600, now) == "14:00"
    assert time_text(now - 86400, now) == "2026-03-04 15:00"
