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

The operator's own softphone.  Given a
:class:`~iaxphone.viewmodels.handset.HandsetModel` (an account is
configured), the bar at the bottom (:mod:`.operator`) is the operator's
own phone: its call, line keys, keypad and call keys, and the call log
with notes (:mod:`.calllog`).  Then a click on a ringing tile picks the
call up at this softphone (directed pickup, ``*8`` + the extension), a
double-click on an idle phone calls it from here, and the operator's own
call dropped on a tile is a blind transfer (Ctrl, or the armed Consult
key: attended), on the parking lot parked, on a tile's voicemail corner
sent to voicemail, on a queue or room tile sent there.  The keyboard path
for the own call is the bar's number field: a number or name, Enter.
Without a handset model the clicks ring the operator's desk phone through
AMI (when an operator extension is known) and the bar says it is a panel.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from PyQt6.QtCore import QEvent, Qt, QTimer
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
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from iaxphone.history import History
from iaxphone.pbx.ami import AmiError
from iaxphone.pbx.capabilities import Facility
from iaxphone.pbx.console import VOICEMAIL_PREFIX, CallRef, ConsoleChanged, ConsoleModel, Tile
from iaxphone.pbx.directory import Kind
from iaxphone.pbx.link import Link
from iaxphone.pbx.models import LampState
from iaxphone.pbx.permissions import Feature
from iaxphone.pbx.supervision import SpyMode
from iaxphone.viewmodels.handset import HandsetModel

from .calllog import CallLogPanel
from .operator import OWN_LINE, OperatorBar
from .panels import ParkingPanel, QueuePanel, RoomPanel
from .style import SHEET
from .tiles import TILE_SPACING, TILE_WIDTH, TileWidget, connect_tile
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

NO_PHONE = "a panel only: this console has no phone of its own to retrieve calls to"

PICKUP_PREFIX = "*8"  # the bundled dialplan: *8NNNN picks up the call ringing NNNN

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
        handset: HandsetModel | None = None,
        history: History | None = None,
    ) -> None:
        super().__init__()
        self.handset = handset
        self.model = model
        self.view = view or ConsoleView(model)
        self.clock = clock
        self.tiles: dict[str, TileWidget] = {}
        self._tasks: set[asyncio.Future[None]] = set()
        self._redraw_due = False
        self._dirty: set[tuple[str, str]] = set()
        self._numbers: set[str] = set()  # the extensions the field was laid out for
        self.setWindowTitle("iaxphone console")
        self._restyling = False
        self.setStyleSheet(SHEET)
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
        left_box.addWidget(scroll, 1)

        self.queues = QueuePanel()
        self.parking = ParkingPanel()
        self.rooms = RoomPanel()
        self.calllog: CallLogPanel | None = None
        if handset is not None and (history or handset.phone.history) is not None:
            self.calllog = CallLogPanel(
                history or handset.phone.history,  # type: ignore[arg-type]
                handset.phone.call_log,
            )
            self.calllog.call_requested.connect(handset.call_or_answer)
            self._phone_events = handset.phone.subscribe(self.calllog.on_phone_event)
        right = QSplitter(Qt.Orientation.Vertical)
        tabs = QTabWidget()
        tabs.addTab(self.rooms, "Rooms")
        if self.calllog is not None:
            tabs.addTab(self.calllog, "My calls")
        self.lower_tabs = tabs
        # What the PBX lacks (its capability probe) is said in the panel, not left blank.
        self.unavailable: dict[Facility, tuple[QLabel, QWidget]] = {}
        for title, panel, shown, facility in (
            ("Queues", self.queues, self.queues, Facility.QUEUES),
            ("Parking", self.parking, self.parking, Facility.PARKING),
            ("", self.rooms, tabs, Facility.CONFERENCE),
        ):
            box = QGroupBox(title)
            inner = QVBoxLayout(box)
            inner.setContentsMargins(4, 4, 4, 4)
            missing = QLabel("")
            missing.setWordWrap(True)
            missing.setVisible(False)
            inner.addWidget(missing, 0, Qt.AlignmentFlag.AlignTop)
            inner.addWidget(shown)
            right.addWidget(box)
            self.unavailable[facility] = (missing, panel)
        right.setSizes([330, 150, 200])

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([950, 330])
        self.field_scroll = scroll

        # The operator's bar: send the selected call somewhere, supervision, status.
        self.target = QLineEdit()
        self.target.setPlaceholderText("number or name, Enter (Ctrl+Enter: consult)")
        self.target.returnPressed.connect(self._send_typed)
        style = self.style()
        assert style is not None
        self.buttons: dict[Feature | SpyMode, QPushButton] = {}
        # The top row: search, then the selected tile's call and what to do with it.
        bar = QHBoxLayout()
        self.search.setMinimumWidth(240)
        bar.addWidget(self.search, 2)
        bar.addSpacing(12)
        bar.addWidget(QLabel("Selected call →"))
        bar.addWidget(self.target, 3)
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

        self.operator_bar = OperatorBar(handset, self.resolve_number)
        self.operator_bar.note.editingFinished.connect(self._note_saved)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 4)
        layout.setSpacing(4)
        layout.addLayout(bar)
        layout.addWidget(split, 1)
        layout.addWidget(self.operator_bar)
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
        self.ticker.timeout.connect(self.operator_bar.tick)
        self.ticker.start(1000)
        self.rebuild()

    # ---------------------------------------------------------------- drawing

    def _on_change(self, event: ConsoleChanged) -> None:
        self._dirty.add((event.panel, event.key))
        if not self._redraw_due:
            self._redraw_due = True
            QTimer.singleShot(0, self._redraw)

    def _redraw(self) -> None:
        """One redraw per event-loop turn, of what changed: the tiles named, the panels named.

        A changed set of extensions lays the field out again; "all" (a resync)
        redraws everything; otherwise only the tiles and panels the model named
        are drawn again (a queue's or a room's change also redraws its tile).
        """
        self._redraw_due = False
        dirty, self._dirty = self._dirty, set()
        if set(self.model.directory) != self._numbers:
            self.rebuild()
            return
        panels = {panel for panel, _key in dirty}
        if "all" in panels or ("tiles", "") in dirty:
            self.refresh_clocks()
            return
        now = self.clock()
        numbers = {key for panel, key in dirty if panel == "tiles"}
        kinds = {Kind.QUEUE} if "queues" in panels else set()
        kinds |= {Kind.ROOM} if "rooms" in panels else set()
        if kinds:
            numbers |= {n for n, e in self.model.directory.items() if e.kind in kinds}
        for number in numbers:
            widget = self.tiles.get(number)
            if widget is not None:
                widget.show_tile(self.model.tile(number), now)
        if "queues" in panels:
            self.queues.show_queues(self.model.queues(), now)
        if "parking" in panels:
            self.parking.show_parking(self.model.parking(), now)
        if "rooms" in panels:
            self.rooms.show_rooms(self.model.rooms(), now)
        if panels & {"link", "supervision"}:
            self._show_status(now)

    def columns(self) -> int:
        viewport = self.field_scroll.viewport()
        width = viewport.width() if viewport is not None else TILE_WIDTH * 4
        return max(1, (width - 8) // (TILE_WIDTH + TILE_SPACING))

    def changeEvent(self, event: QEvent | None) -> None:  # noqa: N802 (Qt's name)
        """The scheme changed (light/dark): style sheets read the palette again."""
        super().changeEvent(event)
        if event is not None and event.type() == QEvent.Type.PaletteChange and not self._restyling:
            self._restyling = True
            try:
                self.setStyleSheet("")
                self.setStyleSheet(SHEET)
                for tile in self.tiles.values():
                    tile.restyle()
                self.refresh_clocks()  # elide the texts again, in the new fonts
            finally:
                self._restyling = False

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
        grid.setSpacing(TILE_SPACING)
        self.tiles = {}
        self.view.columns = columns = self.columns()
        now, row = self.clock(), 0
        for group in self.view.groups():
            title = QLabel(group.name)
            title.setObjectName("groupTitle")
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
        self._numbers = set(self.model.directory)
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
        self._show_status(now)

    def _show_status(self, now: float) -> None:
        """The link, the permissions' greyed keys and the supervision banner."""
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
            if button is self.parking.retrieve_button and self.handset is None:
                missing = missing or NO_PHONE  # "to my phone": a panel has none
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
        tile = self.model.tile(number)
        if self.handset is not None and self._softphone_click(tile, double):
            self.refresh_clocks()
            return
        plan = resolve_click(self.model, tile, double)
        if plan is not None:
            self._carry_out(plan)
        self.refresh_clocks()

    def _softphone_click(self, tile: Tile, double: bool) -> bool:
        """A click the operator's own softphone answers: pick up, or call.  True: handled."""
        handset = self.handset
        assert handset is not None
        if not double and tile.lamp is LampState.RINGING and tile.kind is Kind.PHONE:
            self.say(f"Pick up the call ringing {tile.name} …")
            handset.dial(f"{PICKUP_PREFIX}{tile.number}")
            return True
        if double and tile.kind is not Kind.OTHER and tile.lamp is not LampState.UNAVAILABLE:
            self.say(f"Call {tile.name} ({tile.number}) …")
            handset.dial(tile.number)
            return True
        return False

    def resolve_number(self, typed: str) -> str | None:
        """The operator typed a number or a name: the number (None: why not is on the bar)."""
        typed = typed.strip()
        if not typed or typed.isdigit() or typed.startswith(("*", "#")):
            return typed or None
        found = [t for t in self.model.tiles() if typed.lower() in t.name.lower()]
        if len(found) == 1:
            return found[0].number
        reason = (
            f"nobody is called {typed!r}"
            if not found
            else f"{typed!r} matches {len(found)}: " + ", ".join(t.name for t in found[:4])
        )
        if self.handset is not None:
            self.handset.say(reason)
        self.say(reason)
        return None

    def _own_line(self, payload: str) -> int | None:
        if payload.startswith(OWN_LINE) and payload[len(OWN_LINE) :].isdigit():
            return int(payload[len(OWN_LINE) :])
        return None

    def _note_saved(self) -> None:
        if self.calllog is not None:
            self.calllog.refresh()

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
        line_id = self._own_line(uniqueid)
        if line_id is not None:
            tile = self.model.tile(number)
            if corner and tile.kind is Kind.PHONE:
                self.operator_bar.take_drop(line_id, f"{VOICEMAIL_PREFIX}{number}", False)
            else:
                self.operator_bar.take_drop(line_id, number, consult)
            return
        call = self._call_for(uniqueid)
        if call is None:
            self.say("that call has ended")
            return
        zone = DropZone.VOICEMAIL if corner else DropZone.TILE
        self._carry_out(resolve_drop(self.model, call, zone, self.model.tile(number), consult))

    def _park_dropped(self, uniqueid: str) -> None:
        line_id = self._own_line(uniqueid)
        if line_id is not None and self.handset is not None:
            if self.handset.line is None or self.handset.line.id != line_id:
                self.handset.choose_line(line_id)
            self.handset.park()
            return
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
