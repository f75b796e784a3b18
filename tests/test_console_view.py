"""The console window's view model (no Qt): groups, search, keys, drops and typed targets."""

from __future__ import annotations

from iaxphone.gui.console.viewmodel import (
    ConsoleView,
    DropZone,
    Key,
    Plan,
    PlanKind,
    Refusal,
    resolve_click,
    resolve_drop,
)
from iaxphone.pbx.ami import LinkChanged, PbxClient, Resynced
from iaxphone.pbx.console import CallRef, ConsoleModel, Place
from iaxphone.pbx.directory import build
from iaxphone.pbx.models import Extension, LampState
from iaxphone.pbx.permissions import Permissions
from tests.test_console_models import Clock, feed, talking

PHONES = {
    "6001": "Alice Archer",
    "6002": "Bob Baker",
    "6003": "Carol Cole",
    "6004": "Dave Dunn",
    "6005": "Erin East",
    "6006": "Bobby Brown",
    "6010": "Reception",
}


def office(departments: dict[str, list[str]] | None = None) -> tuple[PbxClient, ConsoleModel]:
    client = PbxClient("127.0.0.1", 1, "operator", "unused", clock=Clock())
    model = ConsoleModel(client, operator="6010", departments=departments)
    hints = {n: f"IAX2/{n},CustomPresence:{n}" for n in PHONES}
    hints |= {"610": "Queue:sales_avail", "800": "confbridge:800"}
    for number, hint in hints.items():
        client.state.extensions[number] = Extension(number, "office", hint, LampState.IDLE)
    model.directory = build(hints, [], [], PHONES, "office")
    model.permissions = Permissions.everything()
    model._on_pbx(LinkChanged(True))
    model._on_pbx(Resynced(len(hints), 0))
    return client, model


def call_on(model: ConsoleModel, client: PbxClient, number: str) -> CallRef:
    talking(client, ("IAX2/6005-1", "e"), (f"IAX2/{number}-2", "x"), "B1")
    ref = model.tile(number).call
    assert ref is not None
    return ref


def test_groups_follow_departments_then_queues_and_rooms() -> None:
    _client, model = office({"Sales": ["6001", "6002"], "Front": ["6010"]})
    view = ConsoleView(model)
    groups = [(g.name, [t.number for t in g.tiles]) for g in view.groups()]
    assert groups == [
        ("Sales", ["6001", "6002"]),
        ("Front", ["6010"]),
        ("Office", ["6003", "6004", "6005", "6006"]),
        ("Queues", ["610"]),
        ("Rooms", ["800"]),
    ]


def test_search_filters_by_name_or_number_and_keeps_a_selection() -> None:
    _client, model = office()
    view = ConsoleView(model)
    view.select("6004")
    view.set_filter("bob")
    assert [t.number for t in view.visible()] == ["6002", "6006"]
    assert view.selected == "6002"  # 6004 is filtered out: the first match is selected
    view.set_filter("10")
    assert [t.number for t in view.visible()] == ["6010", "610"]
    view.set_filter("nobody here")
    assert view.visible() == [] and view.selected is None


def test_arrow_keys_walk_the_grid_across_groups() -> None:
    _client, model = office({"Sales": ["6001", "6002", "6003"]})
    view = ConsoleView(model)
    view.columns = 2  # Sales: [6001 6002] [6003]; Office: [6004 6005] [6006 6010] ...
    assert view.move(Key.RIGHT) == "6001"  # nothing selected yet: the first tile
    assert view.move(Key.RIGHT) == "6002"
    assert view.move(Key.DOWN) == "6003"  # the row below has one tile
    assert view.move(Key.DOWN) == "6004"  # into the next group
    assert view.move(Key.RIGHT) == "6005"
    assert view.move(Key.UP) == "6003"
    assert view.move(Key.END) == "800"
    assert view.move(Key.HOME) == "6001"
    assert view.move(Key.LEFT) == "6001"


def test_drops_resolve_to_one_action_each() -> None:
    client, model = office()
    ref = call_on(model, client, "6004")
    tiles = {t.number: t for t in model.tiles()}
    cases = {
        (DropZone.PARKING, None): (PlanKind.PARK, ""),
        (DropZone.OPERATOR, None): (PlanKind.TAKE, "6010"),
        (DropZone.TILE, "6002"): (PlanKind.TRANSFER, "6002"),
        (DropZone.TILE, "610"): (PlanKind.QUEUE, "610"),
        (DropZone.TILE, "800"): (PlanKind.ROOM, "800"),
        (DropZone.VOICEMAIL, "6003"): (PlanKind.VOICEMAIL, "6003"),
    }
    for (zone, number), (kind, target) in cases.items():
        plan = resolve_drop(model, ref, zone, tiles.get(number or ""))
        assert isinstance(plan, Plan), (zone, number, plan)
        assert (plan.kind, plan.target, plan.call) == (kind, target, ref)
    plan = resolve_drop(model, ref, DropZone.TILE, tiles["6002"])
    assert (
        isinstance(plan, Plan) and plan.description == "Transfer 6004's caller to Bob Baker (6002)"
    )
    refused = resolve_drop(model, ref, DropZone.VOICEMAIL, tiles["610"])
    assert refused == Refusal("Queue sales has no voicemail")
    already = resolve_drop(model, ref, DropZone.TILE, tiles["6004"])
    assert already == Refusal("6004's caller is already talking to Dave Dunn")
    itself = resolve_drop(model, ref, DropZone.TILE, tiles["6005"])
    assert itself == Refusal("6004's caller is Erin East itself")
    consult = resolve_drop(model, ref, DropZone.TILE, tiles["6002"], consult=True)
    assert isinstance(consult, Refusal) and "take the call first" in consult.reason


def test_a_drop_the_ami_user_may_not_send_names_the_class() -> None:
    client, model = office()
    ref = call_on(model, client, "6004")
    model.permissions = Permissions(frozenset({"Park"}))
    refused = resolve_drop(model, ref, DropZone.TILE, model.tile("6002"))
    assert refused == Refusal("move a call needs the AMI class call")
    assert isinstance(resolve_drop(model, ref, DropZone.PARKING), Plan)


def test_typed_targets_by_number_name_or_park() -> None:
    client, model = office()
    view = ConsoleView(model)
    ref = call_on(model, client, "6004")
    plan = view.resolve_typed(ref, "carol")
    assert isinstance(plan, Plan) and (plan.kind, plan.target) == (PlanKind.TRANSFER, "6003")
    plan = view.resolve_typed(ref, "610")
    assert isinstance(plan, Plan) and plan.kind is PlanKind.QUEUE
    plan = view.resolve_typed(ref, "park")
    assert isinstance(plan, Plan) and plan.kind is PlanKind.PARK
    plan = view.resolve_typed(ref, "*96003")
    assert isinstance(plan, Plan) and (plan.kind, plan.target) == (PlanKind.VOICEMAIL, "6003")
    plan = view.resolve_typed(ref, "600")  # the echo test: no tile, still a number
    assert isinstance(plan, Plan) and (plan.kind, plan.target) == (PlanKind.TRANSFER, "600")
    ambiguous = view.resolve_typed(ref, "bob")
    assert ambiguous == Refusal("'bob' matches 2: Bob Baker, Bobby Brown")
    assert view.resolve_typed(ref, "zed") == Refusal("nobody is called 'zed'")


def test_click_a_ringing_tile_double_click_an_idle_one() -> None:
    client, model = office()
    feed(
        client,
        {
            "Event": "Newchannel",
            "Channel": "IAX2/6001-7",
            "Uniqueid": "a",
            "Linkedid": "L9",
            "ChannelStateDesc": "Up",
        },
    )
    feed(
        client,
        {
            "Event": "Newchannel",
            "Channel": "IAX2/6003-8",
            "Uniqueid": "c",
            "Linkedid": "L9",
            "ChannelStateDesc": "Ringing",
            "ConnectedLineNum": "6001",
            "ConnectedLineName": "Alice Archer",
        },
    )
    feed(client, {"Event": "ExtensionStatus", "Exten": "6003", "Context": "office", "Status": "8"})
    ringing = model.tile("6003")
    assert ringing.lamp is LampState.RINGING and ringing.talking_to == "Alice Archer <6001>"
    plan = resolve_click(model, ringing, double=False)
    assert isinstance(plan, Plan) and (plan.kind, plan.target) == (PlanKind.PICKUP, "6003")
    plan = resolve_click(model, model.tile("6002"), double=True)
    assert isinstance(plan, Plan) and (plan.kind, plan.target) == (PlanKind.CALL, "6002")
    assert resolve_click(model, model.tile("6002"), double=False) is None
    panel = ConsoleModel(client, operator=None)
    panel.permissions = Permissions.everything()
    panel.directory = model.directory
    refused = resolve_click(panel, model.tile("6002"), double=True)
    assert isinstance(refused, Refusal) and "no phone of its own" in refused.reason
    assert Place("bridge") != Place("queue")


def test_queue_and_room_tiles_show_what_waits_inside() -> None:
    client, model = office()
    assert (model.tile("610").lamp, model.tile("610").talking_to) == (LampState.IDLE, "")
    join = {"Event": "QueueCallerJoin", "Queue": "sales", "Channel": "IAX2/6001-1"}
    feed(client, {**join, "Uniqueid": "q1", "Position": "1", "CallerIDNum": "6001"})
    assert (model.tile("610").lamp, model.tile("610").talking_to) == (
        LampState.RINGING,
        "1 waiting",
    )
    feed(
        client,
        {
            "Event": "ConfbridgeJoin",
            "Conference": "800",
            "Channel": "IAX2/6002-2",
            "Uniqueid": "r1",
        },
    )
    assert (model.tile("800").lamp, model.tile("800").talking_to) == (
        LampState.IN_USE,
        "1 in the room",
    )
