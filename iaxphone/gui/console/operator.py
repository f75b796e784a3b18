"""The console's own softphone: the operator's call, line keys, keypad, call keys and a note.

Theory of operation
-------------------
The bar draws the Qt-free :class:`~iaxphone.viewmodels.handset.HandsetModel`
(the same model the handset window draws, over the same
:class:`~iaxphone.phone.Phone`) and forwards input to its commands; it holds
no call logic of its own.  Without a model (no account configured) the bar
says the console is a panel only and its keys stay greyed out.

* **The call card** shows the current line's state, who and the timer in
  large type.  It, and every line key, can be dragged: the drag carries
  ``line:<id>`` in the console's call MIME type, so a tile, the parking lot
  or a queue or room tile takes the operator's own call as it takes any
  other (the window decides what the drop means).
* **The number field** is the keyboard path: type a number or a name,
  Enter - while in a call that is a blind transfer (Ctrl+Enter consults;
  ``park`` parks it, ``*9`` + an extension sends it to that voicemail),
  otherwise a call.  Names are resolved by the window's ``resolve``
  (the busy-lamp field's directory).
* **Consult** with an empty field arms the next drop of the own call to be
  an attended transfer.
* **The note** is kept with the call's history row, through the phone's
  call log (:meth:`~iaxphone.callrecord.CallLog.set_note`), when editing
  finishes.
"""

from __future__ import annotations

from collections.abc import Callable

from PyQt6.QtCore import QMimeData, Qt, pyqtSignal
from PyQt6.QtGui import QDrag, QKeyEvent, QMouseEvent
from PyQt6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from iaxphone.linestate import LineState
from iaxphone.viewmodels.handset import HandsetModel, Key

from .tiles import MIME_CALL

OWN_LINE = "line:"  # the drag payload's prefix for the operator's own call
PAD = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#")
NO_ACCOUNT = "No account: a panel only - this console cannot take calls itself"

# (key, label, standard icon, shortcut)
CALL_KEYS = (
    (Key.CALL, "Answer / call", QStyle.StandardPixmap.SP_DialogYesButton, "Ctrl+Return"),
    (Key.HANG_UP, "Hang up", QStyle.StandardPixmap.SP_DialogNoButton, "Ctrl+E"),
    (Key.HOLD, "Hold", QStyle.StandardPixmap.SP_MediaPause, "Ctrl+H"),
    (Key.TRANSFER, "Transfer", QStyle.StandardPixmap.SP_ArrowForward, "Ctrl+T"),
    (Key.CONSULT, "Consult", QStyle.StandardPixmap.SP_MessageBoxQuestion, "Ctrl+Shift+T"),
    (Key.COMPLETE, "Complete", QStyle.StandardPixmap.SP_DialogApplyButton, ""),
    (Key.CANCEL, "Cancel", QStyle.StandardPixmap.SP_DialogCancelButton, ""),
    (Key.PARK, "Park", QStyle.StandardPixmap.SP_DialogSaveButton, "Ctrl+P"),
)


def drag_own_line(source: QWidget, line_id: int) -> None:
    data = QMimeData()
    data.setData(MIME_CALL, f"{OWN_LINE}{line_id}".encode())
    drag = QDrag(source)
    drag.setMimeData(data)
    drag.setPixmap(source.grab().scaledToWidth(160))
    drag.exec(Qt.DropAction.MoveAction)


class _Draggable(QFrame):
    """A frame (the call card) that drags the line it shows."""

    def __init__(self) -> None:
        super().__init__()
        self.line_id: int | None = None
        self._press: object = None

    def mousePressEvent(self, event: QMouseEvent | None) -> None:  # noqa: N802 (Qt's name)
        if event is not None:
            self._press = event.position()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent | None) -> None:  # noqa: N802
        if event is None or self.line_id is None or self._press is None:
            return
        if not event.buttons() & Qt.MouseButton.LeftButton:
            return
        if (event.position() - self._press).manhattanLength() >= 8:  # type: ignore[operator]
            self._press = None
            drag_own_line(self, self.line_id)


class LineButton(QPushButton):
    """A line key; dragging it drags that call."""

    def __init__(self, line_id: int, text: str) -> None:
        super().__init__(text)
        self.line_id = line_id
        self._press: object = None

    def mousePressEvent(self, e: QMouseEvent | None) -> None:  # noqa: N802
        if e is not None:
            self._press = e.position()
        super().mousePressEvent(e)

    def mouseMoveEvent(self, e: QMouseEvent | None) -> None:  # noqa: N802
        if (
            e is not None
            and self._press is not None
            and e.buttons() & Qt.MouseButton.LeftButton
            and (e.position() - self._press).manhattanLength() >= 8  # type: ignore[operator]
        ):
            self._press = None
            self.setDown(False)
            drag_own_line(self, self.line_id)
            return
        super().mouseMoveEvent(e)


class NumberBox(QLineEdit):
    """The number field: Enter and Ctrl+Enter reach the bar (not just returnPressed)."""

    entered = pyqtSignal(bool)  # consult (Ctrl held)

    def keyPressEvent(self, event: QKeyEvent | None) -> None:  # noqa: N802
        if event is not None and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.entered.emit(bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier))
            return
        super().keyPressEvent(event)


class OperatorBar(QFrame):
    """The bottom of the console: the operator's own call (see the module doc)."""

    def __init__(
        self,
        handset: HandsetModel | None,
        resolve: Callable[[str], str | None] = lambda text: text or None,
    ) -> None:
        super().__init__()
        self.handset = handset
        self.resolve = resolve  # number or name -> number (None: the window said why)
        self.consult_armed = False
        self._note_line: int | None = None  # the line the note field is about
        # (start, stop) of the ringtone; the console's CLI gives a Ringer's
        self.on_ringing: tuple[Callable[[], None], Callable[[], None]] | None = None
        self.setObjectName("operatorBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        style = self.style()
        assert style is not None

        self.card = _Draggable()
        self.card.setObjectName("callCard")
        self.card.setToolTip("Drag your call onto a tile, the parking lot, a queue or a room")
        self.state = QLabel("idle")
        self.state.setObjectName("ownState")
        self.caller = QLabel("")
        self.caller.setObjectName("ownCaller")
        self.timer = QLabel("")
        self.timer.setObjectName("ownTimer")
        self.message = QLabel("")
        self.message.setObjectName("ownMessage")
        self.registration = QLabel("")
        self.registration.setObjectName("ownRegistration")
        card = QGridLayout(self.card)
        card.setContentsMargins(8, 4, 8, 4)
        card.addWidget(self.state, 0, 0)
        card.addWidget(self.timer, 0, 1, Qt.AlignmentFlag.AlignRight)
        card.addWidget(self.caller, 1, 0, 1, 2)
        card.addWidget(self.message, 2, 0, 1, 2)
        card.addWidget(self.registration, 3, 0, 1, 2)
        self.card.setMinimumWidth(300)

        self.line_box = QVBoxLayout()
        self.line_box.setSpacing(2)
        self.line_keys: dict[int, LineButton] = {}

        self.number = NumberBox()
        self.number.setPlaceholderText("Number or name, Enter (in a call: transfer)")
        self.number.entered.connect(self._entered)
        self.note = QLineEdit()
        self.note.setPlaceholderText("Note for this call (kept in the call log)")
        self.note.editingFinished.connect(self._save_note)
        self.keys: dict[Key, QPushButton] = {}
        keys = QGridLayout()
        keys.setSpacing(4)
        for index, (key, label, icon, shortcut) in enumerate(CALL_KEYS):
            button = QPushButton(label)
            button.setIcon(style.standardIcon(icon))
            if shortcut:
                button.setShortcut(shortcut)
                button.setToolTip(f"{label} ({shortcut})")
            button.clicked.connect(lambda _c=False, k=key: self.press(k))
            self.keys[key] = button
            keys.addWidget(button, index // 4, index % 4)
        self.keys[Key.CONSULT].setCheckable(True)
        self._colour_keys()
        middle = QVBoxLayout()
        middle.addWidget(self.number)
        middle.addLayout(keys)
        middle.addWidget(self.note)

        self.pad: dict[str, QToolButton] = {}
        pad = QGridLayout()
        pad.setSpacing(2)
        for index, digit in enumerate(PAD):
            pad_key = QToolButton()
            pad_key.setText(digit)
            pad_key.setObjectName("padKey")
            pad_key.setFixedSize(40, 28)
            pad_key.clicked.connect(lambda _c=False, d=digit: self.press_digit(d))
            self.pad[digit] = pad_key
            pad.addWidget(pad_key, index // 3, index % 3)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.card)
        layout.addLayout(self.line_box)
        layout.addLayout(middle, 1)
        layout.addLayout(pad)
        if handset is not None:
            handset.on_change = self.draw
        self.draw()

    def _colour_keys(self) -> None:
        self.keys[Key.CALL].setObjectName("answerKey")
        self.keys[Key.HANG_UP].setObjectName("hangupKey")

    # ------------------------------------------------------------------ drawing

    def draw(self) -> None:
        handset = self.handset
        if handset is None:
            self.state.setText("panel only")
            self.caller.setText(NO_ACCOUNT)
            self.timer.setText("")
            for widget in (*self.keys.values(), *self.pad.values(), self.number, self.note):
                widget.setEnabled(False)
                widget.setToolTip(NO_ACCOUNT)
            return
        view = handset.view()
        line = handset.line
        if self.on_ringing is not None:
            self.on_ringing[0 if view.ringing else 1]()
        live = line is not None and line.state is not LineState.ENDED
        self.state.setText(view.call_state + (" (muted)" if view.muted else ""))
        self.caller.setText(view.caller if live else "")
        self.timer.setText(view.timer)
        self.message.setText(view.message)
        self.registration.setText(view.registration)
        self.card.line_id = line.id if live and line is not None else None
        self.card.setProperty("ringing", view.answer)
        self.keys[Key.CALL].setText("Answer" if view.answer else "Call")
        self.keys[Key.HOLD].setText("Resume" if view.held else "Hold")
        for key, button in self.keys.items():
            button.setEnabled(key in view.enabled)
        self.keys[Key.CONSULT].setChecked(self.consult_armed)
        if live and line is not None and line.id != self._note_line:
            self._note_line = line.id  # a new call: a fresh note
            self.note.clear()
        self.note.setEnabled(self._note_line is not None)
        # line keys
        shown = {k.line_id: k for k in view.line_keys}
        for line_id in list(self.line_keys):
            if line_id not in shown:
                self.line_keys.pop(line_id).deleteLater()
        for line_id, line_key in shown.items():
            line_button = self.line_keys.get(line_id)
            if line_button is None:
                line_button = LineButton(line_id, line_key.label)
                line_button.setCheckable(True)
                line_button.clicked.connect(lambda _c=False, i=line_id: self._choose(i))
                self.line_keys[line_id] = line_button
                self.line_box.addWidget(line_button)
            line_button.setText(f"{line_key.slot}: {line_key.label}")
            line_button.setChecked(line_key.current)
            line_button.setToolTip(f"Alt+{line_key.slot}; drag it onto a tile to transfer")

    def tick(self) -> None:
        if self.handset is not None:
            self.timer.setText(self.handset.timer())

    # ------------------------------------------------------------------ input

    def _choose(self, line_id: int) -> None:
        if self.handset is not None:
            self.handset.choose_line(line_id)

    def press_digit(self, digit: str) -> None:
        if self.handset is not None and self.handset.press_key(digit):
            self.number.insert(digit)

    def press(self, key: Key) -> None:
        handset = self.handset
        if handset is None:
            return
        typed = self.number.text().strip()
        if key is Key.CALL:
            number = self.resolve(typed) if typed else ""
            if number is not None:
                handset.call_or_answer(number)
                self.number.clear()
        elif key is Key.HANG_UP:
            handset.hang_up()
        elif key is Key.HOLD:
            handset.toggle_hold()
        elif key in (Key.TRANSFER, Key.CONSULT):
            if not typed and key is Key.CONSULT:
                self.consult_armed = not self.consult_armed
                handset.say(
                    "drop your call on a tile to consult first" if self.consult_armed else ""
                )
            else:
                self.send(typed, consult=key is Key.CONSULT)
        elif key is Key.COMPLETE:
            handset.complete_transfer()
        elif key is Key.CANCEL:
            handset.cancel_transfer()
        elif key is Key.PARK:
            handset.park()
        self.draw()

    def send(self, typed: str, consult: bool = False) -> bool:
        """Transfer (or consult) the operator's call to a number or name; False: nothing sent."""
        handset = self.handset
        if handset is None:
            return False
        number = self.resolve(typed)
        if number is None:
            return False
        sent = handset.consult(number) if consult else handset.transfer_to(number)
        if sent:
            self.number.clear()
        return sent

    def _entered(self, consult: bool) -> None:
        handset = self.handset
        if handset is None:
            return
        typed = self.number.text().strip()
        if handset.view().in_call and typed.lower() in ("park", "p"):
            handset.park()  # the keyboard path to the parking lot
            self.number.clear()
        elif handset.view().in_call and typed:
            self.send(typed, consult=consult)
        else:
            self.press(Key.CALL)

    def take_drop(self, line_id: int, number: str, consult: bool) -> None:
        """The operator's own call dropped on ``number``: blind, or attended when asked."""
        handset = self.handset
        if handset is None:
            return
        if handset.line is None or handset.line.id != line_id:
            handset.choose_line(line_id)
        attended = consult or self.consult_armed
        self.consult_armed = False
        if attended:
            handset.consult(number)
        else:
            handset.transfer_to(number)
        self.draw()

    def _save_note(self) -> None:
        """Keep the note with the current call's history row."""
        handset = self.handset
        if handset is None or self._note_line is None:
            return
        log = handset.phone.call_log
        row = log.row_of(self._note_line)
        if row is None:  # the call just ended: its row is the newest
            row = self.last_row
        if row is not None and log.set_note(row, self.note.text()):
            handset.say("note kept in the call log")

    @property
    def last_row(self) -> int | None:
        """The history row of the newest call (the note for a call that just ended)."""
        history = self.handset.phone.history if self.handset is not None else None
        if history is None:
            return None
        recent = history.recent(1)
        return recent[0].id if recent else None
