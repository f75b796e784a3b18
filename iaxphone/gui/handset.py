"""The handset window: display, line keys, dial pad, call and feature keys, graphs.

Theory of operation
-------------------
The rules live in the Qt-free :class:`~iaxphone.viewmodels.handset.HandsetModel`
(over the :class:`~iaxphone.phone.Phone` and, for PBX features, an optional
:class:`~iaxphone.pbx.ami.PbxClient`): which line is current and which
follows, the display's texts, which keys act, the transfer and park flows.
This window only draws the model's :class:`~iaxphone.viewmodels.handset.HandsetView`
whenever the model says it changed, and forwards keys to the model's
commands.  qasync runs the asyncio loop inside Qt's, so phone events arrive
on the GUI thread; every error is shown on the display, never raised into Qt.

Lines.  The window keeps a snapshot of every live line
(:class:`~iaxphone.phone.LineInfo`) and one *current* line: the one the
display, the graphs and the keys (hang up, hold, mute, transfer, park,
flash, record) act on.  A new call becomes current unless we are talking -
then it is a *waiting* call: it gets a line button (:mod:`.lines`), the
window is raised and notified (:mod:`.notify`), and Enter (or its line
button) answers it, which holds the call we were in.  A line that starts
talking becomes current; when the current line ends, the next live one does.
Clicking a held line's button swaps to it (the phone holds the other).

Ringing.  While a line rings here the window plays a ringtone (:mod:`.ringer`)
on the ringing sink it was given, or else on the phone's speaker when no call
is active there; it is raised and notified for every incoming call.

Transfers (:mod:`.transfer`).  *Transfer* (Ctrl+T) hands the current call
to the number typed (blind); the display says "transferred" once the PBX has
ended our leg.  *Consult* (Ctrl+Shift+T) lets the caller wait while we call
the number; then *Complete* hands the caller over and *Cancel* takes the
caller back.  With AMI the PBX runs the consultation on the same line and
joins the two parties (a true attended transfer); without, the phone holds
the call, dials a second line and completes semi-attended (the consulted
phone rings again with the caller).  :meth:`HandsetWindow.transfer_to` and
:meth:`HandsetWindow.consult` do the same for other panels (a directory's
"transfer to this contact").

Park (Ctrl+P, :mod:`.parking`): with AMI the far end is parked and the
display shows the slot from the PBX's ParkingChanged event ("parked at 701");
without AMI the call is blind-transferred to the parking extension and the
display says the slot is shown only with AMI.

*Flash* sends a hook flash.  *Conference* joins the talking and held lines
in the phone's local conference; Hold then holds the whole conference and
resuming any member brings it back.  *Record* (Ctrl+R) toggles recording the
current call (both sides, mixed) to a WAV file in the recordings folder
(``recordings``, default ``<data dir>/recordings``).

Graphs (:mod:`.graphs`): microphone and speaker level, jitter, jitter-buffer
delay and loss of the current line, fed by its LineStats (ten a second),
with the MOS estimate on the display.

Looks.  The handset is a column of fixed width (:data:`PHONE_WIDTH`): the
display (a framed "screen" in the scheme's colours, :func:`.theme.display_sheet`:
account and registration, one big line with the caller or the number typed
or the time of day, call state and timer, padlock, codec and MOS, two
message lines), the line keys, the number, the dial pad, the big green Call
and red Hang-up keys and the feature keys, each with its icon
(:mod:`.icons`); the graphs and panels stand beside it.  Every part keeps
its size whatever it shows (the line-key strip keeps its height while
hidden, the message has two lines reserved, long names are cut), so the
window never jumps.  :meth:`HandsetWindow.restyle` colours it again when
the scheme changes.

*Compact view* (Ctrl+K) hides the graphs and the panels (:meth:`add_panel`)
so the window is just a handset.  Keyboard: every key has a mnemonic
(Alt+letter, Alt+1 ... Alt+9 for the line keys) and a tooltip naming its
shortcut; the window's shortcuts win over the number field's editing keys;
Tab walks the number, the call keys, the feature keys, then the dial pad.
Colours come from the application's palette.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QEvent, QSize, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QCloseEvent, QFontMetrics, QKeyEvent, QKeySequence, QShortcut
from PyQt6.QtWidgets import (
    QApplication,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from iaxphone import config
from iaxphone.media.virtual import Sink
from iaxphone.pbx.ami import PbxClient
from iaxphone.phone import LineInfo, LineStats, Phone
from iaxphone.viewmodels.handset import IN_CALL, HandsetModel, Key
from iaxphone.viewmodels.transfer import Transfers

from .graphs import CallGraph, CallGraphs
from .icons import icon
from .lines import LineButtons
from .notify import IncomingNotifier
from .padlock import SIZE as PADLOCK_SIZE
from .padlock import padlock_pixmap
from .ringer import Ringer
from .theme import (
    CALL_GREEN,
    HANG_UP_RED,
    call_key_sheet,
    display_colours,
    display_sheet,
    is_dark,
)

KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"]
PHONE_WIDTH = 440  # the handset column's widest (px)
LETTERS = {"2": "ABC", "3": "DEF", "4": "GHI", "5": "JKL", "6": "MNO", "7": "PQRS", "8": "TUV",
           "9": "WXYZ"}  # fmt: skip


class NumberField(QLineEdit):
    """The number entry; the window's shortcuts win over its editing keys (Ctrl+K, Ctrl+H)."""

    def __init__(self) -> None:
        super().__init__()
        self.reserved: set[str] = set()

    def event(self, event: QEvent | None) -> bool:
        if (
            isinstance(event, QKeyEvent)
            and event.type() == QEvent.Type.ShortcutOverride
            and QKeySequence(event.keyCombination()).toString() in self.reserved
        ):
            event.ignore()
            return True
        return super().event(event)


class HandsetWindow(QWidget):
    """The handset for ``phone``.

    ``pbx``: a connected PbxClient for the PBX features (Park shows the slot,
    Consult is a true attended transfer); ``ring_sink``: where the ringtone
    plays (default: the phone's speaker, while no call is active);
    ``recordings``: the folder Record writes to (default
    ``<data dir>/recordings``).

    ``current_line_changed`` carries the current line's snapshot
    (:class:`~iaxphone.phone.LineInfo`) whenever it changes, so other panels
    can offer "transfer to this contact" only while there is a call.
    """

    current_line_changed = pyqtSignal(object)  # LineInfo

    def __init__(
        self,
        phone: Phone,
        pbx: PbxClient | None = None,
        *,
        ring_sink: Sink | None = None,
        recordings: Path | None = None,
    ) -> None:
        super().__init__()
        self.phone = phone
        self.pbx = pbx
        self.setWindowTitle("iaxphone")
        self.notifier = IncomingNotifier(self)
        self.ringer = Ringer(ring_sink if ring_sink is not None else phone.gate.sink)
        self.dark = False
        self._answer = False
        self._registered_icon = False
        self._build_display()
        self._build_keys()
        self._build_layout()
        self.restyle()
        self.model = HandsetModel(
            phone,
            pbx,
            recordings=recordings or config.data_dir() / "recordings",
            shared_ringer=ring_sink is None,
        )
        self.model.on_change = self._draw
        self.model.on_stats = self._stats
        self.model.on_incoming = self.notifier.incoming
        self.model.on_current = self.current_line_changed.emit
        self.model.on_focus = self.graphs.clear_history
        self.destroyed.connect(self.model.close)  # no drawing on deleted widgets
        self.clock = QTimer(self)
        self.clock.timeout.connect(self._tick)
        self.clock.start(250)
        self._draw()

    def _build_display(self) -> None:
        self.display = QFrame()  # drawn as a phone's screen (theme.display_sheet)
        self.display.setObjectName("display")
        self.registration_icon = QLabel("")
        self.registration = _label("not registered", "registration", dim=True)
        self.voicemail = _label("", "voicemail", dim=True)
        self.caller = _label("", "caller", points=17, bold=True)
        self.dialled = _label("", "number dialled", points=17, bold=True)
        self.call_state = _label("idle", "call state", points=12, bold=True)
        self.timer = _label("", "call time", points=12, bold=True)
        self.codec = _label("", "codec", dim=True)
        self.padlock = _label("", "encryption")  # the padlock icon: closed encrypted, open in clear
        self.padlock.setFixedSize(PADLOCK_SIZE, PADLOCK_SIZE)  # no row grows when it appears
        self.padlock_state = ""
        self.message = _label("", "message", dim=True)
        self.message.setWordWrap(True)
        lines = self.message.fontMetrics().lineSpacing()
        self.message.setFixedHeight(2 * lines + 2)  # two lines reserved: the display never grows
        # Their texts never widen the display: what does not fit is cut.
        for label in (self.registration, self.caller, self.dialled, self.call_state, self.message):
            label.setSizePolicy(QSizePolicy.Policy.Ignored, label.sizePolicy().verticalPolicy())
        self.number = NumberField()
        self.number.setPlaceholderText("number or iax: URI")
        self.number.setAccessibleName("number")
        self.number.returnPressed.connect(self.call_or_answer)
        self.number.textChanged.connect(self._show_dialled)
        self.line_buttons = LineButtons()
        self.line_buttons.chosen.connect(self.choose_line)
        self.line_buttons.hide()
        self.graphs = CallGraphs()
        self.mos = self.graphs.mos
        self.mos.setProperty("dim", True)
        self.panels = QWidget()  # other panels (directory, history...) go here: add_panel
        self.panels_layout = QVBoxLayout(self.panels)
        self.panels_layout.setContentsMargins(0, 0, 0, 0)
        self.panels.hide()

    def _build_keys(self) -> None:
        self.keys: dict[str, QPushButton] = {}
        self.pad = QGridLayout()
        self.pad.setSpacing(6)
        for index, key in enumerate(KEYS):
            button = QPushButton(key)
            button.setObjectName("padkey")
            button.setAccessibleName(f"key {key}")
            letters = LETTERS.get(key, "")
            button.setToolTip(f"{key} {letters}".strip())
            button.setMinimumHeight(38)
            font = button.font()
            font.setPointSizeF(font.pointSizeF() * 1.35)
            font.setBold(True)
            button.setFont(font)
            button.clicked.connect(lambda _checked=False, k=key: self.press_key(k))
            self.pad.addWidget(button, index // 3, index % 3)
            self.keys[key] = button
        self.call_button = _key("&Call", self.call_or_answer, "call the number, or answer (Enter)")
        self.hangup_button = _key("Hang &up", self.hang_up, "hang up (Esc)")
        for button in (self.call_button, self.hangup_button):
            button.setMinimumHeight(46)
            button.setIconSize(QSize(22, 22))
        self.hold_button = _key("&Hold", self.toggle_hold, "hold or resume (Ctrl+H)", True)
        self.mute_button = _key("&Mute", self.toggle_mute, "mute the microphone (Ctrl+M)", True)
        self.dnd_button = _key("&DND", self.toggle_dnd, "do not disturb: refuse calls busy", True)
        self.transfer_button = _key(
            "&Transfer", self.transfer, "hand the call to the number typed (Ctrl+T)"
        )
        self.consult_button = _key(
            "C&onsult", self.consult_number, "hold the call and ask the number first (Ctrl+Shift+T)"
        )
        self.complete_button = _key(
            "Compl&ete", self.complete_transfer, "hand the held call to the one consulted"
        )
        self.cancel_button = _key(
            "Cance&l", self.cancel_transfer, "end the consultation and take the call back"
        )
        self.park_button = _key("&Park", self.park, "park the call and show its slot (Ctrl+P)")
        self.flash_button = _key("&Flash", self.flash, "send a hook flash")
        self.conference_button = _key(
            "Co&nference", self.conference, "join the held and the talking call (three-way)"
        )
        self.record_button = _key("&Record", self.toggle_record, "record the call (Ctrl+R)", True)
        self.compact_button = _key(
            "Compact &view", self.toggle_compact, "hide graphs and panels (Ctrl+K)", True
        )
        self.complete_button.hide()
        self.cancel_button.hide()
        self.by_key = {
            Key.CALL: self.call_button,
            Key.HANG_UP: self.hangup_button,
            Key.HOLD: self.hold_button,
            Key.MUTE: self.mute_button,
            Key.DND: self.dnd_button,
            Key.TRANSFER: self.transfer_button,
            Key.CONSULT: self.consult_button,
            Key.COMPLETE: self.complete_button,
            Key.CANCEL: self.cancel_button,
            Key.PARK: self.park_button,
            Key.FLASH: self.flash_button,
            Key.CONFERENCE: self.conference_button,
            Key.RECORD: self.record_button,
        }
        # Which icon (gui.icons.GLYPHS) each key shows.
        self.key_icons = {
            self.hold_button: "hold",
            self.mute_button: "mute",
            self.dnd_button: "dnd",
            self.transfer_button: "transfer",
            self.consult_button: "consult",
            self.complete_button: "complete",
            self.cancel_button: "cancel",
            self.park_button: "park",
            self.flash_button: "flash",
            self.conference_button: "conference",
            self.record_button: "record",
            self.compact_button: "compact",
        }
        self.call_keys = (
            self.call_button,
            self.hangup_button,
            self.hold_button,
            self.mute_button,
            self.dnd_button,
        )
        self.feature_keys = (
            self.transfer_button,
            self.consult_button,
            self.complete_button,
            self.cancel_button,
            self.park_button,
            self.flash_button,
            self.conference_button,
            self.record_button,
            self.compact_button,
        )
        self.shortcuts: dict[str, QShortcut] = {}
        for sequence, target in (
            ("Esc", self.hang_up),
            ("Ctrl+H", self.toggle_hold),  # the model, not the key: it may be disabled
            ("Ctrl+M", self.toggle_mute),
            ("Ctrl+T", self.transfer),
            ("Ctrl+Shift+T", self.consult_number),
            ("Ctrl+P", self.park),
            ("Ctrl+R", self.toggle_record),
            ("Ctrl+K", self.compact_button.click),
        ):
            shortcut = QShortcut(QKeySequence(sequence), self)
            self.number.reserved.add(sequence)
            shortcut.activated.connect(target)
            self.shortcuts[sequence] = shortcut

    def _build_layout(self) -> None:
        screen = QGridLayout(self.display)
        screen.setContentsMargins(14, 10, 14, 10)
        screen.setVerticalSpacing(4)
        top = QHBoxLayout()
        top.addWidget(self.registration_icon)
        top.addWidget(self.registration, stretch=1)
        top.addWidget(self.voicemail)
        screen.addLayout(top, 0, 0, 1, 2)
        self.headline = QWidget()  # the caller, or the number typed: one big line, fixed height
        self.headline.setFixedHeight(self.caller.minimumHeight())
        headline = QHBoxLayout(self.headline)
        headline.setContentsMargins(0, 0, 0, 0)
        headline.addWidget(self.caller, stretch=3)
        headline.addWidget(self.dialled, stretch=1)
        screen.addWidget(self.headline, 1, 0, 1, 2)
        screen.addWidget(self.call_state, 2, 0)
        screen.addWidget(self.timer, 2, 1, Qt.AlignmentFlag.AlignRight)
        details = QHBoxLayout()
        details.addWidget(self.padlock)
        details.addWidget(self.codec)
        details.addStretch(1)
        details.addWidget(self.mos)
        screen.addLayout(details, 3, 0, 1, 2)
        screen.addWidget(self.message, 4, 0, 1, 2)
        self.display.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        big_row = QHBoxLayout()  # the green call key and the red hang-up key
        big_row.addWidget(self.call_button, stretch=3)
        big_row.addWidget(self.hangup_button, stretch=2)
        call_row = QHBoxLayout()  # hold, mute, DND, record
        for button in (*self.call_keys[2:], self.record_button):
            call_row.addWidget(button)
        transfer_row, feature_row = QHBoxLayout(), QHBoxLayout()  # hidden keys leave no gap
        for index, button in enumerate(k for k in self.feature_keys if k is not self.record_button):
            (transfer_row if index < 4 else feature_row).addWidget(button)
        # The phone is a column of its own (display, keys), the graphs and panels beside it:
        # the window stays short enough for a laptop screen; compact view keeps the column.
        self.phone_column = QWidget()
        self.phone_column.setFixedWidth(PHONE_WIDTH)  # long names never widen it
        column = QVBoxLayout(self.phone_column)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(8)
        column.addWidget(self.display)
        column.addWidget(self.line_buttons)
        column.addWidget(self.number)
        column.addLayout(self.pad)
        column.addLayout(big_row)
        column.addLayout(call_row)
        column.addLayout(transfer_row)
        column.addLayout(feature_row)
        column.addStretch(1)
        side = QVBoxLayout()
        side.addWidget(self.graphs, stretch=1)
        side.addWidget(self.panels)
        layout = QHBoxLayout(self)
        layout.setSpacing(12)
        layout.addWidget(self.phone_column, stretch=0)
        layout.addLayout(side, stretch=1)
        chain = [self.number, *self.call_keys, *self.feature_keys, *self.keys.values()]
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)

    def restyle(self, dark: bool | None = None) -> None:
        """Colour the display, the call keys and the icons for the scheme (default: the app's)."""
        app = QApplication.instance()
        if dark is None:
            dark = isinstance(app, QApplication) and is_dark(app)
        self.dark = dark
        self.display.setStyleSheet(display_sheet(dark))
        self.call_button.setStyleSheet(call_key_sheet(CALL_GREEN, dark))
        self.hangup_button.setStyleSheet(call_key_sheet(HANG_UP_RED, dark))
        self.call_button.setIcon(icon("answer" if self._answer else "call", "#ffffff"))
        self.hangup_button.setIcon(icon("hang up", "#ffffff"))
        for button, name in self.key_icons.items():
            button.setIcon(icon(name))
        self._registration_icon()
        self.padlock_state = "?"  # drawn again in the scheme's colours
        if hasattr(self, "model"):
            self._draw()

    def _registration_icon(self) -> None:
        registered = self.registration.text().endswith(": registered")
        colour = display_colours(self.dark).text if registered else "#c0392b"
        name = "registered" if registered else "not registered"
        self.registration_icon.setPixmap(icon(name, colour).pixmap(16, 16))
        self._registered_icon = registered

    def changeEvent(self, event: QEvent | None) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event is not None and event.type() is QEvent.Type.PaletteChange:
            app = QApplication.instance()
            dark = isinstance(app, QApplication) and is_dark(app)
            if dark != self.dark:
                self.restyle(dark)

    def _show_dialled(self) -> None:
        """The display's big line: the caller in a call, else the number typed, else the time."""
        typed = self.number.text().strip()
        self.caller.setVisible(bool(self.caller.text()))
        if self.caller.text():  # in a call: a number typed for a transfer follows the caller
            line = self.model.line if hasattr(self, "model") else None
            in_call = line is not None and line.state in IN_CALL
            other = bool(typed) and in_call and line is not None and typed != line.number
            self.dialled.setText(f"→ {typed}" if other else "")
            self.dialled.setProperty("dim", other)
            self.dialled.setVisible(other)
        elif typed:
            self.dialled.setText(typed)
            self.dialled.setProperty("dim", False)
            self.dialled.setVisible(True)
        else:
            self.dialled.setText(time.strftime("%H:%M  %a %d %b"))
            self.dialled.setProperty("dim", True)
            self.dialled.setVisible(True)
        style = self.dialled.style()
        if style is not None:
            style.unpolish(self.dialled)
            style.polish(self.dialled)

    # ------------------------------------------------------------------ the model's state

    @property
    def line(self) -> LineInfo | None:
        """The current line (may have just ended)."""
        return self.model.line

    @property
    def lines(self) -> dict[int, LineInfo]:
        return self.model.lines

    @property
    def transfers(self) -> Transfers:
        return self.model.transfers

    @property
    def parked_slot(self) -> str | None:
        return self.model.parked_slot

    @property
    def last_recording(self) -> Path | None:
        return self.model.last_recording

    @property
    def _tasks(self) -> set[Any]:
        return self.model.tasks

    @property
    def level_graph(self) -> CallGraph:
        return self.graphs.levels

    @property
    def jitter_graph(self) -> CallGraph:
        return self.graphs.jitter

    # ------------------------------------------------------------------ drawing

    def _draw(self) -> None:
        view = self.model.view()
        self.registration.setText(view.registration)
        if view.registration.endswith(": registered") != self._registered_icon:
            self._registration_icon()
        self.voicemail.setText(view.voicemail)
        self.call_state.setText(view.call_state)
        self.caller.setText(view.caller)
        self.codec.setText(view.codec)
        if view.padlock != self.padlock_state:
            self.padlock_state = view.padlock
            self.padlock.setPixmap(padlock_pixmap(view.padlock))
            self.padlock.setToolTip(
                {"closed": "encrypted (AES-128)", "open": "not encrypted: the PBX did not"
                 " take up the encryption offered"}.get(view.padlock, "")
            )  # fmt: skip
        self.message.setText(view.message)
        self.timer.setText(view.timer)
        self.line_buttons.show_keys(view.line_keys)
        self.hold_button.setChecked(view.held)
        self.mute_button.setChecked(view.muted)
        self.record_button.setChecked(view.recording)
        self.dnd_button.setChecked(view.dnd)
        self.call_button.setText("&Answer" if view.answer else "&Call")
        if view.answer != self._answer:
            self._answer = view.answer
            self.call_button.setIcon(icon("answer" if view.answer else "call", "#ffffff"))
        self.message.setToolTip(view.message)
        self._show_dialled()
        self.complete_button.setVisible(view.consulting)
        self.cancel_button.setVisible(view.consulting)
        for key, button in self.by_key.items():
            button.setEnabled(key in view.enabled)
        if view.ringing:
            self.ringer.start()
        else:
            self.ringer.stop()
        if self.model.waiting_line() is None:
            self.notifier.done()

    def _tick(self) -> None:
        self.timer.setText(self.model.timer())
        if not self.caller.text() and not self.number.text().strip():
            self._show_dialled()  # the idle display's clock

    def _stats(self, event: LineStats) -> None:
        self.graphs.push(event.stats)

    # ------------------------------------------------------------------ input

    def add_panel(self, panel: QWidget) -> None:
        """Show another panel (directory, history ...) below the graphs; compact view hides it."""
        self.panels_layout.addWidget(panel)
        self.panels.setVisible(not self.compact_button.isChecked())

    def dial(self, number: str) -> None:
        """Call ``number`` (a directory's "call" action)."""
        self.model.dial(number)

    def transfer_to(self, number: str) -> None:
        """Blind-transfer the current call to ``number``."""
        if number:
            self.model.transfer_to(number)

    def consult(self, number: str) -> None:
        """Attended transfer, step one: the caller waits while we call ``number``."""
        if number:
            self.model.consult(number)

    def transfer(self) -> None:
        if not self.model.transfer_to(self.number.text().strip()):
            self.number.setFocus()

    def consult_number(self) -> None:
        if not self.model.consult(self.number.text().strip()):
            self.number.setFocus()

    def press_key(self, key: str) -> None:
        if self.model.press_key(key):
            self.number.insert(key)

    def call_or_answer(self) -> None:
        self.model.call_or_answer(self.number.text())

    def hang_up(self) -> None:
        self.model.hang_up()

    def toggle_hold(self) -> None:
        self.model.toggle_hold()

    def toggle_mute(self) -> None:
        line = self.model.line
        self.model.set_mute(not (line is not None and line.muted))

    def toggle_dnd(self) -> None:
        self.model.set_dnd(self.dnd_button.isChecked())

    def choose_line(self, line_id: int) -> None:
        self.model.choose_line(line_id)

    def complete_transfer(self) -> None:
        self.model.complete_transfer()

    def cancel_transfer(self) -> None:
        self.model.cancel_transfer()

    def park(self) -> None:
        self.model.park()

    def flash(self) -> None:
        self.model.flash()

    def conference(self) -> None:
        self.model.conference()

    def toggle_record(self) -> None:
        self.model.toggle_record()

    def toggle_compact(self) -> None:
        compact = self.compact_button.isChecked()
        self.graphs.setVisible(not compact)
        self.panels.setVisible(not compact and self.panels_layout.count() > 0)
        self.adjustSize()

    def closeEvent(self, event: QCloseEvent | None) -> None:  # noqa: N802 - Qt's name
        self.ringer.stop()
        self.model.close()
        super().closeEvent(event)


def _label(
    text: str, name: str, points: float = 0, bold: bool = False, dim: bool = False
) -> QLabel:
    """A display label: its accessible name, type size (0: the default) and weight."""
    label = QLabel(text)
    label.setAccessibleName(name)
    label.setProperty("dim", dim)
    font = label.font()
    if points:
        font.setPointSizeF(points)
    font.setBold(bold)
    label.setFont(font)
    label.setMinimumHeight(QFontMetrics(font).height())
    return label


def _key(text: str, action: Callable[[], None], tip: str, checkable: bool = False) -> QPushButton:
    button = QPushButton(text)
    button.setMinimumHeight(30)
    button.setCheckable(checkable)
    button.setToolTip(tip)
    button.clicked.connect(action)
    return button
