"""The call history panel: recent calls from the SQLite history, newest first.

Theory of operation
-------------------
:class:`~iaxphone.history.History` is the record (the phone writes a row
when a call starts, is answered and ends); this panel only reads it with
``History.recent`` and shows one row per call: direction, number, name,
start time and talk time.  Missed calls (incoming, never answered, not
refused by us) are marked in the direction column and in red.

The panel does not poll: :meth:`HistoryView.refresh` re-reads the table,
and :meth:`HistoryView.on_phone_event` calls it when a line ends (the phone
writes the end of the call before it reports the line ENDED), so the front
end subscribes it to the phone.  Activating a row (double-click or Enter)
emits ``call_requested`` with the number, to redial it.
"""

from __future__ import annotations

import time

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QBrush, QColor
from PyQt6.QtWidgets import QLabel, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from iaxphone.history import CallRecord, History
from iaxphone.phone import LineChanged, LineState, PhoneEvent
from iaxphone.wire.constants import Cause

COLUMNS = ("", "Number", "Name", "Time", "Duration")
NUMBER_ROLE = Qt.ItemDataRole.UserRole
MISSED_COLOUR = "#d33b2c"
REFUSED_CODES = (
    Cause.USER_BUSY,
    Cause.CALL_REJECTED,
)  # busy (do-not-disturb) and rejected: turned away on purpose


def is_missed(call: CallRecord) -> bool:
    """An incoming call nobody answered (calls refused here are not 'missed')."""
    if call.direction != "in" or call.answered is not None or call.ended is None:
        return False
    return call.cause_code not in REFUSED_CODES


def direction_text(call: CallRecord) -> str:
    if is_missed(call):
        return "↙ missed"
    if call.ended is None:
        return "… now"
    return "↙ in" if call.direction == "in" else "↗ out"


def duration_text(call: CallRecord) -> str:
    if call.answered is None or call.ended is None:
        return ""
    seconds = max(0, round(call.ended - call.answered))
    return f"{seconds // 60}:{seconds % 60:02d}"


def time_text(started: float, now: float | None = None) -> str:
    """Today's calls by time of day, older ones with their date."""
    local = time.localtime(started)
    today = time.localtime(now if now is not None else time.time())
    if local[:3] == today[:3]:
        return time.strftime("%H:%M", local)
    return time.strftime("%Y-%m-%d %H:%M", local)


class HistoryView(QWidget):
    """Recent calls; ``call_requested(number)`` when one is activated."""

    call_requested = pyqtSignal(str)

    def __init__(self, history: History, limit: int = 200) -> None:
        super().__init__()
        self.history = history
        self.limit = limit
        self.records: list[CallRecord] = []
        self.summary = QLabel("")
        self.calls = QTreeWidget()
        self.calls.setRootIsDecorated(False)
        self.calls.setUniformRowHeights(True)
        self.calls.setHeaderLabels(list(COLUMNS))
        self.calls.itemActivated.connect(self._activated)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.calls)
        self.refresh()

    def refresh(self) -> None:
        """Read the history again (newest first)."""
        self.records = self.history.recent(self.limit)
        self.calls.clear()
        missed = 0
        for call in self.records:
            item = QTreeWidgetItem(
                [
                    direction_text(call),
                    call.number,
                    call.name or "",
                    time_text(call.started),
                    duration_text(call),
                ]
            )
            item.setData(0, NUMBER_ROLE, call.number)
            item.setToolTip(0, call.cause or "")
            if is_missed(call):
                missed += 1
                for column in range(len(COLUMNS)):
                    item.setForeground(column, QBrush(QColor(MISSED_COLOUR)))
            self.calls.addTopLevelItem(item)
        for column in range(len(COLUMNS)):
            self.calls.resizeColumnToContents(column)
        count = len(self.records)
        calls = f"{count} call" + ("s" if count != 1 else "")
        self.summary.setText(f"{calls}, {missed} missed" if count else "no calls yet")

    def on_phone_event(self, event: PhoneEvent) -> None:
        """Subscribe this to the phone: the list is re-read when a call ends."""
        if isinstance(event, LineChanged) and event.line.state is LineState.ENDED:
            self.refresh()

    def row(self, index: int) -> QTreeWidgetItem | None:
        return self.calls.topLevelItem(index)

    def _activated(self, item: QTreeWidgetItem, _column: int) -> None:
        number = item.data(0, NUMBER_ROLE)
        if number:
            self.call_requested.emit(str(number))
