"""The busy-lamp field: one tile per extension, grouped, with drag and drop.

A tile draws a :class:`~iaxphone.pbx.console.Tile` snapshot and forwards
input: a click or double-click, a drag of the tile's call (the MIME data
carries the call's Uniqueid), a drop on the tile (its right-hand third is
the voicemail corner).  What the input means is the view model's business
(:mod:`iaxphone.gui.console.viewmodel`).
"""

from __future__ import annotations

from collections.abc import Callable

from PyQt6.QtCore import QMimeData, Qt, pyqtSignal
from PyQt6.QtGui import QDrag, QDragEnterEvent, QDropEvent, QMouseEvent
from PyQt6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from iaxphone.pbx.console import Tile
from iaxphone.pbx.directory import Kind

from .lamps import WORDS, lamp_pixmap

MIME_CALL = "application/x-iaxphone-call"  # the dragged call's Uniqueid
TILE_WIDTH = 144
TILE_HEIGHT = 44
TILE_SPACING = 4


def duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"


def timer_text(tile: Tile, now: float) -> str:
    """How long the tile's call has lasted ("" when it has none)."""
    return "" if tile.talking_since is None else duration(now - tile.talking_since)


def status_text(tile: Tile, now: float) -> str:
    """The tile's second line: who it talks to (or who rings it), else its state."""
    if tile.talking_to and (tile.talking_since is not None or tile.kind is not Kind.PHONE):
        return tile.talking_to
    if tile.talking_to:
        return f"← {tile.talking_to}"
    parts = [WORDS[tile.lamp]]
    if tile.dnd:
        parts = ["DND"]  # short: the note after it gets the room
    if tile.note:
        parts.append(tile.note)
    return " · ".join(parts)


class TileWidget(QFrame):
    clicked = pyqtSignal(str, bool)  # number, double
    dropped = pyqtSignal(str, str, bool, bool)  # uniqueid, number, voicemail corner, consult

    def __init__(self, tile: Tile, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFixedSize(TILE_WIDTH, TILE_HEIGHT)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        # Line 1: the lamp and the name, which gets the whole width;
        # line 2: the number, who it talks to (or its state) and the timer.
        self.lamp = QLabel()
        self.name = QLabel()
        self.name.setObjectName("tileName")
        self.number = QLabel()
        self.number.setObjectName("tileNumber")
        self.status = QLabel()
        self.status.setObjectName("tileStatus")
        self.timer = QLabel()
        self.timer.setObjectName("tileTimer")
        self.voicemail = QLabel()
        self.voicemail.setObjectName("tileVoicemail")
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.setSpacing(4)
        top.addWidget(self.lamp)
        top.addWidget(self.name, 1)
        top.addWidget(self.voicemail)
        box = QVBoxLayout(self)
        box.setContentsMargins(5, 3, 5, 3)
        box.setSpacing(1)
        box.addLayout(top)
        bottom = QHBoxLayout()
        bottom.setContentsMargins(0, 0, 0, 0)
        bottom.setSpacing(4)
        bottom.addWidget(self.number)
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.timer)
        box.addLayout(bottom)
        self.tile = tile
        self.selected = False
        self._look: tuple[bool, bool] | None = None  # the style sheet applied (see _style)
        self.show_tile(tile, 0.0)

    def show_tile(self, tile: Tile, now: float) -> None:
        self.tile = tile
        self.lamp.setPixmap(lamp_pixmap(tile.lamp, 18, tile.dnd))
        self.lamp.setToolTip(WORDS[tile.lamp] + (", do not disturb" if tile.dnd else ""))
        mail = f"✉{tile.voicemail_new}" if tile.voicemail_new else ""
        self.voicemail.setText(mail)
        self.voicemail.setToolTip(f"{tile.voicemail_new} new voicemail messages" if mail else "")
        # margins, frame and border; the lamp; the spacing; the voicemail count
        used = 16 + 18 + 4 + (_advance(self.voicemail, mail) + 4 if mail else 0)
        self.name.setText(_elided(self.name, tile.name, TILE_WIDTH - used))
        self.name.setToolTip(f"{tile.name} ({tile.number})")
        # Who it talks to matters more than its own number while in a call (the
        # number stays in the tooltip, and tiles are in number order).
        self.number.setText("" if tile.talking_to else tile.number)
        self.number.setVisible(not tile.talking_to)
        timer = timer_text(tile, now)
        self.timer.setText(timer)
        status = status_text(tile, now)
        room = TILE_WIDTH - 16 - (0 if tile.talking_to else _advance(self.number, tile.number) + 4)
        room -= _advance(self.timer, timer) + 4 if timer else 0
        self.setToolTip(f"{tile.name} ({tile.number}): {status}")
        self.status.setText(_elided(self.status, status, room))
        self.status.setToolTip(status)
        self._style()

    def set_selected(self, selected: bool) -> None:
        self.selected = selected
        self._style()

    def restyle(self) -> None:
        """Apply the style sheet again (the palette changed)."""
        self._look = None
        self.setStyleSheet("")
        self._style()

    def _style(self) -> None:
        look = (self.selected, self.tile.kind is Kind.PHONE)
        if look == self._look:
            return  # a style sheet change restyles the tile: only when it changed
        self._look = look
        border = "2px solid palette(highlight)" if self.selected else "1px solid palette(mid)"
        background = (
            "palette(alternate-base)" if self.tile.kind is not Kind.PHONE else "palette(base)"
        )
        self.setStyleSheet(
            f"TileWidget {{ border: {border}; border-radius: 6px; background: {background}; }}"
        )

    # input -> signals
    def mousePressEvent(self, event: QMouseEvent | None) -> None:  # noqa: N802 (Qt's name)
        if event is not None and event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position()
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent | None) -> None:  # noqa: N802
        if event is not None and event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(self.tile.number, False)
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent | None) -> None:  # noqa: N802
        self.clicked.emit(self.tile.number, True)

    def mouseMoveEvent(self, event: QMouseEvent | None) -> None:  # noqa: N802
        if event is None or self.tile.call is None:
            return
        if not event.buttons() & Qt.MouseButton.LeftButton:
            return
        if (event.position() - getattr(self, "_press", event.position())).manhattanLength() < 8:
            return
        start_drag(self, self.tile.call.uniqueid, self.grab())

    def dragEnterEvent(self, event: QDragEnterEvent | None) -> None:  # noqa: N802
        if event is not None and event.mimeData() and event.mimeData().hasFormat(MIME_CALL):  # type: ignore[union-attr]
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent | None) -> None:  # noqa: N802
        if event is None or event.mimeData() is None:
            return
        uniqueid = bytes(event.mimeData().data(MIME_CALL).data()).decode()  # type: ignore[union-attr]
        corner = event.position().x() > self.width() * 2 / 3
        consult = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        self.dropped.emit(uniqueid, self.tile.number, corner, consult)
        event.acceptProposedAction()


def _advance(label: QLabel, text: str) -> int:
    """The width ``text`` takes in ``label``'s font (its style sheet's, once polished)."""
    label.ensurePolished()
    return label.fontMetrics().horizontalAdvance(text)


def _elided(label: QLabel, text: str, width: int) -> str:
    label.ensurePolished()
    return label.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, max(8, width))


def start_drag(source: QWidget, uniqueid: str, picture: object) -> None:
    data = QMimeData()
    data.setData(MIME_CALL, uniqueid.encode())
    drag = QDrag(source)
    drag.setMimeData(data)
    if hasattr(picture, "scaledToWidth"):
        drag.setPixmap(picture.scaledToWidth(120))
    drag.exec(Qt.DropAction.MoveAction)


def connect_tile(
    widget: TileWidget,
    on_click: Callable[[str, bool], None],
    on_drop: Callable[[str, str, bool, bool], None],
) -> None:
    widget.clicked.connect(on_click)
    widget.dropped.connect(on_drop)
