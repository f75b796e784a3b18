"""The handset window: display, line keys, dial pad, call and feature keys, graphs.

Theory of operation
-------------------
The window knows only the :class:`~iaxphone.phone.Phone` model and, for
PBX features, an optional :class:`~iaxphone.pbx.ami.PbxClient`.  qasync
runs the asyncio loop inside Qt's, so phone events arrive on the GUI thread:
the window subscribes to them and updates its widgets; buttons call phone
commands (the async ones are scheduled as tasks; every error is shown on
the display, never raised into Qt).

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

*Compact view* (Ctrl+K) hides the graphs and the panels (:meth:`add_panel`)
so the window is just a handset.  Keyboard: every key has a mnemonic
(Alt+letter, Alt+1 ... Alt+9 for the line keys) and a tooltip naming its
shortcut; the window's shortcuts win over the number field's editing keys;
Tab walks the number, the call keys, the feature keys, then the dial pad.
Colours come from the application's palette.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QEvent, QTimer, pyqtSignal
from PyQt6.QtGui import QCloseEvent, QKeyEvent, QKeySequence, QShortcut
from PyQt6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from iaxphone import config
from iaxphone.media.virtual import Sink
from iaxphone.pbx.ami import PbxClient
from iaxphone.phone import (
    LineChanged,
    LineInfo,
    LineState,
    LineStats,
    Phone,
    PhoneEvent,
    RegistrationChanged,
    VoicemailChanged,
)

from .graphs import CallGraph, CallGraphs
from .lines import LineButtons
from .notify import IncomingNotifier
from .parking import Parker
from .ringer import Ringer
from .transfer import Transfers

KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"]
IN_CALL = (LineState.TALKING, LineState.HELD)
# Which live line becomes current when the current one ends (first state wins).
SUCCESSION = (
    LineState.TALKING,
    LineState.INCOMING,
    LineState.HELD,
    LineState.RINGING,
    LineState.DIALING,
)


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
        self.line: LineInfo | None = None  # the current line (may have just ended)
        self.lines: dict[int, LineInfo] = {}  # every live line
        self.transfers = Transfers(phone, pbx, on_ended=self._consultation_ended)
        self.conference_ids: set[int] = set()
        self.recordings = recordings or config.data_dir() / "recordings"
        self.last_recording: Path | None = None
        self.parked_slot: str | None = None
        self.outcome: dict[int, str] = {}  # what became of a call we handed off
        self.parker = Parker(phone, pbx)
        self.shared_ringer = ring_sink is None  # ring on the phone's speaker
        self.ringer = Ringer(ring_sink if ring_sink is not None else phone.gate.sink)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.setWindowTitle("iaxphone")
        self.notifier = IncomingNotifier(self)

        self.registration = QLabel("not registered")
        self.voicemail = QLabel("")
        self.call_state = QLabel("idle")
        self.caller = QLabel("")
        self.timer = QLabel("")
        self.codec = QLabel("")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        for label, name in (
            (self.registration, "registration"),
            (self.voicemail, "voicemail"),
            (self.call_state, "call state"),
            (self.caller, "caller"),
            (self.timer, "call time"),
            (self.codec, "codec"),
            (self.message, "message"),
        ):
            label.setAccessibleName(name)
        self.number = NumberField()
        self.number.setPlaceholderText("number or iax: URI")
        self.number.setAccessibleName("number")
        self.number.returnPressed.connect(self.call_or_answer)
        self.line_buttons = LineButtons()
        self.line_buttons.chosen.connect(self.choose_line)
        self.line_buttons.hide()

        self.keys: dict[str, QPushButton] = {}
        pad = QGridLayout()
        for index, key in enumerate(KEYS):
            button = QPushButton(key)
            button.clicked.connect(lambda _checked=False, k=key: self.press_key(k))
            pad.addWidget(button, index // 3, index % 3)
            self.keys[key] = button

        self.call_button = _key("&Call", self.call_or_answer, "call the number, or answer (Enter)")
        self.hangup_button = _key("Hang &up", self.hang_up, "hang up (Esc)")
        self.hold_button = _key("&Hold", self.toggle_hold, "hold or resume (Ctrl+H)", True)
        self.mute_button = _key("&Mute", self.toggle_mute, "mute the microphone (Ctrl+M)", True)
        self.dnd_button = _key("&DND", self.toggle_dnd, "do not disturb: refuse calls busy", True)
        self.dnd_button.setChecked(phone.dnd)
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
            ("Ctrl+H", self.hold_button.click),
            ("Ctrl+M", self.mute_button.click),
            ("Ctrl+T", self.transfer),
            ("Ctrl+Shift+T", self.consult_number),
            ("Ctrl+P", self.park),
            ("Ctrl+R", self.record_button.click),
            ("Ctrl+K", self.compact_button.click),
        ):
            shortcut = QShortcut(QKeySequence(sequence), self)
            self.number.reserved.add(sequence)
            shortcut.activated.connect(target)
            self.shortcuts[sequence] = shortcut

        self.graphs = CallGraphs()
        self.mos = self.graphs.mos
        self.panels = QWidget()  # other panels (directory, history...) go here: add_panel
        self.panels_layout = QVBoxLayout(self.panels)
        self.panels_layout.setContentsMargins(0, 0, 0, 0)
        self.panels.hide()

        display = QVBoxLayout()
        for label in (self.registration, self.voicemail, self.call_state, self.caller):
            display.addWidget(label)
        details = QHBoxLayout()
        for label in (self.timer, self.codec, self.mos):
            details.addWidget(label)
        display.addLayout(details)
        display.addWidget(self.message)
        call_row = QHBoxLayout()
        for button in self.call_keys:
            call_row.addWidget(button)
        transfer_row, feature_row = QHBoxLayout(), QHBoxLayout()  # hidden keys leave no gap
        for index, button in enumerate(self.feature_keys):
            (transfer_row if index < 4 else feature_row).addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(display)
        layout.addWidget(self.line_buttons)
        layout.addWidget(self.number)
        layout.addLayout(pad)
        layout.addLayout(call_row)
        layout.addLayout(transfer_row)
        layout.addLayout(feature_row)
        layout.addWidget(self.graphs, stretch=1)
        layout.addWidget(self.panels)
        chain = [self.number, *self.call_keys, *self.feature_keys, *self.keys.values()]
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)

        self.clock = QTimer(self)
        self.clock.timeout.connect(self._tick)
        self.clock.start(250)
        phone.subscribe(self.on_event)
        for account, registered in phone.registered.items():  # what happened before us
            self.on_event(RegistrationChanged(account, registered))
        self._refresh()

    # ------------------------------------------------------------------ public API

    @property
    def level_graph(self) -> CallGraph:
        return self.graphs.levels

    @property
    def jitter_graph(self) -> CallGraph:
        return self.graphs.jitter

    def add_panel(self, panel: QWidget) -> None:
        """Show another panel (directory, history ...) below the graphs; compact view hides it."""
        self.panels_layout.addWidget(panel)
        self.panels.setVisible(not self.compact_button.isChecked())

    def dial(self, number: str) -> None:
        """Call ``number`` (a directory's "call" action)."""
        self.message.setText("")
        self._run(self.phone.dial(number))

    def transfer_to(self, number: str) -> None:
        """Blind-transfer the current call to ``number``."""
        line = self._in_call("transfer")
        if line is not None and number and self._do(self.transfers.blind, line.id, number):
            self.outcome[line.id] = f"transferred to {number}"  # once the PBX ends our leg
            self.message.setText(f"transferring to {number} ...")

    def consult(self, number: str) -> None:
        """Attended transfer, step one: the caller waits while we call ``number``."""
        line = self._in_call("consult")
        if line is None or not number:
            return

        async def consult() -> None:
            consultation = await self.transfers.consult(line, number)
            where = " at the PBX (the caller hears music)" if consultation.at_pbx else ""
            self.message.setText(f"consulting {number}{where}: Complete or Cancel")
            self._show_transfer_keys()
            self._refresh()

        self._run(consult())

    # ------------------------------------------------------------------ commands

    def _run(self, command: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(command)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.message.setText(str(task.exception()))

    def _do(self, command: Callable[..., object], *args: object) -> bool:
        """Run a phone command; its error goes on the display (never into Qt)."""
        try:
            command(*args)
        except Exception as exc:  # a refused command is news for the user, not a crash
            self.message.setText(str(exc).strip("'\""))
            return False
        return True

    def _say(self, line_id: int, text: str) -> None:
        """Show what became of a call; it stays on the display when the call ends."""
        self.outcome[line_id] = text
        self.message.setText(text)

    def _in_call(self, what: str) -> LineInfo | None:
        line = self.line
        if line is None or line.state not in IN_CALL:
            self.message.setText(f"no call to {what}")
            return None
        return line

    def press_key(self, key: str) -> None:
        if self.line is not None and self.line.state is LineState.TALKING:
            self._run(self.phone.dtmf(self.line.id, key))
        else:
            self.number.insert(key)

    def call_or_answer(self) -> None:
        if self.line is not None and self.line.state is LineState.INCOMING:
            self._do(self.phone.answer, self.line.id)
            return
        number = self.number.text().strip()
        waiting = self._waiting_line()
        if not number and waiting is not None:
            self._do(self.phone.answer, waiting.id)
            return
        if not number:
            if self.phone.lines or self.phone.history is not None:
                self._run(self.phone.redial())
            return
        self.dial(number)

    def hang_up(self) -> None:
        if self.line is not None and self.line.state is not LineState.ENDED:
            self._run(self.phone.hangup(self.line.id))

    def toggle_hold(self) -> None:
        line = self.line
        if line is not None and line.state is LineState.TALKING:
            self._do(self.phone.hold, line.id)
        elif line is not None and line.state is LineState.HELD:
            self._do(self.phone.resume, line.id)
        self._refresh()

    def toggle_mute(self) -> None:
        if self.line is None or self.line.state is LineState.ENDED:
            self.mute_button.setChecked(False)
            return
        self._do(self.phone.mute, self.line.id, self.mute_button.isChecked())

    def toggle_dnd(self) -> None:
        """Do-not-disturb: this phone refuses calls busy; with AMI the PBX is told too.

        Published as presence ``dnd``, colleagues' lamps show it and the PBX
        itself answers callers busy (the bundled dialplan checks presence),
        even when this phone is off.
        """
        on = self.dnd_button.isChecked()
        self.phone.set_dnd(on)
        self.message.setText("do not disturb" if on else "")
        if self.pbx is not None:
            user = self.phone.accounts[self.phone.default_account].user
            self._run(self.pbx.set_dnd(user, on))

    def choose_line(self, line_id: int) -> None:
        """A line button: answer that call if it rings, take it off hold, or just show it."""
        line = self.lines.get(line_id)
        if line is None:
            return
        if line.state is LineState.INCOMING:
            self._do(self.phone.answer, line_id)
        elif line.state is LineState.HELD:
            self._do(self.phone.resume, line_id)
        else:
            self._focus(line)
            self._refresh()
            self.current_line_changed.emit(line)

    def transfer(self) -> None:
        self.transfer_to(self.number.text().strip() or self._ask_number("transfer"))

    def consult_number(self) -> None:
        self.consult(self.number.text().strip() or self._ask_number("consult"))

    def _ask_number(self, what: str) -> str:
        self.message.setText(f"type the number to {what} to")
        self.number.setFocus()
        return ""

    def _consultation_ended(self, said: str) -> None:
        """A consultation the PBX runs ended under us (see :mod:`.transfer`)."""
        self._show_transfer_keys()
        self.message.setText(said)
        self._refresh()

    def complete_transfer(self) -> None:
        consultation = self.transfers.current
        if consultation is None:
            return

        async def complete() -> None:
            self.outcome[consultation.line_id] = f"transferred to {consultation.number}"
            try:
                await self.transfers.complete()
            finally:
                self._show_transfer_keys()
            self._say(consultation.line_id, f"transferred to {consultation.number}")

        self._run(complete())

    def cancel_transfer(self) -> None:
        if self.transfers.current is None:
            return

        async def cancel() -> None:
            try:
                await self.transfers.cancel()
            finally:
                self._show_transfer_keys()
            self.message.setText("transfer cancelled")
            self._refresh()

        self._run(cancel())

    def park(self) -> None:
        line = self._in_call("park")
        if line is None:
            return

        async def park() -> None:
            self._say(line.id, "parking ...")
            slot = await self.parker.park(line)
            self.parked_slot = slot
            if slot is None:
                number = self.parker.park_number
                self._say(line.id, f"parked on {number} (the slot is shown only with AMI)")
            else:
                self._say(line.id, f"parked at {slot}")

        self._run(park())

    def flash(self) -> None:
        line = self._in_call("flash")
        if line is not None and self._do(self.phone.flash, line.id):
            self.message.setText("flash")

    def conference(self) -> None:
        members = [line.id for line in self.lines.values() if line.state in IN_CALL]
        if len(members) < 2:
            self.message.setText("a conference needs a held call and a talking one")
            return
        if self._do(self.phone.conference, *members):
            self.conference_ids = set(members)
            names = " + ".join(self.lines[i].name or self.lines[i].number for i in members)
            self.message.setText(f"conference: {names}")
            self._refresh()

    def toggle_record(self) -> None:
        line = self.line
        if line is None or line.state not in IN_CALL:
            self.record_button.setChecked(False)
            self.message.setText("no call to record")
            return
        if line.recording:
            self._do(self.phone.stop_recording, line.id)
            self.message.setText(f"recorded to {self.last_recording}")
            return
        stamp = time.strftime("%Y%m%d-%H%M%S")
        safe = "".join(c if c.isalnum() else "_" for c in line.number)
        path = self.recordings / f"{stamp}-{safe}-{line.id}.wav"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.message.setText(f"cannot record to {path.parent}: {exc.strerror or exc}")
            return
        if self._do(self.phone.start_recording, line.id, path):
            self.last_recording = path
            self.message.setText(f"recording to {path}")

    def toggle_compact(self) -> None:
        compact = self.compact_button.isChecked()
        self.graphs.setVisible(not compact)
        self.panels.setVisible(not compact and self.panels_layout.count() > 0)
        self.adjustSize()

    # ------------------------------------------------------------------ events

    def on_event(self, event: PhoneEvent) -> None:
        if isinstance(event, RegistrationChanged):
            text = f"{event.account}: registered" if event.registered else f"{event.account}: "
            if not event.registered:
                text += f"not registered ({event.reason})" if event.reason else "not registered"
            self.registration.setText(text)
        elif isinstance(event, VoicemailChanged):
            self.voicemail.setText(
                f"voicemail: {event.new_messages} new" if event.new_messages else ""
            )
        elif isinstance(event, LineChanged):
            self._line_changed(event.line)
        elif isinstance(event, LineStats) and self._shows_stats_of(event.line_id):
            self.graphs.push(event.stats)

    def _line_changed(self, line: LineInfo) -> None:
        before = self.line
        new = line.id not in self.lines
        if line.state is LineState.ENDED:
            self.lines.pop(line.id, None)
            self.conference_ids.discard(line.id)
        else:
            self.lines[line.id] = line
        if len(self.conference_ids) < 2:
            self.conference_ids.clear()
        gone = self.transfers.line_ended(line.id) if line.state is LineState.ENDED else None
        if gone is not None:
            self._show_transfer_keys()
            if line.id == gone.line_id:
                self.message.setText("the caller hung up: no transfer")
        self.line_buttons.update_line(line, self.line.id if self.line else None)
        current = self.line
        talking_elsewhere = any(
            other.state is LineState.TALKING and other.id != line.id
            for other in self.lines.values()
        )
        arrived = new and line.state is not LineState.ENDED and not talking_elsewhere
        if current is None or line.id == current.id or line.state is LineState.TALKING or arrived:
            self._focus(line)
        if line.state is LineState.ENDED and self.line is not None and self.line.id == line.id:
            following = self._next_live()
            if following is not None:
                self._focus(following)
                self.message.setText(
                    self.outcome.get(line.id)
                    or f"call with {_who(line)} ended: {line.cause or 'hung up'}"
                )
        if new and line.state is LineState.INCOMING:
            self.notifier.incoming(_who(line))
        self._ring()
        self._refresh()
        if self.line is not before:
            self.current_line_changed.emit(self.line)

    def _shows_stats_of(self, line_id: int) -> bool:
        line = self.line
        return line is not None and line.id == line_id and line.state is LineState.TALKING

    def _focus(self, line: LineInfo) -> None:
        if self.line is None or self.line.id != line.id:
            self.graphs.clear_history()
        self.line = line

    def _next_live(self) -> LineInfo | None:
        for state in SUCCESSION:
            for line in self.lines.values():
                if line.state is state:
                    return line
        return None

    def _waiting_line(self) -> LineInfo | None:
        return next((x for x in self.lines.values() if x.state is LineState.INCOMING), None)

    def _ring(self) -> None:
        incoming = self._waiting_line() is not None
        talking = any(line.state is LineState.TALKING for line in self.lines.values())
        if incoming and not (self.shared_ringer and talking):
            self.ringer.start()
        else:
            self.ringer.stop()
        if not incoming:
            self.notifier.done()

    def _show_transfer_keys(self) -> None:
        consulting = self.transfers.current is not None
        self.complete_button.setVisible(consulting)
        self.cancel_button.setVisible(consulting)
        self.consult_button.setEnabled(not consulting)

    def _refresh(self) -> None:
        line = self.line
        self.line_buttons.show_current(line.id if line is not None else None)
        if line is None:
            self.call_state.setText("idle")
            return
        state = line.state.value
        if line.id in self.conference_ids:
            state += f" (conference of {len(self.conference_ids)})"
        elif (consultation := self.transfers.current) is not None:
            if consultation.at_pbx and line.id == consultation.line_id:
                state += f" (consulting {consultation.number} at the PBX)"
            elif line.id == consultation.consult_id:
                state += " (consulting)"
        if line.intercom and line.state is not LineState.ENDED:
            state += " (intercom: answered for you" + (", microphone muted)" if line.muted else ")")
        self.call_state.setText(state)
        self.caller.setText(("from " if line.direction == "in" else "to ") + _who(line))
        padlock = " \N{LOCK} encrypted" if line.encrypted else ""
        self.codec.setText((line.codec or "") + padlock)
        self.hold_button.setChecked(line.state is LineState.HELD)
        self.mute_button.setChecked(line.muted)
        self.record_button.setChecked(line.recording)
        self.call_button.setText("&Answer" if line.state is LineState.INCOMING else "&Call")
        if line.state is LineState.ENDED and (line.cause or line.id in self.outcome):
            self.message.setText(self.outcome.get(line.id) or f"call ended: {line.cause}")
        self._tick()

    def _tick(self) -> None:
        line = self.line
        if line is None or line.answered is None or line.state is LineState.ENDED:
            if line is None or line.state is not LineState.ENDED:
                self.timer.setText("")
            return
        seconds = int(time.time() - line.answered)
        self.timer.setText(f"{seconds // 60}:{seconds % 60:02d}")

    def closeEvent(self, event: QCloseEvent | None) -> None:  # noqa: N802 - Qt's name
        self.ringer.stop()
        super().closeEvent(event)


def _who(line: LineInfo) -> str:
    return f"{line.name} <{line.number}>" if line.name else line.number


def _key(text: str, action: Callable[[], None], tip: str, checkable: bool = False) -> QPushButton:
    button = QPushButton(text)
    button.setCheckable(checkable)
    button.setToolTip(tip)
    button.clicked.connect(action)
    return button
