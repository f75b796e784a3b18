"""Text messages on the command line: ``call --text`` checks and sends, both commands print.

A received message goes to standard output as ``text from NUMBER: MESSAGE``
(the far end's caller ID, or the number dialled), one line per message; a
message of several lines continues on lines indented by two spaces.  IAX2
does not say whether the far end or the PBX (the dialplan's SendText, an
operator through AMI) wrote it.
"""

from __future__ import annotations

import sys

from iaxphone.errors import LocalProtocolError
from iaxphone.phone import LineText, Phone, PhoneEvent
from iaxphone.proto.text import split_text
from iaxphone.subscriptions import Subscription

from . import exitcodes
from .errors import CommandError


def check_texts(texts: list[str] | None) -> None:
    """Refuse an empty or too long ``--text`` before anyone is called."""
    for text in texts or []:
        try:
            split_text(text)
        except ValueError as exc:
            raise CommandError(f"--text: {exc}", exitcodes.USAGE) from None


def format_text(who: str, text: str) -> str:
    first, *rest = text.splitlines() or [""]
    return "\n".join([f"text from {who}: {first}", *(f"  {line}" for line in rest)])


def print_received_texts(phone: Phone) -> Subscription:
    """Print every received message from now on (``close()`` the result to stop)."""

    def on_event(event: PhoneEvent) -> None:
        if isinstance(event, LineText) and event.direction == "in":
            line = phone.lines.get(event.line_id)
            who = line.info.number if line is not None else f"line {event.line_id}"
            print(format_text(who, event.text), flush=True)

    return phone.subscribe(on_event)


def send_texts(phone: Phone, line_id: int, texts: list[str] | None) -> None:
    """``--text`` after the answer, in order; a call that ended meanwhile gets a warning."""
    for text in texts or []:
        try:
            phone.send_text(line_id, text)
        except (KeyError, LocalProtocolError) as exc:
            print(f"iaxphone: text not sent: {exc}", file=sys.stderr, flush=True)
            return
