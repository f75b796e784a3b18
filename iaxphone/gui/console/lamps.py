"""Lamp icons that differ by shape as well as colour (for colour-blind operators).

idle: a filled green circle; ringing: an amber triangle (a bell's outline);
in use: a red square; busy: a red square with a cross; on hold: two blue
bars (pause); unavailable: a hollow grey circle; unknown: a grey dot.
DND is drawn over the lamp as a bar across it.
"""

from __future__ import annotations

from PyQt6.QtCore import QPointF, QRectF, Qt
from PyQt6.QtGui import QBrush, QColor, QIcon, QPainter, QPen, QPixmap, QPolygonF

from iaxphone.pbx.models import LampState

COLOURS = {
    LampState.IDLE: "#2e9d3a",
    LampState.RINGING: "#e0a000",
    LampState.IN_USE: "#d0342c",
    LampState.BUSY: "#d0342c",
    LampState.ON_HOLD: "#2f6fd0",
    LampState.UNAVAILABLE: "#8a8a8a",
    LampState.UNKNOWN: "#8a8a8a",
}

WORDS = {
    LampState.IDLE: "free",
    LampState.RINGING: "ringing",
    LampState.IN_USE: "on a call",
    LampState.BUSY: "busy",
    LampState.ON_HOLD: "on hold",
    LampState.UNAVAILABLE: "offline",
    LampState.UNKNOWN: "unknown",
}


def lamp_pixmap(lamp: LampState, size: int = 22, dnd: bool = False) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    colour = QColor(COLOURS[lamp])
    m = size * 0.12
    box = QRectF(m, m, size - 2 * m, size - 2 * m)
    painter.setPen(QPen(colour.darker(140), max(1.0, size / 14)))
    painter.setBrush(QBrush(colour))
    if lamp is LampState.IDLE:
        painter.drawEllipse(box)
    elif lamp is LampState.RINGING:
        painter.drawPolygon(
            QPolygonF(
                [
                    QPointF(size / 2, m),
                    QPointF(size - m, size - m),
                    QPointF(m, size - m),
                ]
            )
        )
    elif lamp in (LampState.IN_USE, LampState.BUSY):
        painter.drawRoundedRect(box, size / 8, size / 8)
        if lamp is LampState.BUSY:
            painter.setPen(QPen(QColor("white"), size / 8))
            painter.drawLine(QPointF(size * 0.3, size * 0.3), QPointF(size * 0.7, size * 0.7))
            painter.drawLine(QPointF(size * 0.7, size * 0.3), QPointF(size * 0.3, size * 0.7))
    elif lamp is LampState.ON_HOLD:
        bar = (size - 2 * m) / 3
        painter.drawRect(QRectF(m, m, bar, size - 2 * m))
        painter.drawRect(QRectF(size - m - bar, m, bar, size - 2 * m))
    elif lamp is LampState.UNAVAILABLE:
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(colour, size / 8))
        painter.drawEllipse(box.adjusted(size / 16, size / 16, -size / 16, -size / 16))
    else:
        painter.drawEllipse(box.adjusted(size / 4, size / 4, -size / 4, -size / 4))
    if dnd:  # a no-entry bar: dark edge, white core, visible on light and dark schemes
        painter.setPen(QPen(QColor("#202020"), size / 4))
        painter.drawLine(QPointF(m, size / 2), QPointF(size - m, size / 2))
        painter.setPen(QPen(QColor("#ffffff"), size / 9))
        painter.drawLine(QPointF(m * 1.5, size / 2), QPointF(size - m * 1.5, size / 2))
    painter.end()
    return pixmap


def lamp_icon(lamp: LampState, dnd: bool = False) -> QIcon:
    return QIcon(lamp_pixmap(lamp, 32, dnd))
