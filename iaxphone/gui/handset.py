"""The handset window: display, dial pad, call keys and live call graphs.

Theory of operation
-------------------
The window knows only the :class:`~iaxphone.phone.Phone` model.  qasync runs
the asyncio loop inside Qt's, so phone events arrive on the GUI thread: the
window subscribes to them and updates its widgets; buttons call phone
commands (the async ones are scheduled as tasks and their errors shown on
the display, never raised into Qt).  Graphs keep the last 60 s of
:class:`~iaxphone.phone.LineStats` (about ten a second) in fixed numpy
arrays and redraw on each one.

This first slice has the display (registration, voicemail, line state,
caller, timer, codec), the dial pad (mouse and keyboard, paste), call or
answer (Enter) / hang up (Esc) / hold / mute / DND keys, and the call
graphs (:mod:`.graphs`: microphone and speaker level, jitter,
jitter-buffer delay and loss, with the MOS estimate on the display).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import Any

from PyQt6.QtCore import QTimer
from PyQt6.QtGui import QKeySequence, QShortcut
from PyQt6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

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

KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"]
LIVE = (LineState.DIALING, LineState.RINGING, LineState.INCOMING, LineState.TALKING)


class HandsetWindow(QWidget):
    def __init__(self, phone: Phone) -> None:
        super().__init__()
        self.phone = phone
        self.line: LineInfo | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.setWindowTitle("iaxphone")

        self.registration = QLabel("not registered")
        self.voicemail = QLabel("")
        self.call_state = QLabel("idle")
        self.caller = QLabel("")
        self.timer = QLabel("")
        self.codec = QLabel("")
        self.message = QLabel("")
        self.number = QLineEdit()
        self.number.setPlaceholderText("number or iax: URI")
        self.number.returnPressed.connect(self.call_or_answer)

        self.keys: dict[str, QPushButton] = {}
        pad = QGridLayout()
        for index, key in enumerate(KEYS):
            button = QPushButton(key)
            button.clicked.connect(lambda _checked=False, k=key: self.press_key(k))
            pad.addWidget(button, index // 3, index % 3)
            self.keys[key] = button

        self.call_button = QPushButton("Call")
        self.call_button.clicked.connect(self.call_or_answer)
        self.hangup_button = QPushButton("Hang up")
        self.hangup_button.clicked.connect(self.hang_up)
        self.hold_button = QPushButton("Hold")
        self.hold_button.setCheckable(True)
        self.hold_button.clicked.connect(self.toggle_hold)
        self.mute_button = QPushButton("Mute")
        self.mute_button.setCheckable(True)
        self.mute_button.clicked.connect(self.toggle_mute)
        self.dnd_button = QPushButton("DND")
        self.dnd_button.setCheckable(True)
        self.dnd_button.setChecked(phone.dnd)
        self.dnd_button.clicked.connect(self.toggle_dnd)
        self.escape = QShortcut(QKeySequence("Esc"), self)
        self.escape.activated.connect(self.hang_up)

        self.graphs = CallGraphs()
        self.mos = self.graphs.mos

        display = QVBoxLayout()
        for label in (self.registration, self.voicemail, self.call_state, self.caller):
            display.addWidget(label)
        details = QHBoxLayout()
        for label in (self.timer, self.codec, self.mos):
            details.addWidget(label)
        display.addLayout(details)
        display.addWidget(self.message)
        keys = QHBoxLayout()
        for button in (
            self.call_button,
            self.hangup_button,
            self.hold_button,
            self.mute_button,
            self.dnd_button,
        ):
            keys.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(display)
        layout.addWidget(self.number)
        layout.addLayout(pad)
        layout.addLayout(keys)
        layout.addWidget(self.graphs, stretch=1)

        self.clock = QTimer(self)
        self.clock.timeout.connect(self._tick)
        self.clock.start(250)
        phone.subscribe(self.on_event)
        for account, registered in phone.registered.items():  # what happened before us
            self.on_event(RegistrationChanged(account, registered))
        self._refresh()

    @property
    def level_graph(self) -> CallGraph:
        return self.graphs.levels

    @property
    def jitter_graph(self) -> CallGraph:
        return self.graphs.jitter

    # ------------------------------------------------------------------ commands

    def _run(self, command: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(command)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.message.setText(str(task.exception()))

    def press_key(self, key: str) -> None:
        if self.line is not None and self.line.state is LineState.TALKING:
            self._run(self.phone.dtmf(self.line.id, key))
        else:
            self.number.insert(key)

    def call_or_answer(self) -> None:
        if self.line is not None and self.line.state is LineState.INCOMING:
            self.phone.answer(self.line.id)
            return
        number = self.number.text().strip()
        if not number:
            if self.phone.lines:
                self._run(self.phone.redial())
            return
        self.message.setText("")
        self._run(self.phone.dial(number))

    def hang_up(self) -> None:
        if self.line is not None and self.line.state is not LineState.ENDED:
            self._run(self.phone.hangup(self.line.id))

    def toggle_hold(self) -> None:
        if self.line is None:
            self.hold_button.setChecked(False)
            return
        if self.line.state is LineState.TALKING:
            self.phone.hold(self.line.id)
        elif self.line.state is LineState.HELD:
            self.phone.resume(self.line.id)

    def toggle_mute(self) -> None:
        if self.line is None:
            self.mute_button.setChecked(False)
            return
        self.phone.mute(self.line.id, self.mute_button.isChecked())

    def toggle_dnd(self) -> None:
        """Do-not-disturb on this phone: incoming calls are refused busy."""
        self.phone.set_dnd(self.dnd_button.isChecked())
        self.message.setText("do not disturb" if self.phone.dnd else "")

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
            if self.line is None or event.line.id == self.line.id or event.line.state in LIVE:
                if self.line is None or event.line.id != self.line.id:
                    self.graphs.clear_history()
                self.line = event.line
            self._refresh()
        elif isinstance(event, LineStats) and self.line and event.line_id == self.line.id:
            self.graphs.push(event.stats)

    def _refresh(self) -> None:
        line = self.line
        if line is None:
            self.call_state.setText("idle")
            return
        self.call_state.setText(line.state.value)
        who = f"{line.name} <{line.number}>" if line.name else line.number
        self.caller.setText(("from " if line.direction == "in" else "to ") + who)
        self.codec.setText(line.codec or "")
        self.hold_button.setChecked(line.state is LineState.HELD)
        self.mute_button.setChecked(line.muted)
        self.call_button.setText("Answer" if line.state is LineState.INCOMING else "Call")
        if line.state is LineState.ENDED and line.cause:
            self.message.setText(f"call ended: {line.cause}")
        self._tick()

    def _tick(self) -> None:
        line = self.line
        if line is None or line.answered is None or line.state is LineState.ENDED:
            if line is None or line.state is not LineState.ENDED:
                self.timer.setText("")
            return
        seconds = int(time.time() - line.answered)
        self.timer.setText(f"{seconds // 60}:{seconds % 60:02d}")
