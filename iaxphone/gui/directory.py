"""The contacts panel: every office extension with its busy lamp and presence.

Theory of operation
-------------------
The panel reads :class:`~iaxphone.pbx.ami.PbxClient`'s model
(``pbx.state.extensions``, filled by the client's re-sync after each AMI
login) and subscribes to its events: :class:`~iaxphone.pbx.ami.Resynced`
rebuilds the list, :class:`~iaxphone.pbx.ami.LampChanged` and
:class:`~iaxphone.pbx.ami.PresenceChanged` update one row,
:class:`~iaxphone.pbx.ami.LinkChanged` greys the list while the link is
down (the client reconnects by itself).  qasync runs the asyncio loop
inside Qt's, so these events arrive on the GUI thread.

AMI knows numbers, not people: names come from whoever builds the panel
(``names``, e.g. from the call history) and :meth:`DirectoryPanel.set_name`.

Activating a contact (double-click or Enter) emits ``call_requested`` with
its number.  Contacts drag out as :data:`MIME_TYPE` (and plain text);
:class:`TransferDropTarget` is an event filter the handset installs on its
call display: dropping a contact there emits ``transfer_requested``.

Without AMI (``pbx=None``) the panel is disabled and says so plainly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from PyQt6 import sip
from PyQt6.QtCore import QEvent, QMimeData, QObject, Qt, pyqtSignal
from PyQt6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QIcon,
    QPainter,
    QPixmap,
)
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from iaxphone.pbx.ami import (
    LampChanged,
    LinkChanged,
    PbxClient,
    PbxEvent,
    PresenceChanged,
    Resynced,
)
from iaxphone.pbx.directory import status_text
from iaxphone.pbx.models import Extension, LampState

MIME_TYPE = "application/x-iaxphone-extension"
NO_AMI = "presence needs AMI (--ami)"
NUMBER_ROLE = Qt.ItemDataRole.UserRole

LAMP_COLOURS = {
    LampState.IDLE: "#2e9d46",
    LampState.RINGING: "#e0a400",
    LampState.IN_USE: "#d33b2c",
    LampState.BUSY: "#8b1a10",
    LampState.ON_HOLD: "#3d6fd6",
    LampState.UNAVAILABLE: "#8a8a8a",
    LampState.UNKNOWN: "#8a8a8a",
}


def lamp_icon(lamp: LampState, size: int = 14) -> QIcon:
    """A round lamp in the lamp's colour."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor(LAMP_COLOURS[lamp]))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(1, 1, size - 2, size - 2)
    painter.end()
    return QIcon(pixmap)


def contact_mime(number: str) -> QMimeData:
    """What a dragged contact carries: its number as MIME_TYPE and as plain text."""
    mime = QMimeData()
    mime.setData(MIME_TYPE, number.encode())
    mime.setText(number)
    return mime


def number_from_mime(mime: QMimeData | None) -> str | None:
    if mime is None or not mime.hasFormat(MIME_TYPE):
        return None
    return bytes(mime.data(MIME_TYPE).data()).decode(errors="replace") or None


class ContactList(QListWidget):
    """The list itself: a drag source of contacts."""

    def __init__(self) -> None:
        super().__init__()
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)

    def mimeTypes(self) -> list[str]:  # noqa: N802 (Qt's name)
        return [MIME_TYPE, "text/plain"]

    def mimeData(self, items: Iterable[QListWidgetItem]) -> QMimeData:  # noqa: N802 (Qt)
        numbers = [str(item.data(NUMBER_ROLE)) for item in items]
        return contact_mime(numbers[0] if numbers else "")


class DirectoryPanel(QWidget):
    """Extensions with lamps and presence; ``call_requested(number)`` on activation."""

    call_requested = pyqtSignal(str)

    def __init__(
        self,
        pbx: PbxClient | None,
        names: Mapping[str, str] | None = None,
        *,
        no_ami_reason: str = NO_AMI,
    ) -> None:
        super().__init__()
        self.pbx = pbx
        self.names: dict[str, str] = dict(names or {})
        self.items: dict[str, QListWidgetItem] = {}
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("filter: number, name or state")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.apply_filter)
        self.contacts = ContactList()
        self.contacts.itemActivated.connect(self._activated)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.filter)
        layout.addWidget(self.contacts)
        if pbx is None:
            self.status.setText(no_ami_reason)
            self.filter.setEnabled(False)
            self.contacts.setEnabled(False)
            return
        pbx.subscribe(self.on_event)
        self.rebuild()

    # ------------------------------------------------------------------ model -> rows

    def rebuild(self) -> None:
        """All rows again from the client's state (after a re-sync)."""
        assert self.pbx is not None
        self.contacts.clear()
        self.items.clear()
        extensions = self.pbx.state.extensions
        for number in sorted(extensions, key=_sort_key):
            item = QListWidgetItem()
            item.setData(NUMBER_ROLE, number)
            self.contacts.addItem(item)
            self.items[number] = item
            self._show(extensions[number])
        self.status.setText(f"{len(extensions)} extensions")
        self.apply_filter()

    def _show(self, extension: Extension) -> None:
        item = self.items.get(extension.number)
        if item is None:
            self.rebuild()  # a hint we did not know: take the whole list again
            return
        name = self.names.get(extension.number, "")
        status = status_text(extension.lamp, extension.presence)
        item.setText(f"{extension.number}  {name}".rstrip() + f"  —  {status}")
        item.setIcon(lamp_icon(extension.lamp))
        item.setToolTip(f"{extension.hint}\ndouble-click to call, drag onto a call to transfer")

    def lamp_of(self, number: str) -> LampState | None:
        if self.pbx is None or number not in self.pbx.state.extensions:
            return None
        return self.pbx.state.extensions[number].lamp

    def set_name(self, number: str, name: str) -> None:
        self.names[number] = name
        if self.pbx is not None and number in self.pbx.state.extensions:
            self._show(self.pbx.state.extensions[number])
            self.apply_filter()

    def on_event(self, event: PbxEvent) -> None:
        if self.pbx is None or sip.isdeleted(self):
            return  # the client outlived the panel (it has no unsubscribe)
        if isinstance(event, Resynced):
            self.contacts.setEnabled(True)
            self.rebuild()
        elif isinstance(event, LampChanged | PresenceChanged):
            extension = self.pbx.state.extensions.get(event.number)
            if extension is not None:
                self._show(extension)
                self.apply_filter()
        elif isinstance(event, LinkChanged):
            if event.up:
                self.status.setText("AMI link back: reading the lamps again")
            else:
                self.contacts.setEnabled(False)
                self.status.setText("AMI link lost: reconnecting (lamps may be stale)")

    # ------------------------------------------------------------------ user

    def apply_filter(self) -> None:
        wanted = self.filter.text().strip().lower()
        for item in self.items.values():
            item.setHidden(bool(wanted) and wanted not in item.text().lower())

    def visible_numbers(self) -> list[str]:
        return [number for number, item in self.items.items() if not item.isHidden()]

    def _activated(self, item: QListWidgetItem) -> None:
        self.call_requested.emit(str(item.data(NUMBER_ROLE)))


def _sort_key(number: str) -> tuple[int, int, str]:
    return (0, int(number), "") if number.isdigit() else (1, 0, number)


class TransferDropTarget(QObject):
    """Makes a widget (the handset's call display) accept dropped contacts.

    ``TransferDropTarget(widget, can_transfer)`` installs itself as the
    widget's event filter; a contact dropped while ``can_transfer()`` holds
    emits ``transfer_requested(number)``.  Other drops pass through.
    """

    transfer_requested = pyqtSignal(str)

    def __init__(self, widget: QWidget, can_transfer: Callable[[], bool] = lambda: True) -> None:
        super().__init__(widget)
        self.widget = widget
        self.can_transfer = can_transfer
        widget.setAcceptDrops(True)
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject | None, event: QEvent | None) -> bool:  # noqa: N802
        if watched is not self.widget or event is None:
            return False
        if isinstance(event, QDragEnterEvent | QDragMoveEvent):
            if number_from_mime(event.mimeData()) and self.can_transfer():
                event.acceptProposedAction()
                return True
            event.ignore()
            return False
        if isinstance(event, QDropEvent):
            number = number_from_mime(event.mimeData())
            if number and self.can_transfer():
                event.acceptProposedAction()
                self.transfer_requested.emit(number)
                return True
        return False
