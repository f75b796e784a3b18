"""Line buttons: one per live call, as on a desk phone's line keys.

Theory of operation
-------------------
:class:`LineButtons` is given every :class:`~iaxphone.phone.LineInfo`
snapshot the window hears (:meth:`LineButtons.update`) and keeps one
checkable button per line that has not ended, labelled with its state and
number ("talking 6002", "waiting 6003" for a second call ringing while we
talk, "held 6002").  The button of the window's current line is checked.
A click only emits :attr:`LineButtons.chosen` with the line id: what that
does (answer a waiting call, swap to a held one) is the window's business.
A line that ends loses its button.  Buttons are numbered 1, 2, 3 ... by
slot, and Alt+1 ... Alt+9 choose them from the keyboard.
"""

from __future__ import annotations

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtGui import QKeySequence
from PyQt6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from iaxphone.phone import LineInfo, LineState

SHOWN = {
    LineState.DIALING: "dialing",
    LineState.RINGING: "ringing",
    LineState.INCOMING: "incoming",
    LineState.TALKING: "talking",
    LineState.HELD: "held",
}


def describe(line: LineInfo, waiting: bool = False) -> str:
    state = "waiting" if waiting and line.state is LineState.INCOMING else SHOWN[line.state]
    return f"{state} {line.name or line.number}"


class LineButtons(QWidget):
    chosen = pyqtSignal(int)  # a line id

    def __init__(self) -> None:
        super().__init__()
        self.layout_ = QHBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.lines: dict[int, LineInfo] = {}
        self.buttons: dict[int, QPushButton] = {}

    def update_line(self, line: LineInfo, current: int | None) -> None:
        """Take a line snapshot (add, relabel, or remove its button if it ended)."""
        if line.state is LineState.ENDED:
            self.lines.pop(line.id, None)
            button = self.buttons.pop(line.id, None)
            if button is not None:
                self.layout_.removeWidget(button)
                button.deleteLater()
        else:
            self.lines[line.id] = line
            if line.id not in self.buttons:
                button = QPushButton()
                button.setCheckable(True)
                button.clicked.connect(lambda _checked=False, i=line.id: self._choose(i))
                self.layout_.addWidget(button)
                self.buttons[line.id] = button
        self.show_current(current)

    def show_current(self, current: int | None) -> None:
        talking = any(line.state is LineState.TALKING for line in self.lines.values())
        for slot, (line_id, button) in enumerate(self.buttons.items(), start=1):
            label = describe(self.lines[line_id], waiting=talking)
            button.setText(f"{slot}: {label}")
            button.setAccessibleName(f"line {slot}: {label}")
            button.setToolTip(f"line {slot} (Alt+{slot})" if slot < 10 else f"line {slot}")
            if slot < 10:
                button.setShortcut(QKeySequence(f"Alt+{slot}"))
            button.setChecked(line_id == current)
        self.setVisible(bool(self.buttons))

    def _choose(self, line_id: int) -> None:
        self.chosen.emit(line_id)
