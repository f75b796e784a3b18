"""The tray icon's model: registration, missed calls, DND, and what to notify, without Qt.

Theory of operation
-------------------
:class:`TrayModel` listens to a :class:`~iaxphone.phone.Phone` and keeps
what the tray shows (:class:`TrayView`): whether the account is
registered (and the registration line the handset shows), how many calls
were missed since the user last looked, and DND.  It also decides which
events deserve a desktop notification (:class:`Notice`): a call ringing
here, and a call that stopped ringing without being answered.

Each line runs through a small table, ``(what we knew, what the line is
now) -> (what we know next, notice)``:

===========  ===================  =========  ============
known        line now             next       notice
===========  ===================  =========  ============
(new)        incoming             ringing    "incoming"
ringing      talking / held       answered   -
ringing      ended, not answered  (gone)     "missed"
any          ended                (gone)     -
===========  ===================  =========  ============

A missed call adds one to ``missed`` until :meth:`TrayModel.seen` (the
window was shown or activated) clears it.  ``on_change`` is called after
anything the view shows changed, ``on_notice`` with each notice.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from iaxphone.linestate import LineState
from iaxphone.phone import LineChanged, LineInfo, Phone, PhoneEvent, RegistrationChanged

from .handset import registration_text, who


class Seen(enum.Enum):
    """What the tray knows about a line."""

    RINGING = "ringing"  # ringing here, not answered yet
    ANSWERED = "answered"


@dataclass(frozen=True)
class Notice:
    """A desktop notification: ``kind`` is "incoming" or "missed"."""

    kind: str
    summary: str
    body: str


@dataclass(frozen=True)
class TrayView:
    registered: bool
    status: str  # "desk: registered", or not and why
    missed: int  # calls missed since the window was last looked at
    dnd: bool
    tooltip: str


ANSWERED_STATES = (LineState.TALKING, LineState.HELD)


def step(known: Seen | None, line: LineInfo) -> tuple[Seen | None, str]:
    """One row of the table above: (what we know next, notice kind or "")."""
    if line.state is LineState.ENDED:
        missed = known is Seen.RINGING and line.answered is None
        return None, "missed" if missed else ""
    if known is None and line.direction == "in" and line.state is LineState.INCOMING:
        return Seen.RINGING, "incoming"
    if known is Seen.RINGING and line.state in ANSWERED_STATES:
        return Seen.ANSWERED, ""
    return known, ""


def tooltip(status: str, missed: int, dnd: bool) -> str:
    parts = ["iaxphone", status]
    if missed:
        parts.append(f"{missed} missed call" + ("s" if missed > 1 else ""))
    if dnd:
        parts.append("do not disturb")
    return " - ".join(parts)


class TrayModel:
    def __init__(self, phone: Phone) -> None:
        self.phone = phone
        self.registered = False
        self.status = "not registered"
        self.missed = 0
        self.lines: dict[int, Seen] = {}
        self.on_change: Callable[[], None] = lambda: None
        self.on_notice: Callable[[Notice], None] = lambda notice: None
        self._subscription = phone.subscribe(self.on_event)

    def close(self) -> None:
        self._subscription.close()

    def view(self) -> TrayView:
        dnd = self.phone.dnd
        return TrayView(
            self.registered, self.status, self.missed, dnd, tooltip(self.status, self.missed, dnd)
        )

    def seen(self) -> None:
        """The user looked at the window: the missed calls are no longer news."""
        if self.missed:
            self.missed = 0
            self.on_change()

    def dnd_changed(self) -> None:
        """DND was switched (by the handset or the tray's menu): draw again."""
        self.on_change()

    def on_event(self, event: PhoneEvent) -> None:
        if isinstance(event, RegistrationChanged):
            self.registered = event.registered
            self.status = registration_text(event)
            self.on_change()
        elif isinstance(event, LineChanged):
            line = event.line
            known, kind = step(self.lines.get(line.id), line)
            if known is None:
                self.lines.pop(line.id, None)
            else:
                self.lines[line.id] = known
            if kind == "incoming":
                self.on_notice(Notice(kind, "Incoming call", who(line)))
            elif kind == "missed":
                self.missed += 1
                self.on_notice(Notice(kind, "Missed call", who(line)))
                self.on_change()
