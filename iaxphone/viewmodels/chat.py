"""The chat pane's model: one conversation per line, shown for the handset's current line.

Theory of operation
-------------------
The model listens to the phone's :class:`~iaxphone.phone.LineText` events
and keeps each line's messages, typed here ("out") or received ("in"); a
received text may come from the far end or from the PBX itself (the
dialplan's SendText, an operator's console through AMI): IAX2 does not
tell them apart, so both are shown as the far end's.  The pane shows the
line the handset makes current (:meth:`ChatModel.show_line`); texts on
other lines count as unread until their line is shown.  A line's
conversation stays while the line lives and, once it ends, until another
line is shown, so the last words of a call can still be read.

Sending (:meth:`ChatModel.send`) works while the line is connected (the
far end rings, talks or is held); an empty text is ignored and a refused
one (too long, the call gone) comes back as a one-line message for the
pane.  Nothing here imports Qt; the pane (:mod:`iaxphone.gui.chat`)
draws :meth:`ChatModel.view` whenever ``on_change`` is called.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from iaxphone.errors import LocalProtocolError
from iaxphone.linestate import LineState
from iaxphone.phone import LineChanged, LineInfo, LineText, Phone, PhoneEvent

SENDABLE = (LineState.RINGING, LineState.TALKING, LineState.HELD)
MAX_KEPT = 500  # messages kept per line (the oldest go first)


@dataclass(frozen=True)
class ChatEntry:
    direction: str  # "in" or "out"
    who: str  # "me", or the far end's name or number
    text: str
    at: float  # wall-clock time
    clock: str  # "14:03"


@dataclass(frozen=True)
class ChatView:
    line_id: int | None
    title: str  # "Chat with Bob (6002)", or what to do to chat
    entries: tuple[ChatEntry, ...]
    can_send: bool
    unread: int  # texts waiting on lines not shown
    message: str  # the last refusal, or ""


def far_end(line: LineInfo) -> str:
    return f"{line.name} ({line.number})" if line.name else line.number


class ChatModel:
    def __init__(self, phone: Phone, clock: Callable[[float], str] | None = None) -> None:
        self.phone = phone
        self.clock = clock or (lambda at: time.strftime("%H:%M", time.localtime(at)))
        self.conversations: dict[int, list[ChatEntry]] = {}
        self.unread: dict[int, int] = {}
        self.line_id: int | None = None
        self.message = ""
        self.on_change: Callable[[], None] = lambda: None
        self.subscription = phone.subscribe(self.on_event)

    def close(self) -> None:
        self.subscription.close()

    # ------------------------------------------------------------------ input

    def show_line(self, line_id: int | None) -> None:
        """Show this line's conversation (the handset's current line; None: no call)."""
        if line_id == self.line_id:
            return
        self.line_id, self.message = line_id, ""
        if line_id is not None:
            self.unread.pop(line_id, None)
        live = set(self.phone.lines)
        for gone in [i for i in self.conversations if i not in live and i != line_id]:
            del self.conversations[gone]
            self.unread.pop(gone, None)
        self.on_change()

    def send(self, text: str) -> bool:
        """Send ``text`` on the shown line; False (and a message) when it cannot go."""
        if not text.strip():
            return False
        line = self._line()
        if line is None or line.state not in SENDABLE:
            self.message = "no connected call to send a text on"
        else:
            try:
                self.phone.send_text(line.id, text)
            except (ValueError, KeyError, LocalProtocolError) as exc:
                self.message = f"text not sent: {exc}"
            else:
                self.message = ""
                return True
        self.on_change()
        return False

    def on_event(self, event: PhoneEvent) -> None:
        if isinstance(event, LineText):
            line = self.phone.lines.get(event.line_id)
            who = "me" if event.direction == "out" else (far_end(line.info) if line else "?")
            kept = self.conversations.setdefault(event.line_id, [])
            kept.append(ChatEntry(event.direction, who, event.text, event.at, self.clock(event.at)))
            del kept[:-MAX_KEPT]
            if event.line_id != self.line_id:
                self.unread[event.line_id] = self.unread.get(event.line_id, 0) + 1
            self.on_change()
        elif isinstance(event, LineChanged) and event.line.id == self.line_id:
            self.on_change()  # can_send may have changed

    # ------------------------------------------------------------------ output

    def _line(self) -> LineInfo | None:
        line = self.phone.lines.get(self.line_id) if self.line_id is not None else None
        return line.info if line is not None else None

    def view(self) -> ChatView:
        line = self._line()
        entries = (
            tuple(self.conversations.get(self.line_id, ())) if self.line_id is not None else ()
        )
        if line is not None:
            title = f"Chat with {far_end(line)}"
        elif entries:
            title = "Chat (the call has ended)"
        else:
            title = "Chat: texts go with a call"
        return ChatView(
            self.line_id,
            title,
            entries,
            line is not None and line.state in SENDABLE,
            sum(self.unread.values()),
            self.message,
        )


__all__ = ["ChatEntry", "ChatModel", "ChatView", "far_end"]
