"""The right-hand panels: queues, the parking lot, conference rooms.

Each panel redraws from the model's frozen snapshots (``show``) and sends
what the operator does back as a signal; the window turns signals into
model actions.  Waiting callers and parked calls can be dragged onto a
tile; a call dropped on the parking panel is parked.
"""

from __future__ import annotations

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QDragEnterEvent, QDropEvent
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStyle,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from iaxphone.pbx.conference import Room
from iaxphone.pbx.models import ParkedCall
from iaxphone.pbx.queues import MemberStatus, Queue

from .tiles import MIME_CALL, duration, start_drag

ROLE_ID = Qt.ItemDataRole.UserRole  # the Uniqueid of a caller, participant or parked call
ROLE_KEY = Qt.ItemDataRole.UserRole + 1  # the queue, slot, room or member interface


class DragTree(QTreeWidget):
    """A tree whose rows with a Uniqueid can be dragged onto a tile."""

    def __init__(self, headers: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHeaderLabels(headers)
        self.setRootIsDecorated(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setDragEnabled(True)
        self.setUniformRowHeights(True)
        self.setIndentation(12)

    def clear(self) -> None:
        """Empty the tree for a redraw; the row selected now is selected again by ``reselect``."""
        item = self.currentItem()
        self._kept = (item.data(0, ROLE_ID), item.data(0, ROLE_KEY)) if item is not None else None
        super().clear()

    def reselect(self) -> None:
        """Select again the row that was selected before ``clear`` (if it is still there)."""
        kept = getattr(self, "_kept", None)
        if kept is None:
            return
        stack = [self.topLevelItem(i) for i in range(self.topLevelItemCount())]
        while stack:
            item = stack.pop()
            if item is None:
                continue
            if (item.data(0, ROLE_ID), item.data(0, ROLE_KEY)) == kept:
                self.setCurrentItem(item)
                return
            stack += [item.child(i) for i in range(item.childCount())]

    def startDrag(self, actions: Qt.DropAction) -> None:  # noqa: N802 (Qt's name)
        item = self.currentItem()
        uniqueid = item.data(0, ROLE_ID) if item is not None else None
        if uniqueid:
            start_drag(self, str(uniqueid), None)


class QueuePanel(QWidget):
    take = pyqtSignal(str, str)  # queue, uniqueid
    pause = pyqtSignal(str, str, bool)  # queue, member interface, paused
    add_member = pyqtSignal(str, str)  # queue, extension
    remove_member = pyqtSignal(str, str)  # queue, extension

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = DragTree(["Queue · caller", "Wait / state", "Number / calls"])
        self.take_button = QPushButton("Take caller")
        style = self.style()
        assert style is not None
        self.take_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_ArrowDown))
        self.pause_button = QPushButton("Pause / resume")
        self.pause_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MediaPause))
        self.member = QLineEdit()
        self.member.setPlaceholderText("ext")
        self.member.setMaximumWidth(70)
        self.add_button = QPushButton("Add")
        self.add_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_FileDialogNewFolder))
        self.remove_button = QPushButton("Remove")
        self.remove_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_TrashIcon))
        buttons = QHBoxLayout()
        buttons.addWidget(self.take_button)
        buttons.addWidget(self.pause_button)
        members = QHBoxLayout()
        members.addWidget(QLabel("Member:"))
        members.addWidget(self.member)
        members.addWidget(self.add_button)
        members.addWidget(self.remove_button)
        members.addStretch(1)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.tree)
        box.addLayout(buttons)
        box.addLayout(members)
        self.take_button.clicked.connect(self._take)
        self.pause_button.clicked.connect(self._pause)
        self.add_button.clicked.connect(self._add)
        self.remove_button.clicked.connect(self._remove)

    def selected_queue(self) -> str:
        """The queue of the selected row (its head, a caller or a member)."""
        item = self.tree.currentItem()
        key = str(item.data(0, ROLE_KEY) or "") if item is not None else ""
        return key.split("|", 1)[0]

    def _add(self) -> None:
        queue, number = self.selected_queue(), self.member.text().strip()
        if queue and number:
            self.add_member.emit(queue, number)

    def _remove(self) -> None:
        queue = self.selected_queue()
        item = self.tree.currentItem()
        key = str(item.data(0, ROLE_KEY) or "") if item is not None else ""
        number = key.split("|")[1].rsplit("/", 1)[-1] if key.count("|") == 2 else ""
        number = self.member.text().strip() or number
        if queue and number:
            self.remove_member.emit(queue, number)

    def show_queues(self, queues: list[Queue], now: float) -> None:
        self.tree.clear()
        for queue in queues:
            head = QTreeWidgetItem(
                [
                    f"{queue.name}  ({queue.waiting} waiting)",
                    f"longest {duration(queue.longest_wait(now))}",
                    f"✔{queue.answered} ✖{queue.abandoned} {queue.service_level:.0f}%",
                ]
            )
            head.setToolTip(
                2,
                f"answered {queue.answered}, abandoned {queue.abandoned}, "
                f"{queue.service_level:.0f} % answered within {queue.service_level_s} s",
            )
            head.setData(0, ROLE_KEY, queue.name)
            self.tree.addTopLevelItem(head)
            # The queue's figures on one line across the columns: they set no column's width.
            head.setFirstColumnSpanned(True)
            longest = duration(queue.longest_wait(now))
            head.setText(
                0,
                f"{queue.name}: {queue.waiting} waiting, longest {longest}"
                f"  ✔{queue.answered} ✖{queue.abandoned} {queue.service_level:.0f}%",
            )
            head.setToolTip(0, head.toolTip(2))
            for caller in queue.callers:
                # The name and the number in columns of their own: neither is cut off.
                name = caller.caller_name or caller.caller_number or "unknown"
                row = QTreeWidgetItem(
                    [
                        f"#{caller.position} {name}",
                        duration(caller.waited(now)),
                        caller.caller_number,
                    ]
                )
                full = f"{caller.caller_name} <{caller.caller_number}>".strip()
                for column in range(3):
                    row.setToolTip(column, f"#{caller.position} {full}, drag it onto a tile")
                row.setData(0, ROLE_ID, caller.uniqueid)
                row.setData(0, ROLE_KEY, queue.name)
                head.addChild(row)
            for member in queue.members:
                if not member.logged_in:
                    state = "logged out"
                elif member.paused:
                    state = f"paused: {member.paused_reason}" if member.paused_reason else "paused"
                elif member.in_call or member.status is MemberStatus.IN_USE:
                    state = "in a call"
                elif member.status in (MemberStatus.UNKNOWN, MemberStatus.IDLE):
                    state = "available"  # an IAX2 peer's device state is often "unknown"
                else:
                    state = member.status.name.lower().replace("_", " ")
                row = QTreeWidgetItem([f"  {member.name}", state, f"{member.calls_taken} calls"])
                row.setData(0, ROLE_KEY, f"{queue.name}|{member.interface}|{int(member.paused)}")
                head.addChild(row)
            head.setExpanded(True)
        for column in range(3):
            self.tree.resizeColumnToContents(column)
        self.tree.reselect()

    def _take(self) -> None:
        item = self.tree.currentItem()
        if item is not None and item.data(0, ROLE_ID):
            self.take.emit(str(item.data(0, ROLE_KEY)), str(item.data(0, ROLE_ID)))

    def _pause(self) -> None:
        item = self.tree.currentItem()
        key = str(item.data(0, ROLE_KEY) or "") if item is not None else ""
        if key.count("|") == 2:
            queue, interface, paused = key.split("|")
            self.pause.emit(queue, interface, paused != "1")


class ParkingPanel(QWidget):
    retrieve = pyqtSignal(str)  # slot
    park_dropped = pyqtSignal(str)  # uniqueid dropped here

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = DragTree(["Slot", "Caller", "By", "Parked", "Back"])
        self.tree.setRootIsDecorated(False)
        self.setAcceptDrops(True)
        self.retrieve_button = QPushButton("Retrieve to my phone")
        style = self.style()
        assert style is not None
        self.retrieve_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_DialogApplyButton))
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.tree)
        box.addWidget(self.retrieve_button)
        self.retrieve_button.clicked.connect(self._retrieve)

    def show_parking(self, parked: list[ParkedCall], now: float) -> None:
        self.tree.clear()
        for call in parked:
            back = call.rings_back_in(now)
            row = QTreeWidgetItem(
                [
                    call.slot,
                    f"{call.caller_name} <{call.caller_number}>",
                    call.parked_by_number,
                    duration(call.parked_for(now)),
                    "never" if back is None else duration(back),
                ]
            )
            row.setData(0, ROLE_ID, call.uniqueid)
            row.setData(0, ROLE_KEY, call.slot)
            self.tree.addTopLevelItem(row)
        for column in range(5):
            self.tree.resizeColumnToContents(column)
        self.tree.reselect()

    def _retrieve(self) -> None:
        item = self.tree.currentItem()
        if item is not None:
            self.retrieve.emit(str(item.data(0, ROLE_KEY)))

    def dragEnterEvent(self, event: QDragEnterEvent | None) -> None:  # noqa: N802
        if event is not None and event.mimeData() and event.mimeData().hasFormat(MIME_CALL):  # type: ignore[union-attr]
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent | None) -> None:  # noqa: N802
        if event is not None and event.mimeData() is not None:
            data = event.mimeData().data(MIME_CALL).data()  # type: ignore[union-attr]
            self.park_dropped.emit(bytes(data).decode())
            event.acceptProposedAction()


class RoomPanel(QWidget):
    mute = pyqtSignal(str, str, bool)  # room, uniqueid, muted
    kick = pyqtSignal(str, str)
    lock = pyqtSignal(str, bool)
    record = pyqtSignal(str, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = DragTree(["Room / participant", "State", "Joined"])
        style = self.style()
        assert style is not None
        self.mute_button = QPushButton("Mute")
        self.mute_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MediaVolumeMuted))
        self.kick_button = QPushButton("Kick")
        self.kick_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_DialogCancelButton))
        self.lock_button = QPushButton("Lock")
        self.lock_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_DialogNoButton))
        self.record_button = QPushButton("Record")
        self.record_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_DialogSaveButton))
        buttons = QHBoxLayout()
        for button in (self.mute_button, self.kick_button, self.lock_button, self.record_button):
            buttons.addWidget(button)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.tree)
        box.addLayout(buttons)
        self._rooms: dict[str, Room] = {}
        self.mute_button.clicked.connect(self._mute)
        self.kick_button.clicked.connect(self._kick)
        self.lock_button.clicked.connect(self._lock)
        self.record_button.clicked.connect(self._record)

    def show_rooms(self, rooms: list[Room], now: float) -> None:
        self._rooms = {room.name: room for room in rooms}
        self.tree.clear()
        for room in rooms:
            flags = [f"{len(room.participants)} in"]
            if room.locked:
                flags.append("locked")
            if room.recording:
                flags.append("● recording")
            head = QTreeWidgetItem([f"Room {room.name}", " · ".join(flags), ""])
            head.setData(0, ROLE_KEY, room.name)
            self.tree.addTopLevelItem(head)
            for person in room.participants:
                state = ["muted" if person.muted else "", "talking" if person.talking else ""]
                row = QTreeWidgetItem(
                    [
                        f"{person.caller_name} <{person.caller_number}>",
                        " · ".join(s for s in state if s) or "listening",
                        duration(now - person.joined_at),
                    ]
                )
                row.setData(0, ROLE_ID, person.uniqueid)
                row.setData(0, ROLE_KEY, room.name)
                head.addChild(row)
            head.setExpanded(True)
        for column in range(3):
            self.tree.resizeColumnToContents(column)
        self.tree.reselect()

    def _selected(self) -> tuple[str, str]:
        item = self.tree.currentItem()
        if item is None:
            return "", ""
        return str(item.data(0, ROLE_KEY) or ""), str(item.data(0, ROLE_ID) or "")

    def _mute(self) -> None:
        room, uniqueid = self._selected()
        known = self._rooms.get(room)
        person = known.participant(uniqueid) if known is not None else None
        if person is not None:
            self.mute.emit(room, uniqueid, not person.muted)

    def _kick(self) -> None:
        room, uniqueid = self._selected()
        if room and uniqueid:
            self.kick.emit(room, uniqueid)

    def _lock(self) -> None:
        room, _uniqueid = self._selected()
        if room in self._rooms:
            self.lock.emit(room, not self._rooms[room].locked)

    def _record(self) -> None:
        room, _uniqueid = self._selected()
        if room in self._rooms:
            self.record.emit(room, not self._rooms[room].recording)
