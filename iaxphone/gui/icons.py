"""The window's icons: Material Design Icons through qtawesome, in the scheme's colours.

Theory of operation
-------------------
Every key, the padlock and the tray draw a glyph of the Material Design
Icons font that qtawesome ships (``mdi6.*``), so no icon depends on the
desktop's icon theme (a bare X server has none) nor on a font that may lack
the glyph.  :data:`GLYPHS` names the glyph for each use; :func:`icon` makes
the QIcon in a colour: the palette's button text by default (so it follows
light and dark), or a fixed one for a key that has its own colour (the
green call key, the red hang-up key).  Checked keys get the palette's
highlight colour for their "on" state, so Hold, Mute, DND and Record show
that they are engaged even without a frame.
"""

from __future__ import annotations

import qtawesome as qta
from PyQt6.QtGui import QColor, QIcon, QPalette
from PyQt6.QtWidgets import QApplication

# What each icon shows (the mdi6 glyph names of qtawesome).
GLYPHS = {
    "call": "mdi6.phone",
    "answer": "mdi6.phone-incoming",
    "hang up": "mdi6.phone-hangup",
    "hold": "mdi6.pause-circle-outline",
    "mute": "mdi6.microphone-off",
    "dnd": "mdi6.minus-circle-outline",
    "transfer": "mdi6.phone-forward",
    "consult": "mdi6.account-voice",
    "complete": "mdi6.check-circle-outline",
    "cancel": "mdi6.close-circle-outline",
    "park": "mdi6.parking",
    "flash": "mdi6.flash-outline",
    "conference": "mdi6.account-group",
    "record": "mdi6.record-circle-outline",
    "compact": "mdi6.arrow-collapse-vertical",
    "line": "mdi6.phone-in-talk",
    "lock closed": "mdi6.lock",
    "lock open": "mdi6.lock-open-variant",
    "registered": "mdi6.phone-check",
    "not registered": "mdi6.phone-off",
    "missed": "mdi6.phone-missed",
    "voicemail": "mdi6.voicemail",
    "show": "mdi6.window-restore",
    "quit": "mdi6.exit-to-app",
    "settings": "mdi6.cog",
    "level": "mdi6.microphone-outline",
    "up": "mdi6.arrow-up",
    "down": "mdi6.arrow-down",
    "ok": "mdi6.check",
}


def _palette() -> QPalette:
    app = QApplication.instance()
    return app.palette() if isinstance(app, QApplication) else QPalette()


def icon(name: str, colour: str | None = None) -> QIcon:
    """The icon for ``name`` (a key of :data:`GLYPHS`), in ``colour`` or the palette's."""
    palette = _palette()
    normal = QColor(colour) if colour else palette.color(QPalette.ColorRole.ButtonText)
    disabled = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText)
    on = palette.color(QPalette.ColorRole.Highlight)
    result: QIcon = qta.icon(
        GLYPHS[name],
        color=normal,
        color_disabled=disabled,
        color_on=on if colour is None else normal,
        color_on_active=on if colour is None else normal,
    )
    return result
