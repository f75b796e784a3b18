"""The operator's call log in the console: recent calls from the history, each with its note.

The rows come from :class:`~iaxphone.history.History` (``recent``); the
note column is editable (double-click it) and an edited note is
written back through the phone's call log
(:meth:`~iaxphone.callrecord.CallLog.set_note`), the one writer of history
rows.  The list is read again when one of the operator's calls ends, and
when the note field of the bar saved a note (:meth:`CallLogPanel.refresh`).
Double-clicking any other column calls the number back.
"""

from __future__ import annotations

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QBrush, QColor
from PyQt6.QtWidgets import QLabel, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from iaxphone.callrecord import CallLog
from iaxphone.gui.history_view import (
    MISSED_COLOUR,
    direction_text,
    duration_text,
    is_missed,
    time_text,
)
from iaxphone.history import History
from iaxphone.phone import LineChanged, LineState, PhoneEvent

COLUMNS = ("", "Number", "Name", "Time", "Length", "Note")
NOTE = COLUMNS.index("Note")
ROW_ROLE = Qt.ItemDataRole.UserRole


class CallLogPanel(QWidget):
    call_requested = pyqtSignal(str)

    def __init__(self, history: History, log: CallLog, limit: int = 100) -> None:
        super().__init__()
        self.history = history
        self.log = log
        self.limit = limit
        self._filling = False
        self.summary = QLabel("")
        self.calls = QTreeWidget()
        self.calls.setRootIsDecorated(False)
        self.calls.setUniformRowHeights(True)
        self.calls.setHeaderLabels(list(COLUMNS))
        self.calls.setEditTriggers(QTreeWidget.EditTrigger.NoEditTriggers)  # the note only
        self.calls.itemChanged.connect(self._edited)
        self.calls.itemDoubleClicked.connect(self._activated)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.summary)
        box.addWidget(self.calls)
        self.refresh()

    def refresh(self) -> None:
        self._filling = True
        try:
            self.calls.clear()
            records = self.history.recent(self.limit)
            missed = 0
            for call in records:
                item = QTreeWidgetItem(
                    [
                        direction_text(call),
                        call.number,
                        call.name or "",
                        time_text(call.started),
                        duration_text(call),
                        call.note or "",
                    ]
                )
                item.setData(0, ROW_ROLE, call.id)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
                item.setToolTip(NOTE, "double-click to write a note")
                if is_missed(call):
                    missed += 1
                    for column in range(NOTE):
                        item.setForeground(column, QBrush(QColor(MISSED_COLOUR)))
                self.calls.addTopLevelItem(item)
            for column in range(NOTE):
                self.calls.resizeColumnToContents(column)
            count = len(records)
            self.summary.setText(f"{count} calls, {missed} missed" if count else "no calls yet")
        finally:
            self._filling = False

    def row(self, index: int) -> QTreeWidgetItem | None:
        return self.calls.topLevelItem(index)

    def set_note(self, index: int, note: str) -> None:
        """What typing a note into row ``index`` does (tests and the keyboard)."""
        item = self.row(index)
        if item is not None:
            item.setText(NOTE, note)

    def _edited(self, item: QTreeWidgetItem, column: int) -> None:
        if self._filling or column != NOTE:
            return
        self.log.set_note(int(item.data(0, ROW_ROLE)), item.text(NOTE))

    def _activated(self, item: QTreeWidgetItem, column: int) -> None:
        if column == NOTE:
            self.calls.editItem(item, NOTE)
        elif item.text(1):
            self.call_requested.emit(item.text(1))

    def on_phone_event(self, event: PhoneEvent) -> None:
        if isinstance(event, LineChanged) and event.line.state is LineState.ENDED:
            self.refresh()
