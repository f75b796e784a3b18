"""Line buttons: one per live call, as on a desk phone's line keys.

Theory of operation
-------------------
:class:`LineButtons` draws the handset model's line keys
(:class:`~iaxphone.viewmodels.handset.LineKey`: slot, label such as
"talking 6002" or "waiting 6003", and whether it is the current line) with
:meth:`LineButtons.show_keys`: one checkable button per key, the current
one checked, a line that ended loses its button.  A click only emits
:attr:`LineButtons.chosen` with the line id: what that does (answer a
waiting call, swap to a held one) is the model's business.  Alt+1 ... Alt+9
choose the first nine from the keyboard.

The strip keeps its height while it has no keys (hidden, but its space
reserved), so the window does not grow when a second call arrives.
"""

from __future__ import annotations

from collections.abc import Sequence

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtGui import QKeySequence
from PyQt6.QtWidgets import QHBoxLayout, QPushButton, QSizePolicy, QWidget

from iaxphone.viewmodels.handset import LineKey, describe

from .icons import icon

__all__ = ["LineButtons", "describe"]


class LineButtons(QWidget):
    chosen = pyqtSignal(int)  # a line id

    def __init__(self) -> None:
        super().__init__()
        self.layout_ = QHBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.buttons: dict[int, QPushButton] = {}
        sample = QPushButton("1: talking 6001")
        sample.setIcon(icon("line"))
        self.setFixedHeight(sample.sizeHint().height())
        policy = self.sizePolicy()
        policy.setRetainSizeWhenHidden(True)  # hidden without keys, its space kept
        policy.setVerticalPolicy(QSizePolicy.Policy.Fixed)
        self.setSizePolicy(policy)

    def show_keys(self, keys: Sequence[LineKey]) -> None:
        wanted = {key.line_id for key in keys}
        for line_id in [i for i in self.buttons if i not in wanted]:
            button = self.buttons.pop(line_id)
            self.layout_.removeWidget(button)
            button.deleteLater()
        for key in keys:
            found = self.buttons.get(key.line_id)
            button = found if found is not None else QPushButton()
            if found is None:
                button.setCheckable(True)
                button.setIcon(icon("line"))
                button.clicked.connect(lambda _checked=False, i=key.line_id: self.chosen.emit(i))
                self.layout_.addWidget(button)
                self.buttons[key.line_id] = button
            button.setText(f"{key.slot}: {key.label}")
            button.setAccessibleName(f"line {key.slot}: {key.label}")
            shortcut = f" (Alt+{key.slot})" if key.slot < 10 else ""
            button.setToolTip(f"line {key.slot}{shortcut}")
            if key.slot < 10:
                button.setShortcut(QKeySequence(f"Alt+{key.slot}"))
            button.setChecked(key.current)
        self.setVisible(bool(self.buttons))
