"""Suggestions while a number is typed: contacts and history, matched by number and name.

Theory of operation
-------------------
The handset's number field asks :func:`suggest` for the entries
(:class:`Suggestion`: the PBX directory's contacts, then the numbers in the
call history) that match what is typed so far, best first.  A match ranks
by where it matched:

====  =====================================  ==========================
rank  typed text ...                         example (typed ``al``/``60``)
====  =====================================  ==========================
0     is the start of the number             ``6001``
1     is the start of a word of the name     ``Alice Archer``, ``Sal Al``
2     is inside the number                   ``1600``
3     is inside the name                     ``Sally``
====  =====================================  ==========================

Within a rank contacts come before history and the order given is kept;
a number appears once (its first entry wins, so a contact's name beats an
older history name).  Matching ignores case and, for numbers, spaces and
dashes.

What Enter dials (:func:`dial_choice`) is keyboard-first but never
surprising: the suggestion picked with the arrow keys if there is one;
else the text itself when it is already something to dial (digits,
``*#+``, or an address with ``:``, ``@`` or ``.``), so typing ``600`` and
Enter calls 600 even while 6001 is suggested; else (a name was typed) the
top suggestion; else the text as typed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

LIMIT = 6  # suggestions shown at most
DIALLABLE = re.compile(r"^[0-9*#+][0-9*#+ -]*$")


@dataclass(frozen=True)
class Suggestion:
    number: str
    name: str
    source: str  # "contact" or "history"

    @property
    def text(self) -> str:
        """How the list shows it: ``6001  Alice Archer``."""
        return f"{self.number}  {self.name}" if self.name else self.number


def _digits(text: str) -> str:
    return text.replace(" ", "").replace("-", "")


def rank(entry: Suggestion, typed: str) -> int | None:
    """Where ``typed`` matches ``entry`` (the table above), or None."""
    number, wanted = _digits(entry.number).lower(), _digits(typed).lower()
    name, words = entry.name.lower(), entry.name.lower().split()
    text = typed.strip().lower()
    if wanted and number.startswith(wanted):
        return 0
    if text and any(word.startswith(text) for word in words):
        return 1
    if wanted and wanted in number:
        return 2
    if text and text in name:
        return 3
    return None


def suggest(
    entries: Iterable[Suggestion], typed: str, limit: int = LIMIT
) -> tuple[Suggestion, ...]:
    """The entries matching ``typed``, best first, each number once (see above)."""
    if not typed.strip():
        return ()
    seen: set[str] = set()
    ranked: list[tuple[int, int, int, Suggestion]] = []
    for order, entry in enumerate(entries):
        if entry.number in seen:
            continue
        seen.add(entry.number)
        where = rank(entry, typed)
        if where is not None:
            ranked.append((where, entry.source != "contact", order, entry))
    ranked.sort(key=lambda row: row[:3])
    return tuple(row[3] for row in ranked[:limit])


def is_diallable(typed: str) -> bool:
    """Already something to dial: digits and ``*#+``, or an address (``:``, ``@``, ``.``)."""
    text = typed.strip()
    return bool(DIALLABLE.match(text)) or any(mark in text for mark in ":@.")


def dial_choice(typed: str, shown: tuple[Suggestion, ...], picked: int = -1) -> str:
    """What Enter dials: the picked suggestion, the text if diallable, the top match, the text."""
    if 0 <= picked < len(shown):
        return shown[picked].number
    if is_diallable(typed) or not shown:
        return typed.strip()
    return shown[0].number


def entries_from(
    contacts: Iterable[tuple[str, str]], history: Iterable[tuple[str, str]]
) -> list[Suggestion]:
    """Contacts (number, name) then history (number, name), as :func:`suggest` takes them."""
    made = [Suggestion(number, name, "contact") for number, name in contacts]
    made += [Suggestion(number, name, "history") for number, name in history if number]
    return made
