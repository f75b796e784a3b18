"""The operator console window: lamps left; queues, parking, rooms right; the operator's bar below.

The window only draws and forwards input.  Every redraw reads the
:class:`~iaxphone.pbx.console.ConsoleModel` snapshots; model changes are
coalesced into one redraw per event-loop turn, and a one-second timer
moves the clocks (talk time, waits, parking).  Input becomes a plan
through the view model (:mod:`iaxphone.gui.console.viewmodel`) and the
plan runs on the asyncio loop; its failure - a call another operator
moved, a missing AMI class, the link being down - is one line in the
status bar, never a dialog or a traceback.

Keys: type in the search box to filter; the arrow keys move the
selection; with a tile's call selected, type a number or name in the
"Send to" box and press Enter; Ctrl+Enter consults instead.  F5/F6/F7
listen, whisper, barge into the selected tile's call.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtGui import QKeyEvent, QKeySequence, QResizeEvent, QShortcut
from PyQt6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from iaxphone.pbx.ami import AmiError
from iaxphone.pbx.capabilities import Facility
from iaxphone.pbx.console import CallRef, ConsoleChanged, ConsoleModel
from iaxphone.pbx.link import Link
from iaxphone.pbx.permissions import Feature
from iaxphone.pbx.supervision import SpyMode

from .panels import ParkingPanel, QueuePanel, RoomPanel
from .tiles import TILE_WIDTH, TileWidget, connect_tile
from .viewmodel import (
    ConsoleView,
    DropZone,
    Key,
    Plan,
    Refusal,
    execute,
    resolve_click,
    resolve_drop,
)

KEYS = {
    Qt.Key.Key_Left: Key.LEFT,
    Qt.Key.Key_Right: Key.RIGHT,
    Qt.Key.Key_Up: Key.UP,
    Qt.Key.Key_Down: Key.DOWN,
    Qt.Key.Key_Home: Key.HOME,
    Qt.Key.Key_End: Key.END,
}


class ConsoleWindow(QMainWindow):
    def __init__(
        self,
        model: ConsoleModel,
        view: ConsoleView | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.model = model
        self.view = view or ConsoleView(model)
        self.clock = clock
        self.tiles: dict[str, TileWidget] = {}
        self._tasks: set[asyncio.Future[None]] = set()
        self._redraw_due = False
        self.setWindowTitle("iaxphone console")
        self.resize(1280, 800)

        self.search = QLineEdit()
        self.search.setPlaceholderText("Search name or number")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter)
        self.field = QWidget()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.field)
        left = QWidget()
        left_box = QVBoxLayout(left)
        left_box.setContentsMargins(0, 0, 0, 0)
        left_box.addWidget(self.search)
        left_box.addWidget(scroll, 1)

        self.queues = QueuePanel()
        self.parking = ParkingPanel()
        self.rooms = RoomPanel()
        right = QSplitter(Qt.Orientation.Vertical)
        # What the PBX lacks (its capability probe) is said in the panel, not left blank.
        self.unavailable: dict[Facility, tuple[QLabel, QWidget]] = {}
        for title, panel, facility in (
            ("Queues", self.queues, Facility.QUEUES),
            ("Parking", self.parking, Facility.PARKING),
            ("Rooms", self.rooms, Facility.CONFERENCE),
        ):
            box = QGroupBox(title)
            inner = QVBoxLayout(box)
            inner.setContentsMargins(4, 4, 4, 4)
            missing = QLabel("")
            missing.setWordWrap(True)
            missing.setVisible(False)
            inner.addWidget(missing, 0, Qt.AlignmentFlag.AlignTop)
            inner.addWidget(panel)
            right.addWidget(box)
            self.unavailable[facility] = (missing, panel)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([880, 400])
        self.field_scroll = scroll

        # The operator's bar: send the selected call somewhere, supervision, status.
        self.target = QLineEdit()
        self.target.setPlaceholderText("Send selected call to: number or name, Enter")
        self.target.returnPressed.connect(self._send_typed)
        style = self.style()
        assert style is not None
        self.buttons: dict[Feature | SpyMode, QPushButton] = {}
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Selected call →"))
        bar.addWidget(self.target, 1)
        for feature, label, icon in (
            (Feature.PARK, "Park", QStyle.StandardPixmap.SP_DialogSaveButton),
            (Feature.DIAL, "Call", QStyle.StandardPixmap.SP_DialogYesButton),
            (SpyMode.LISTEN, "Listen", QStyle.StandardPixmap.SP_MediaVolume),
            (SpyMode.WHISPER, "Whisper", QStyle.StandardPixmap.SP_MessageBoxInformation),
            (SpyMode.BARGE, "Barge", QStyle.StandardPixmap.SP_MessageBoxWarning),
        ):
            button = QPushButton(label)
            button.setIcon(style.standardIcon(icon))
            bar.addWidget(button)
            self.buttons[feature] = button
        self.buttons[Feature.PARK].clicked.connect(self._park_selected)
        self.buttons[Feature.DIAL].clicked.connect(self._call_selected)
        for mode in SpyMode:
            self.buttons[mode].clicked.connect(lambda _c=False, m=mode: self._supervise(m))
        self.banner = QLabel()
        self.banner.setStyleSheet(
            "font-weight: 700; color: white; background: #b02020; padding: 2px 8px;"
        )
        self.banner.hide()
        self.status = QLabel()
        self.link = QLabel()
        status = QHBoxLayout()
        status.addWidget(self.link)
        status.addWidget(self.banner)
        status.addWidget(self.status, 1)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(split, 1)
        layout.addLayout(bar)
        layout.addLayout(status)
        self.setCentralWidget(central)

        self.queues.take.connect(self._take_caller)
        self.queues.pause.connect(self._pause_member)
        self.queues.add_member.connect(lambda q, n: self._run(self.model.queue_add(q, n)))
        self.queues.remove_member.connect(lambda q, n: self._run(self.model.queue_remove(q, n)))
        self.parking.retrieve.connect(lambda slot: self._run(self._retrieve(slot)))
        self.parking.park_dropped.connect(self._park_dropped)
        self.rooms.mute.connect(lambda r, u, m: self._run(self.model.room_mute(r, u, m)))
        self.rooms.kick.connect(lambda r, u: self._run(self.model.room_kick(r, u)))
        self.rooms.lock.connect(lambda r, on: self._run(self.model.room_lock(r, on)))
        self.rooms.record.connect(lambda r, on: self._run(self.model.room_record(r, on)))
        for shortcut, mode in (
            (Qt.Key.Key_F5, SpyMode.LISTEN),
            (Qt.Key.Key_F6, SpyMode.WHISPER),
            (Qt.Key.Key_F7, SpyMode.BARGE),
        ):
            QShortcut(QKeySequence(shortcut), self, lambda m=mode: self._supervise(m))
        QShortcut(QKeySequence("Ctrl+F"), self, self.search.setFocus)

        model.subscribe(self._on_change)
        self.ticker = QTimer(self)
        self.ticker.timeout.connect(self.refresh_clocks)
        self.ticker.start(1000)
        self.rebuild()

    # ---------------------------------------------------------------- drawing

    def _on_change(self, event: ConsoleChanged) -> None:
        if not self._redraw_due:
            self._redraw_due = True
            QTimer.singleShot(0, self._redraw)

    def _redraw(self) -> None:
        self._redraw_due = False
        numbers = [t.number for t in self.view.visible()]
        if set(numbers) != set(self.tiles):
            self.rebuild()
        else:
            self.refresh_clocks()

    def columns(self) -> int:
        viewport = self.field_scroll.viewport()
        width = viewport.width() if viewport is not None else TILE_WIDTH * 4
        return max(1, (width - 8) // (TILE_WIDTH + 6))

    def resizeEvent(self, event: QResizeEvent | None) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        if self.tiles and self.columns() != self.view.columns:
            self.rebuild()

    def rebuild(self) -> None:
        """Lay the tile field out again (the set of tiles, the filter or the width changed).

        One grid for every group (a title row spanning the columns, then its
        tiles), in a fresh widget: fixed-size tiles in one grid are never
        squeezed, the scroll area scrolls instead.
        """
        field = QWidget()
        grid = QGridLayout(field)
        grid.setContentsMargins(4, 4, 4, 4)
        grid.setSpacing(6)
        self.tiles = {}
        self.view.columns = columns = self.columns()
        now, row = self.clock(), 0
        for group in self.view.groups():
            title = QLabel(group.name)
            title.setStyleSheet("font-size: 11pt; font-weight: 700;")
            grid.addWidget(title, row, 0, 1, columns)
            row += 1
            for index, tile in enumerate(group.tiles):
                widget = TileWidget(tile)
                widget.show_tile(tile, now)
                connect_tile(widget, self._clicked, self._dropped)
                widget.set_selected(tile.number == self.view.selected)
                self.tiles[tile.number] = widget
                grid.addWidget(widget, row + index // columns, index % columns)
            row += (len(group.tiles) + columns - 1) // columns
        grid.setRowStretch(row, 1)
        grid.setColumnStretch(columns, 1)
        self.field_scroll.setWidget(field)  # the scroll area deletes the old field
        self.field = field
        self.refresh_clocks()

    def refresh_clocks(self) -> None:
        """Redraw every tile and panel from the snapshots (the clocks move)."""
        now = self.clock()
        for number, widget in self.tiles.items():
            if number in self.model.directory:
                widget.show_tile(self.model.tile(number), now)
                widget.set_selected(number == self.view.selected)
        self.queues.show_queues(self.model.queues(), now)
        self.parking.show_parking(self.model.parking(), now)
        self.rooms.show_rooms(self.model.rooms(), now)
        self._show_link(now)
        self._show_permissions()
        self._show_facilities()
        session = self.model.supervision
        self.banner.setVisible(session is not None and session.live)
        if session is not None:
            self.banner.setText(f"● {session.banner}")

    def _show_link(self, now: float) -> None:
        link = self.model.link
        if link.state is Link.ONLINE:
            self.link.setText("● PBX online")
            self.link.setStyleSheet("color: #2e9d3a; font-weight: 600;")
        else:
            since = time.strftime("%H:%M:%S", time.localtime(link.since)) if link.since else "start"
            self.link.setText(f"▲ PBX {link.state.value} since {since}")
            self.link.setStyleSheet("color: #d0342c; font-weight: 700;")

    def _show_facilities(self) -> None:
        for facility, (label, panel) in self.unavailable.items():
            why = self.model.client.why_not(facility)
            label.setText(why or "")
            label.setVisible(why is not None)
            panel.setVisible(why is None)

    def _show_permissions(self) -> None:
        keys: list[tuple[Feature, QPushButton]] = [
            (Feature.SUPERVISE if isinstance(key, SpyMode) else key, button)
            for key, button in self.buttons.items()
        ]
        keys += [
            (Feature.REDIRECT, self.queues.take_button),
            (Feature.QUEUE_PAUSE, self.queues.pause_button),
            (Feature.QUEUE_ADD, self.queues.add_button),
            (Feature.QUEUE_REMOVE, self.queues.remove_button),
            (Feature.REDIRECT, self.parking.retrieve_button),
            (Feature.ROOM_MUTE, self.rooms.mute_button),
            (Feature.ROOM_KICK, self.rooms.kick_button),
            (Feature.ROOM_LOCK, self.rooms.lock_button),
            (Feature.ROOM_RECORD, self.rooms.record_button),
        ]
        for feature, button in keys:
            missing = self.model.allowed(feature)
            if feature is Feature.PARK:  # no res_parking is not a missing AMI class
                missing = self.model.client.why_not(Facility.PARKING) or missing
            button.setEnabled(missing is None)
            button.setToolTip(missing or "")

    # ---------------------------------------------------------------- input

    def keyPressEvent(self, event: QKeyEvent | None) -> None:  # noqa: N802 (Qt's name)
        if event is not None and event.key() in KEYS:
            self.view.columns = self.columns()
            self.view.move(KEYS[Qt.Key(event.key())])
            self.refresh_clocks()
            return
        super().keyPressEvent(event)

    def _filter(self, text: str) -> None:
        self.view.set_filter(text)
        self.rebuild()

    def _clicked(self, number: str, double: bool) -> None:
        self.view.select(number)
        plan = resolve_click(self.model, self.model.tile(number), double)
        if plan is not None:
            self._carry_out(plan)
        self.refresh_clocks()

    def _selected_call(self) -> CallRef | None:
        number = self.view.selected
        return self.model.tile(number).call if number in self.model.directory else None

    def _call_for(self, uniqueid: str) -> CallRef | None:
        """The call with this Uniqueid, from wherever the drag started."""
        for tile in self.model.tiles():
            if tile.call is not None and tile.call.uniqueid == uniqueid:
                return tile.call
        for queue in self.model.queues():
            if queue.caller(uniqueid) is not None:
                return self.model.queue_caller_ref(queue.name, uniqueid)
        for parked in self.model.parking():
            if parked.uniqueid == uniqueid:
                return self.model.parked_ref(parked.slot)
        channel = self.model.channels.channels.get(uniqueid)
        return self.model.ref(channel, "the caller") if channel is not None else None

    def _dropped(self, uniqueid: str, number: str, corner: bool, consult: bool) -> None:
        call = self._call_for(uniqueid)
        if call is None:
            self.say("that call has ended")
            return
        zone = DropZone.VOICEMAIL if corner else DropZone.TILE
        self._carry_out(resolve_drop(self.model, call, zone, self.model.tile(number), consult))

    def _park_dropped(self, uniqueid: str) -> None:
        call = self._call_for(uniqueid)
        if call is not None:
            self._carry_out(resolve_drop(self.model, call, DropZone.PARKING))

    def _send_typed(self) -> None:
        call = self._selected_call()
        if call is None:
            self.say("select a tile with a call first")
            return
        self._carry_out(self.view.resolve_typed(call, self.target.text()))
        self.target.clear()

    def _park_selected(self) -> None:
        call = self._selected_call()
        if call is None:
            self.say("select a tile with a call first")
            return
        self._carry_out(resolve_drop(self.model, call, DropZone.PARKING))

    def _call_selected(self) -> None:
        number = self.view.selected
        if number in self.model.directory:
            self._carry_out(resolve_click(self.model, self.model.tile(number), True))

    def _supervise(self, mode: SpyMode) -> None:
        call = self._selected_call()
        number = self.view.selected
        if call is None or number is None:
            self.say("select a tile with a live call to supervise")
            return
        self._run(self.model.supervise(call, mode, number))

    def _take_caller(self, queue: str, uniqueid: str) -> None:
        try:
            self._run(self.model.take(self.model.queue_caller_ref(queue, uniqueid)))
        except AmiError as exc:
            self.say(str(exc))

    def _pause_member(self, queue: str, interface: str, paused: bool) -> None:
        number = interface.rsplit("/", 1)[-1]
        reason = "by the operator" if paused else ""
        self._run(self.model.queue_pause(number, paused, reason, queue))

    async def _retrieve(self, slot: str) -> None:
        await self.model.take(self.model.parked_ref(slot))

    def _carry_out(self, plan: Plan | Refusal | None) -> None:
        if plan is None:
            return
        if isinstance(plan, Refusal):
            self.say(plan.reason)
            return
        self.say(plan.description + " …")
        self._run(execute(self.model, plan), done=plan.description)

    def _run(self, work: Awaitable[object], done: str = "") -> None:
        async def run() -> None:
            try:
                await work
            except AmiError as exc:
                self.say(str(exc))
            else:
                if done:
                    self.say(f"{done}: done")

        with contextlib.suppress(RuntimeError):  # no running loop: a test without qasync
            task = asyncio.ensure_future(run())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def say(self, text: str) -> None:
        self.status.setText(text)
