"""The console window's view model: groups, search, keyboard selection, drops.  No Qt here.

Theory of operation
-------------------
:class:`ConsoleView` turns the :class:`~iaxphone.pbx.console.ConsoleModel`
snapshots into what the window draws and decides what input means:

* **Groups.**  Tiles are grouped by department (the operator's own
  ``departments`` table; otherwise phones under "Office", then "Queues"
  and "Rooms"), in number order within a group.
* **Search.**  ``set_filter("bo")`` keeps the tiles whose name or number
  contains the text (case-insensitive); the selection moves to the first
  tile left when its own is filtered out.
* **Keyboard.**  ``move(Key.RIGHT)`` and friends walk the visible tiles as
  the grid lays them out (``columns`` per row), across groups.
* **Drops.**  :func:`resolve_drop` maps "drop call X on target Y" to one
  :class:`Plan` (transfer, attended transfer, park, voicemail, queue,
  room, take) or a :class:`Refusal` with the reason; the same plans come
  from the keyboard path (select a call, type a number or name, Enter:
  :meth:`ConsoleView.resolve_typed`).  A plan whose feature the AMI user
  lacks is refused with the tooltip naming the class.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from iaxphone.pbx.console import CallRef, ConsoleModel, Tile
from iaxphone.pbx.directory import Kind
from iaxphone.pbx.models import LampState
from iaxphone.pbx.permissions import Feature

GROUP_ORDER_LAST = ("Queues", "Rooms")


@dataclass(frozen=True)
class Group:
    name: str
    tiles: tuple[Tile, ...]


class Key(enum.Enum):
    LEFT = "left"
    RIGHT = "right"
    UP = "up"
    DOWN = "down"
    HOME = "home"
    END = "end"


class PlanKind(enum.Enum):
    TRANSFER = "transfer"
    ATTENDED = "attended transfer"
    PARK = "park"
    VOICEMAIL = "voicemail"
    QUEUE = "queue"
    ROOM = "room"
    TAKE = "take"
    PICKUP = "pick up"
    CALL = "call"


PLAN_FEATURE = {
    PlanKind.TRANSFER: Feature.REDIRECT,
    PlanKind.ATTENDED: Feature.ATTENDED_TRANSFER,
    PlanKind.PARK: Feature.PARK,
    PlanKind.VOICEMAIL: Feature.REDIRECT,
    PlanKind.QUEUE: Feature.REDIRECT,
    PlanKind.ROOM: Feature.REDIRECT,
    PlanKind.TAKE: Feature.REDIRECT,
    PlanKind.PICKUP: Feature.DIAL,
    PlanKind.CALL: Feature.DIAL,
}


@dataclass(frozen=True)
class Plan:
    kind: PlanKind
    call: CallRef | None
    target: str  # the number (extension, queue, room, mailbox) or "" for park/take
    description: str  # "Transfer 6004's caller to Bob Baker (6002)"

    @property
    def feature(self) -> Feature:
        return PLAN_FEATURE[self.kind]


@dataclass(frozen=True)
class Refusal:
    reason: str


class DropZone(enum.Enum):
    """Where on the screen a call was dropped, besides a tile."""

    TILE = "tile"
    VOICEMAIL = "voicemail"  # the voicemail corner of a tile
    PARKING = "parking"  # the parking lot panel
    OPERATOR = "operator"  # the operator's own call area


def resolve_drop(
    model: ConsoleModel,
    call: CallRef,
    zone: DropZone,
    target: Tile | None = None,
    consult: bool = False,
) -> Plan | Refusal:
    """What dropping ``call`` on ``zone`` (and ``target`` tile) does."""
    if zone is DropZone.PARKING:
        plan = Plan(PlanKind.PARK, call, "", f"Park {call.label}")
    elif zone is DropZone.OPERATOR:
        if model.operator is None:
            return Refusal("this console has no phone of its own")
        plan = Plan(PlanKind.TAKE, call, model.operator, f"Take {call.label} at your phone")
    elif target is None:
        return Refusal("drop it on an extension, a queue, a room or the parking lot")
    elif zone is DropZone.VOICEMAIL:
        if target.kind is not Kind.PHONE:
            return Refusal(f"{target.name} has no voicemail")
        plan = Plan(
            PlanKind.VOICEMAIL,
            call,
            target.number,
            f"Send {call.label} to {target.name}'s voicemail",
        )
    elif target.kind is Kind.QUEUE:
        plan = Plan(PlanKind.QUEUE, call, target.number, f"Queue {call.label} in {target.name}")
    elif target.kind is Kind.ROOM:
        plan = Plan(PlanKind.ROOM, call, target.number, f"Put {call.label} into {target.name}")
    elif call.place.kind == "bridge" and call.place.with_whom == target.number:
        return Refusal(f"{call.label} is already talking to {target.name}")
    elif call.channel.rsplit("-", 1)[0] == f"IAX2/{target.number}":
        return Refusal(f"{call.label} is {target.name} itself")
    elif consult:
        # The operator consults from their own phone (the handset's transfer);
        # a call on someone else's phone has nobody at the console to consult.
        return Refusal(
            f"attended transfer of {call.label} is not offered: "
            "take the call first, or transfer it blind"
        )
    else:
        description = f"Transfer {call.label} to {target.name} ({target.number})"
        plan = Plan(PlanKind.TRANSFER, call, target.number, description)
    missing = model.allowed(plan.feature)
    return Refusal(missing) if missing is not None else plan


def resolve_click(model: ConsoleModel, tile: Tile, double: bool) -> Plan | Refusal | None:
    """Click a ringing tile: pick it up; double-click an idle phone: call it."""
    if not double and tile.lamp is LampState.RINGING and tile.call is not None:
        plan = Plan(
            PlanKind.PICKUP, tile.call, tile.number, f"Pick up the call ringing {tile.name}"
        )
    elif double and tile.kind is Kind.PHONE and tile.lamp is not LampState.UNAVAILABLE:
        plan = Plan(PlanKind.CALL, None, tile.number, f"Call {tile.name} ({tile.number})")
    else:
        return None
    missing = model.allowed(plan.feature)
    return Refusal(missing) if missing is not None else plan


async def execute(model: ConsoleModel, plan: Plan) -> None:
    """Carry a plan out (CallMovedError, AmiError: one line for the status bar)."""
    call = plan.call
    if plan.kind is PlanKind.CALL:
        await model.call(plan.target)
    elif plan.kind is PlanKind.PICKUP:
        await model.pickup(plan.target)
    elif call is None:
        raise ValueError(f"{plan.kind.value} needs a call")
    elif plan.kind is PlanKind.PARK:
        await model.park(call)
    elif plan.kind is PlanKind.TAKE:
        await model.take(call)
    elif plan.kind is PlanKind.VOICEMAIL:
        await model.to_voicemail(call, plan.target)
    else:
        await model.transfer(call, plan.target)


def matches(tile: Tile, text: str) -> bool:
    needle = text.strip().lower()
    return not needle or needle in tile.name.lower() or needle in tile.number


class ConsoleView:
    def __init__(
        self, model: ConsoleModel, departments: Mapping[str, Sequence[str]] | None = None
    ) -> None:
        self.model = model
        self.departments = dict(departments or model.departments)
        self.filter = ""
        self.selected: str | None = None
        self.columns = 6

    def department(self, tile: Tile) -> str:
        for name, numbers in self.departments.items():
            if tile.number in numbers:
                return name
        return {Kind.QUEUE: "Queues", Kind.ROOM: "Rooms"}.get(tile.kind, "Office")

    def groups(self) -> list[Group]:
        grouped: dict[str, list[Tile]] = {name: [] for name in self.departments}
        for tile in self.model.tiles():
            if matches(tile, self.filter):
                grouped.setdefault(self.department(tile), []).append(tile)

        def order(name: str) -> tuple[int, int]:
            if name in GROUP_ORDER_LAST:
                return (1, GROUP_ORDER_LAST.index(name))
            names = list(self.departments)
            return (0, names.index(name) if name in names else len(names))

        return [
            Group(name, tuple(sorted(tiles, key=lambda t: (len(t.number), t.number))))
            for name, tiles in sorted(grouped.items(), key=lambda item: order(item[0]))
            if tiles
        ]

    def visible(self) -> list[Tile]:
        return [tile for group in self.groups() for tile in group.tiles]

    def set_filter(self, text: str) -> None:
        self.filter = text
        numbers = [t.number for t in self.visible()]
        if self.selected not in numbers:
            self.selected = numbers[0] if numbers else None

    def select(self, number: str | None) -> None:
        self.selected = number

    def move(self, key: Key) -> str | None:
        """Move the selection as the grid shows the tiles; the number now selected."""
        rows: list[list[str]] = []
        for group in self.groups():  # each group starts a new row
            numbers = [t.number for t in group.tiles]
            rows += [numbers[i : i + self.columns] for i in range(0, len(numbers), self.columns)]
        flat = [n for row in rows for n in row]
        if not flat:
            self.selected = None
            return None
        if self.selected not in flat:
            self.selected = flat[0]
            return self.selected
        row_index = next(i for i, row in enumerate(rows) if self.selected in row)
        column = rows[row_index].index(self.selected)
        if key is Key.LEFT:
            self.selected = flat[max(0, flat.index(self.selected) - 1)]
        elif key is Key.RIGHT:
            self.selected = flat[min(len(flat) - 1, flat.index(self.selected) + 1)]
        elif key in (Key.UP, Key.DOWN):
            step = -1 if key is Key.UP else 1
            target = min(max(0, row_index + step), len(rows) - 1)
            self.selected = rows[target][min(column, len(rows[target]) - 1)]
        elif key is Key.HOME:
            self.selected = flat[0]
        else:
            self.selected = flat[-1]
        return self.selected

    def resolve_typed(self, call: CallRef, text: str, consult: bool = False) -> Plan | Refusal:
        """The keyboard path: a call is selected, the operator types a number or a name."""
        typed = text.strip()
        if not typed:
            return Refusal("type a number or a name")
        tiles = self.model.tiles()
        if typed.lower() in ("park", "p"):
            return resolve_drop(self.model, call, DropZone.PARKING)
        if typed.startswith("*9") and typed[2:] in self.model.directory:
            return resolve_drop(
                self.model, call, DropZone.VOICEMAIL, self.model.tile(typed[2:]), consult
            )
        exact = [t for t in tiles if t.number == typed]
        found = exact or [t for t in tiles if typed.lower() in t.name.lower()]
        if len(found) == 1:
            return resolve_drop(self.model, call, DropZone.TILE, found[0], consult)
        if not found:
            if typed.isdigit() or typed.startswith("*"):  # a number the PBX has but no tile
                plan = Plan(PlanKind.TRANSFER, call, typed, f"Transfer {call.label} to {typed}")
                missing = self.model.allowed(plan.feature)
                return Refusal(missing) if missing is not None else plan
            return Refusal(f"nobody is called {typed!r}")
        names = ", ".join(t.name for t in found[:4])
        return Refusal(f"{typed!r} matches {len(found)}: {names}")
