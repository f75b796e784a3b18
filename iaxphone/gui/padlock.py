"""The handset's padlock icon: closed for an encrypted call, open for one in clear.

The platform's icon theme is asked first (Qt's "security-high" and
"security-low" theme icons); a machine without a theme gets a padlock drawn
here (a body and a shackle, the shackle lifted and swung open for "open"),
so the icon is always there.
"""

from __future__ import annotations

from PyQt6.QtCore import QRectF, Qt
from PyQt6.QtGui import QColor, QIcon, QPainter, QPen, QPixmap

SIZE = 16


def _drawn(open_: bool) -> QIcon:
    pixmap = QPixmap(SIZE * 2, SIZE * 2)  # drawn at 2x, scaled by Qt as needed
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    colour = QColor("#b35c00") if open_ else QColor("#2e7d32")
    painter.setPen(QPen(colour, 3.0))
    lift = 6.0 if open_ else 0.0
    shackle = QRectF(9.0, 3.0 - lift, 14.0, 16.0)
    # An open shackle is lifted and has its right leg free (drawn as an arc only).
    painter.drawArc(shackle, 0, 180 * 16)
    painter.drawLine(9, int(11 - lift), 9, 16)
    if not open_:
        painter.drawLine(23, 11, 23, 16)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colour)
    painter.drawRoundedRect(QRectF(5.0, 15.0, 22.0, 15.0), 3.0, 3.0)
    painter.end()
    return QIcon(pixmap)


def padlock_icon(open_: bool) -> QIcon:
    """The closed (encrypted) or open (in clear) padlock."""
    theme = QIcon.ThemeIcon.SecurityLow if open_ else QIcon.ThemeIcon.SecurityHigh
    icon = QIcon.fromTheme(theme)
    return icon if not icon.isNull() else _drawn(open_)


def padlock_pixmap(state: str) -> QPixmap:
    """The pixmap for a HandsetView.padlock value ("closed", "open"; "" none)."""
    if state not in ("closed", "open"):
        return QPixmap()
    return padlock_icon(state == "open").pixmap(SIZE, SIZE)
