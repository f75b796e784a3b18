"""Run ``iaxphone gui ARGS`` and, from the window, hold the first call it answers.

The handset window in a subprocess has no one to press its Hold key, so this
driver gives it a window that presses the key itself (``toggle_hold``, what
the key calls) once the call talks, and prints ``held`` on stdout when the
window shows the call held.  Everything else is the real ``iaxphone gui``:
its signal handling, its phone and its way out.
"""

from __future__ import annotations

import sys
from typing import Any

from PyQt6.QtCore import QTimer

import iaxphone.gui.app as gui_app
from iaxphone.cli import main

_Window = gui_app.MainWindow


class HoldingWindow(_Window):  # type: ignore[misc, valid-type]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pressed = False
        self._said = False
        self._poll = QTimer(self)
        self._poll.timeout.connect(self._check)
        self._poll.start(50)

    def _check(self) -> None:
        view = self.handset.model.view()
        if view.held and not self._said:
            self._said = True
            print("held", flush=True)
        elif view.in_call and not view.held and not self._pressed:
            self._pressed = True
            self.handset.toggle_hold()


gui_app.MainWindow = HoldingWindow

if __name__ == "__main__":
    sys.exit(main(["gui", *sys.argv[1:]]))
