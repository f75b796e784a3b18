"""Who is on the PBX: every extension a console shows a tile for, with its name.

Nothing here is a hand-kept list.  The extensions are the PBX's hints in
the console's context (``ExtensionStateList``) plus its numeric IAX2 peers
that have none (``IAXpeerlist``); each hint says what is behind it (a
phone ``IAX2/6001``, a queue ``Queue:sales_avail``, a room
``confbridge:800``).  A phone's name is its voicemail full name
(``VoicemailUsersList``), else its caller ID name (``IAXPEER(6001,
callerid_name)`` through ``Getvar``), else the number; the mailbox listing
also gives the voicemail counts.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from iaxphone.pbx.models import LampState, Presence


class Kind(enum.Enum):
    PHONE = "phone"
    QUEUE = "queue"
    ROOM = "room"
    OTHER = "other"


@dataclass(frozen=True)
class DirectoryEntry:
    number: str
    name: str
    kind: Kind
    hint: str = ""
    device: str = ""  # "IAX2/6001" for a phone
    target: str = ""  # the queue ("sales") or the room ("800") behind the hint
    mailbox: str = ""  # "6001@office" when one exists
    registered: bool | None = None  # from IAXpeerlist, for peers without a hint


def classify(hint: str) -> tuple[Kind, str, str]:
    """(kind, device, target) of a hint."""
    parts = re.split(r"[&,]", hint)
    for part in parts:
        if part.startswith(("IAX2/", "SIP/", "PJSIP/", "DAHDI/")):
            return Kind.PHONE, part, ""
    for part in parts:
        if part.startswith("Queue:"):
            return Kind.QUEUE, "", part[len("Queue:") :].removesuffix("_avail")
        if part.lower().startswith("confbridge:"):
            return Kind.ROOM, "", part.split(":", 1)[1]
    return Kind.OTHER, "", ""


def build(
    hints: Mapping[str, str],
    peers: list[Mapping[str, Any]],
    mailboxes: list[Mapping[str, Any]],
    caller_names: Mapping[str, str],
    context: str,
) -> dict[str, DirectoryEntry]:
    """The directory from the PBX's answers.

    ``hints``: number -> hint (ExtensionStateList, this context);
    ``peers``: IAXpeerlist PeerEntry messages; ``mailboxes``:
    VoicemailUsersList entries; ``caller_names``: number -> IAXPEER caller ID
    name, for the phones whose mailbox has no name.
    """
    # Mailboxes in the phones' context first, then any (FreePBX keeps them in "default").
    boxes = [m for m in mailboxes if m.get("Event") == "VoicemailUserEntry"]
    boxes.sort(key=lambda m: str(m.get("VMContext", "")) == context)
    full_names = {str(m.get("VoiceMailbox", "")): str(m.get("Fullname", "") or "") for m in boxes}
    box_context = {str(m.get("VoiceMailbox", "")): str(m.get("VMContext", "")) for m in boxes}
    entries: dict[str, DirectoryEntry] = {}
    for number, hint in hints.items():
        kind, device, target = classify(hint)
        if kind is Kind.PHONE:
            name = full_names.get(number) or caller_names.get(number) or number
        elif kind is Kind.QUEUE:
            name = f"Queue {target}"
        elif kind is Kind.ROOM:
            name = f"Room {target}"
        else:
            name = number
        entries[number] = DirectoryEntry(
            number=number,
            name=name,
            kind=kind,
            hint=hint,
            device=device,
            target=target,
            mailbox=f"{number}@{box_context[number]}" if number in full_names else "",
        )
    for peer in peers:
        number = str(peer.get("ObjectName", ""))
        if peer.get("Event") != "PeerEntry" or not number.isdigit() or number in entries:
            continue
        entries[number] = DirectoryEntry(
            number=number,
            name=full_names.get(number) or caller_names.get(number) or number,
            kind=Kind.PHONE,
            device=f"IAX2/{number}",
            mailbox=f"{number}@{box_context[number]}" if number in full_names else "",
            registered=str(peer.get("IPaddress", "(null)")) not in ("(null)", "", "0.0.0.0"),
        )
    return entries


def mailbox_counts(mailboxes: list[Mapping[str, Any]], context: str) -> dict[str, tuple[int, int]]:
    """ "6001@office" -> (new, old) from a VoicemailUsersList answer."""
    out = {}
    for m in mailboxes:
        if m.get("Event") == "VoicemailUserEntry":
            new, old = m.get("NewMessageCount", 0), m.get("OldMessageCount", 0)
            out[f"{m.get('VoiceMailbox')}@{m.get('VMContext', context)}"] = (
                int(new or 0),
                int(old or 0),
            )
    return out


# What a person is told about a colleague: one phrase from the busy lamp
# (is the phone there, is it on a call) and the presence (do they want
# calls).  A phone that is not registered cannot take calls whatever its
# presence says, and a call in progress matters more than a presence.
LAMP_WINS = {
    LampState.UNAVAILABLE: "offline",
    LampState.RINGING: "ringing",
    LampState.IN_USE: "on a call",
    LampState.BUSY: "busy",
    LampState.ON_HOLD: "on a call (on hold)",
}
PRESENCE_SAYS = {
    Presence.AVAILABLE: "available",
    Presence.CHAT: "available",
    Presence.AWAY: "away",
    Presence.XA: "away",
    Presence.DND: "do not disturb",
    Presence.UNAVAILABLE: "not taking calls",
}


def status_text(lamp: LampState, presence: Presence) -> str:
    """One phrase for a contact: "offline", "on a call", "do not disturb", "available" ...

    The lamp decides while the phone is away or busy (:data:`LAMP_WINS`);
    an idle phone shows its presence (:data:`PRESENCE_SAYS`), and with
    none set it is "available"; a lamp Asterisk does not know, with no
    presence, is "status unknown".
    """
    if lamp in LAMP_WINS:
        return LAMP_WINS[lamp]
    if presence in PRESENCE_SAYS:
        return PRESENCE_SAYS[presence]
    return "available" if lamp is LampState.IDLE else "status unknown"
