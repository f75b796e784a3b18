"""The handset's padlock icon: closed for an encrypted call, open for one in clear.

Both are Material Design Icons glyphs (:mod:`.icons`), drawn by qtawesome
from the font it ships, so the padlock is there on any machine (the text
glyph it replaced rendered as an empty box where no font had it): green
closed for AES-128, amber open for a call left in clear although
encryption was allowed.
"""

from __future__ import annotations

from PyQt6.QtGui import QIcon, QPixmap

from .icons import icon

SIZE = 18
CLOSED_COLOUR = "#2e7d32"
OPEN_COLOUR = "#c26100"


def padlock_icon(open_: bool) -> QIcon:
    """The closed (encrypted) or open (in clear) padlock."""
    if open_:
        return icon("lock open", OPEN_COLOUR)
    return icon("lock closed", CLOSED_COLOUR)


def padlock_pixmap(state: str) -> QPixmap:
    """The pixmap for a HandsetView.padlock value ("closed", "open"; "" none)."""
    if state not in ("closed", "open"):
        return QPixmap()
    return padlock_icon(state == "open").pixmap(SIZE, SIZE)
