"""The handset's model: lines, the current line, the display and the keys, without Qt.

Theory of operation
-------------------
:class:`HandsetModel` listens to a :class:`~iaxphone.phone.Phone` (and,
for PBX features, a :class:`~iaxphone.pbx.ami.PbxClient`) and holds what
a handset shows: every live line (:class:`~iaxphone.phone.LineInfo`
snapshots), the *current* line, the texts of the display, and which keys
may act.  Its commands are what the keys do; a widget only draws
:meth:`HandsetModel.view` and forwards input.  After anything changes
the model calls ``on_change`` (draw again); statistics of the current line
go to ``on_stats``; ``on_incoming`` is told who rings, ``on_current`` the
new current line, ``on_focus`` that the graphs should start afresh.

Lines.  The *current* line is the one the display, the graphs and the keys
act on.  A new call becomes current unless we are talking - then it is a
*waiting* call: it gets a line key, and Enter (or its key) answers it,
which holds the call we were in.  A line that starts talking becomes
current; when the current line ends the next live one does, in the order
of :data:`SUCCESSION` (a talking line first, then one ringing here, a held
one, one ringing there, one being dialled).  Choosing a held line's key
swaps to it (the phone holds the other).

Errors.  A command the phone refuses (the line-state table's
:class:`~iaxphone.linestate.LocalProtocolError`, a bad number, a failed
task) is put on the display's message line, never raised to the widget.

Transfers and park (:mod:`.transfer`, :mod:`.parking`) are models of
their own; this one runs their flows and says what became of the call:
the outcome stays on the display when the call ends.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iaxphone.linestate import LIVE, LineState, LineTrigger, triggers_from
from iaxphone.pbx.ami import PbxClient
from iaxphone.pbx.capabilities import Facility
from iaxphone.phone import (
    LineChanged,
    LineInfo,
    LineStats,
    Phone,
    PhoneEvent,
    RecordingStopped,
    RegistrationChanged,
    VoicemailChanged,
)

from .parking import Parker
from .transfer import Transfers

log = logging.getLogger("iaxphone.viewmodels")

IN_CALL = (LineState.TALKING, LineState.HELD)
# Messages about a call that ended, cleared when the next call starts.
STALE_MESSAGES = ("call ended", "call with ", "recorded to ", "transferred", "parked", "the caller")
# Which live line becomes current when the current one ends (first state wins).
SUCCESSION = (
    LineState.TALKING,
    LineState.INCOMING,
    LineState.HELD,
    LineState.RINGING,
    LineState.DIALING,
)
SHOWN = {
    LineState.DIALING: "dialing",
    LineState.RINGING: "ringing",
    LineState.INCOMING: "incoming",
    LineState.TALKING: "talking",
    LineState.HELD: "held",
}


def who(line: LineInfo) -> str:
    return f"{line.name} <{line.number}>" if line.name else line.number


def describe(line: LineInfo, waiting: bool = False) -> str:
    """A line key's label: its state and who ("waiting 6003" rings while we talk)."""
    state = "waiting" if waiting and line.state is LineState.INCOMING else SHOWN[line.state]
    return f"{state} {line.name or line.number}"


def next_live(lines: list[LineInfo]) -> LineInfo | None:
    """The line that follows when the current one ends (see :data:`SUCCESSION`)."""
    for state in SUCCESSION:
        for line in lines:
            if line.state is state:
                return line
    return None


class Key(enum.Enum):
    """The handset's keys (the dial pad aside)."""

    CALL = "call"
    HANG_UP = "hang up"
    HOLD = "hold"
    MUTE = "mute"
    DND = "dnd"
    TRANSFER = "transfer"
    CONSULT = "consult"
    COMPLETE = "complete"
    CANCEL = "cancel"
    PARK = "park"
    FLASH = "flash"
    CONFERENCE = "conference"
    RECORD = "record"


def enabled_keys(line: LineInfo | None, lines: list[LineInfo], consulting: bool) -> frozenset[Key]:
    """Which keys can act now.

    Call (or answer, or redial) and DND always can; hang up and mute while
    the current line is live (mute before the answer holds after it); hold
    when the line-state table lets the current line be held or resumed; the
    call features while it is in a call; Complete and Cancel only during a
    consultation, Consult only outside one.  Conference always can: pressed
    with fewer than two calls it says what it needs.
    """
    keys = {Key.CALL, Key.DND, Key.CONFERENCE}
    if line is not None and line.state in LIVE:
        keys |= {Key.HANG_UP, Key.MUTE}
        if triggers_from(line.state) & {LineTrigger.HOLD, LineTrigger.RESUME}:
            keys.add(Key.HOLD)
        if line.state in IN_CALL:
            keys |= {Key.TRANSFER, Key.PARK, Key.FLASH, Key.RECORD}
            if not consulting:
                keys.add(Key.CONSULT)
    if consulting:
        keys |= {Key.COMPLETE, Key.CANCEL}
    return frozenset(keys)


@dataclass(frozen=True)
class LineKey:
    line_id: int
    slot: int  # 1, 2, 3 ... (Alt+slot chooses it)
    label: str  # "talking 6002"
    current: bool


@dataclass(frozen=True)
class HandsetView:
    """Everything the handset draws, as one snapshot."""

    registration: str
    voicemail: str
    call_state: str
    caller: str
    codec: str
    padlock: str  # "closed" (encrypted), "open" (allowed but in clear), "" (off)
    message: str
    timer: str
    line_keys: tuple[LineKey, ...]
    answer: bool  # the call key answers (a line rings here)
    held: bool
    muted: bool
    recording: bool
    dnd: bool
    consulting: bool  # Complete and Cancel shown, Consult disabled
    ringing: bool  # the ringtone plays
    in_call: bool  # the current line is talking or held
    enabled: frozenset[Key]  # the keys that can act now (see enabled_keys)


def registration_text(event: RegistrationChanged) -> str:
    """The display's registration line: registered, or not and why (lost: retrying)."""
    if event.registered:
        return f"{event.account}: registered"
    if event.change == "lost":
        return f"{event.account}: registration lost, retrying ({event.reason})"
    why = f" ({event.reason})" if event.reason else ""
    return f"{event.account}: not registered{why}"


class HandsetModel:
    def __init__(
        self,
        phone: Phone,
        pbx: PbxClient | None = None,
        *,
        recordings: Path,
        shared_ringer: bool = True,
        wall_clock: Callable[[], float] | None = None,
    ) -> None:
        self.phone = phone
        self.pbx = pbx
        self.recordings = recordings
        self.shared_ringer = shared_ringer  # the ringtone plays on the phone's own speaker
        self.wall_clock = wall_clock or phone.wall_clock
        self.line: LineInfo | None = None  # the current line (may have just ended)
        self.lines: dict[int, LineInfo] = {}  # every live line
        self.transfers = Transfers(phone, pbx, on_ended=self._consultation_ended)
        self.parker = Parker(phone, pbx)
        self.conference_ids: set[int] = set()
        self.outcome: dict[int, str] = {}  # what became of a call we handed off
        self.parked_slot: str | None = None
        self.last_recording: Path | None = None
        self.registration = "not registered"
        self.voicemail = ""
        self.call_state = "idle"
        self.caller = ""
        self.codec = ""
        self.padlock = ""
        self.message = ""
        self._timer = ""
        self.tasks: set[asyncio.Task[Any]] = set()
        self.on_change: Callable[[], None] = lambda: None
        self.on_stats: Callable[[LineStats], None] = lambda _stats: None
        self.on_incoming: Callable[[str], None] = lambda _who: None
        self.on_current: Callable[[LineInfo | None], None] = lambda _line: None
        self.on_focus: Callable[[], None] = lambda: None
        self.subscription = phone.subscribe(self.on_event)
        for account, registered in phone.registered.items():  # what happened before us
            self.on_event(RegistrationChanged(account, registered))
        self._refresh()

    def close(self) -> None:
        self.subscription.close()

    # ------------------------------------------------------------------ the view

    def view(self) -> HandsetView:
        line = self.line
        talking = any(x.state is LineState.TALKING for x in self.lines.values())
        current = line.id if line is not None else None
        keys = tuple(
            LineKey(x.id, slot, describe(x, waiting=talking), x.id == current)
            for slot, x in enumerate(self.lines.values(), start=1)
        )
        return HandsetView(
            registration=self.registration,
            voicemail=self.voicemail,
            call_state=self.call_state,
            caller=self.caller,
            codec=self.codec,
            padlock=self.padlock,
            message=self.message,
            timer=self.timer(),
            line_keys=keys,
            answer=line is not None and line.state is LineState.INCOMING,
            held=line is not None and line.state is LineState.HELD,
            muted=line is not None and line.muted,
            recording=line is not None and line.recording,
            dnd=self.phone.dnd,
            consulting=self.transfers.current is not None,
            ringing=self.ringing(),
            in_call=line is not None and line.state in IN_CALL,
            enabled=enabled_keys(
                line, list(self.lines.values()), self.transfers.current is not None
            )
            - self.missing_keys(),
        )

    def missing_keys(self) -> frozenset[Key]:
        """Keys the PBX cannot serve (its last capability probe): Park without parking."""
        if self.pbx is not None and self.pbx.why_not(Facility.PARKING) is not None:
            return frozenset({Key.PARK})
        return frozenset()

    def timer(self) -> str:
        """The current call's time ("1:05"); "" before the answer, kept once it ended."""
        line = self.line
        if line is not None and line.state is LineState.ENDED:
            return self._timer  # the call's length stays shown
        if line is None or line.answered is None:
            self._timer = ""
        else:
            seconds = int(self.wall_clock() - line.answered)
            self._timer = f"{seconds // 60}:{seconds % 60:02d}"
        return self._timer

    def ringing(self) -> bool:
        """A call rings here, and the ringtone may play (not over a call on a shared speaker)."""
        incoming = self.waiting_line() is not None
        talking = any(line.state is LineState.TALKING for line in self.lines.values())
        return incoming and not (self.shared_ringer and talking)

    def waiting_line(self) -> LineInfo | None:
        return next((x for x in self.lines.values() if x.state is LineState.INCOMING), None)

    # ------------------------------------------------------------------ running commands

    def run(self, command: Coroutine[Any, Any, Any]) -> None:
        """Run an async phone command; its error goes on the display."""
        task = asyncio.ensure_future(command)
        self.tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.message = str(task.exception())
            self.on_change()

    def _do(self, command: Callable[..., object], *args: object) -> bool:
        """Run a phone command; its error goes on the display (never to the widget)."""
        try:
            command(*args)
        except Exception as exc:  # a refused command is news for the user, not a crash
            self.message = str(exc).strip("'\"")
            return False
        return True

    def _say(self, line_id: int, text: str) -> None:
        """Show what became of a call; it stays on the display when the call ends."""
        self.outcome[line_id] = text
        self.message = text
        self.on_change()

    def _in_call(self, what: str) -> LineInfo | None:
        line = self.line
        if line is None or line.state not in IN_CALL:
            self.message = f"no call to {what}"
            self.on_change()
            return None
        return line

    def say(self, text: str) -> None:
        """Put a note on the display's message line."""
        self.message = text
        self.on_change()

    # ------------------------------------------------------------------ commands

    def dial(self, number: str) -> None:
        self.message = ""
        self.run(self.phone.dial(number))
        self.on_change()

    def press_key(self, key: str) -> bool:
        """A dial-pad key: DTMF on a talking line; else True (the key goes into the number)."""
        if self.line is not None and self.line.state is LineState.TALKING:
            self.run(self.phone.dtmf(self.line.id, key))
            return False
        return True

    def call_or_answer(self, number: str) -> None:
        """The call key: answer what rings, else call ``number``, else redial."""
        number = number.strip()
        if self.line is not None and self.line.state is LineState.INCOMING:
            self._do(self.phone.answer, self.line.id)
        elif not number and (waiting := self.waiting_line()) is not None:
            self._do(self.phone.answer, waiting.id)
        elif not number:
            if self.phone.lines or self.phone.history is not None:
                self.run(self.phone.redial())
        else:
            self.dial(number)
            return
        self.on_change()

    def hang_up(self) -> None:
        if self.line is not None and self.line.state is not LineState.ENDED:
            self.run(self.phone.hangup(self.line.id))

    def toggle_hold(self) -> None:
        line = self.line
        if line is None or line.state is LineState.ENDED:
            self.message = "no call to hold"
        elif line.state is LineState.HELD:
            self._do(self.phone.resume, line.id)
        else:  # the line-state table refuses a line that is not talking, and says why
            self._do(self.phone.hold, line.id)
        self._refresh()
        self.on_change()

    def set_mute(self, on: bool) -> None:
        if self.line is not None and self.line.state is not LineState.ENDED:
            self._do(self.phone.mute, self.line.id, on)
        else:
            self.message = "no call to mute"
        self.on_change()

    def set_dnd(self, on: bool) -> None:
        """Do-not-disturb: this phone refuses calls busy; with AMI the PBX is told too,
        the way it does DND (presence, FreePBX's device state and astdb; on a PBX
        without DND the display says so and only this phone refuses calls)."""
        self.phone.set_dnd(on)
        self.message = "do not disturb" if on else ""
        if self.pbx is not None:
            user = self.phone.accounts[self.phone.default_account].user
            self.run(self.pbx.set_dnd(user, on))
        self.on_change()

    def choose_line(self, line_id: int) -> None:
        """A line key: answer that call if it rings, take it off hold, or just show it."""
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
            self.on_current(line)
        self.on_change()

    def ask_number(self, what: str) -> None:
        self.say(f"type the number to {what} to")

    def transfer_to(self, number: str) -> bool:
        """Blind-transfer the current call; False when there is no number to do it with."""
        if not number:
            self.ask_number("transfer")
            return False
        line = self._in_call("transfer")
        if line is not None and self._do(self.transfers.blind, line.id, number):
            self.outcome[line.id] = f"transferred to {number}"  # once the PBX ends our leg
            self.message = f"transferring to {number} ..."
        self.on_change()
        return True

    def consult(self, number: str) -> bool:
        """Attended transfer, step one: the caller waits while we call ``number``."""
        if not number:
            self.ask_number("consult")
            return False
        line = self._in_call("consult")
        if line is None:
            return True

        async def consult() -> None:
            consultation = await self.transfers.consult(line, number)
            where = " at the PBX (the caller hears music)" if consultation.at_pbx else ""
            self.message = f"consulting {number}{where}: Complete or Cancel"
            self._refresh()
            self.on_change()

        self.run(consult())
        return True

    def _consultation_ended(self, said: str) -> None:
        """A consultation the PBX runs ended under us (see :mod:`.transfer`)."""
        self.message = said
        self._refresh()
        self.on_change()

    def complete_transfer(self) -> None:
        consultation = self.transfers.current
        if consultation is None:
            return

        async def complete() -> None:
            self.outcome[consultation.line_id] = f"transferred to {consultation.number}"
            try:
                await self.transfers.complete()
            finally:
                self.on_change()
            self._say(consultation.line_id, f"transferred to {consultation.number}")

        self.run(complete())

    def cancel_transfer(self) -> None:
        if self.transfers.current is None:
            return

        async def cancel() -> None:
            try:
                await self.transfers.cancel()
            finally:
                self.on_change()
            self.message = "transfer cancelled"
            self._refresh()
            self.on_change()

        self.run(cancel())

    def park(self) -> None:
        line = self._in_call("park")
        if line is None:
            return
        missing = self.pbx.why_not(Facility.PARKING) if self.pbx is not None else None
        if missing is not None:
            self.say(missing)  # "this PBX has no call parking (res_parking is not loaded)"
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

        self.run(park())

    def flash(self) -> None:
        line = self._in_call("flash")
        if line is not None and self._do(self.phone.flash, line.id):
            self.message = "flash"
        self.on_change()

    def conference(self) -> None:
        members = [line.id for line in self.lines.values() if line.state in IN_CALL]
        if len(members) < 2:
            self.say("a conference needs a held call and a talking one")
            return
        if self._do(self.phone.conference, *members):
            self.conference_ids = set(members)
            names = " + ".join(self.lines[i].name or self.lines[i].number for i in members)
            self.message = f"conference: {names}"
            self._refresh()
        self.on_change()

    def toggle_record(self) -> None:
        line = self.line
        if line is None or line.state not in IN_CALL:
            self.say("no call to record")
            return
        if line.recording:
            self._do(self.phone.stop_recording, line.id)
            self.message = f"recorded to {self.last_recording}"
            self.on_change()
            return
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(self.wall_clock()))
        safe = "".join(c if c.isalnum() else "_" for c in line.number)
        path = self.recordings / f"{stamp}-{safe}-{line.id}.wav"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.say(f"cannot record to {path.parent}: {exc.strerror or exc}")
            return
        if self._do(self.phone.start_recording, line.id, path):
            self.last_recording = path
            self.message = f"recording to {path}"
        self.on_change()

    # ------------------------------------------------------------------ events

    def on_event(self, event: PhoneEvent) -> None:
        if isinstance(event, RegistrationChanged):
            self.registration = registration_text(event)
            if event.change == "lost":
                self.message = f"{event.account}: connection to the server lost; retrying"
            elif event.change == "recovered":
                after = f" after {event.offline_s:.0f} s" if event.offline_s is not None else ""
                self.message = f"{event.account}: server back, registered again{after}"
            self.on_change()
        elif isinstance(event, RecordingStopped):
            self.message = event.message  # the call goes on; the display says why
            self.on_change()
        elif isinstance(event, VoicemailChanged):
            self.voicemail = f"voicemail: {event.new_messages} new" if event.new_messages else ""
            self.on_change()
        elif isinstance(event, LineChanged):
            self._line_changed(event.line)
        elif isinstance(event, LineStats) and self._shows_stats_of(event.line_id):
            self.on_stats(event)

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
        if gone is not None and line.id == gone.line_id:
            self.message = "the caller hung up: no transfer"
        current = self.line
        talking_elsewhere = any(
            other.state is LineState.TALKING and other.id != line.id
            for other in self.lines.values()
        )
        arrived = new and line.state is not LineState.ENDED and not talking_elsewhere
        if current is None or line.id == current.id or line.state is LineState.TALKING or arrived:
            self._focus(line)
        if line.state is LineState.ENDED and self.line is not None and self.line.id == line.id:
            following = next_live(list(self.lines.values()))
            if following is not None:
                self._focus(following)
                self.message = (
                    self.outcome.get(line.id)
                    or f"call with {who(line)} ended: {line.cause or 'hung up'}"
                )
        fresh = new and line.state is not LineState.ENDED and len(self.lines) == 1
        if fresh and self.message.startswith(STALE_MESSAGES):
            self.message = ""  # a fresh call: the last one's ending is old news
        if new and line.state is LineState.INCOMING:
            self.on_incoming(who(line))
        self._refresh()
        self.on_change()
        if self.line is not before:
            self.on_current(self.line)

    def _shows_stats_of(self, line_id: int) -> bool:
        line = self.line
        return line is not None and line.id == line_id and line.state is LineState.TALKING

    def _focus(self, line: LineInfo) -> None:
        if self.line is None or self.line.id != line.id:
            self.on_focus()
        self.line = line

    def _refresh(self) -> None:
        """Work out the display's texts for the current line."""
        line = self.line
        if line is None:
            self.call_state = "idle"
            self.padlock = ""
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
        self.call_state = state
        self.caller = ("from " if line.direction == "in" else "to ") + who(line)
        if line.encrypted:
            # The padlock is the icon beside the text: no font here draws U+1F512.
            self.padlock, note = "closed", " encrypted"
        elif line.encryption == "allowed-unused":
            self.padlock, note = "open", " not encrypted (the PBX did not take it up)"
        else:
            self.padlock, note = "", ""
        self.codec = (line.codec or "") + note
        if line.state is LineState.ENDED and (line.cause or line.id in self.outcome):
            self.message = self.outcome.get(line.id) or f"call ended: {line.cause}"


__all__ = [
    "IN_CALL",
    "SUCCESSION",
    "HandsetModel",
    "HandsetView",
    "Key",
    "LineKey",
    "describe",
    "enabled_keys",
    "next_live",
    "who",
]
