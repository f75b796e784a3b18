"""The same checks against the PBXes offices run, each started by docker/pbx.

- bundled: asterisk-conf/ (the `pbx` fixture);
- stock: Debian's asterisk-config samples plus one IAX2 peer block and the
  AMI users (tests/pbx-configs/stock-add);
- lean: the same without res_parking, app_queue and app_confbridge;
- freepbx: tests/pbx-configs/freepbx, a dialplan after FreePBX's conventions.

Each runs on ports the OS hands out, as instance "<yours>-<name>".  What a
configuration lacks is checked as lacking: a clear message, exit 9, no
traceback.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from PyQt6.QtWidgets import QApplication

from benchmarks.asterisk_client import free_port
from iaxphone.cli import exitcodes
from iaxphone.gui.console.window import ConsoleWindow
from iaxphone.gui.directory import DirectoryPanel
from iaxphone.pbx.ami import AmiUnsupportedError, PbxClient, PresenceChanged
from iaxphone.pbx.capabilities import Facility
from iaxphone.pbx.console import ConsoleModel
from iaxphone.pbx.directory import Kind
from iaxphone.pbx.dnd import DndMechanism
from iaxphone.pbx.models import LampState, Presence
from iaxphone.pbx.names import pbx_names
from iaxphone.pbx.permissions import Feature
from tests.ami import AmiWatcher
from tests.guiloop import run_on_qt_loop, screenshot
from tests.pbx import PROJECT, Pbx, run_pbx, sibling_instance
from tests.phones import answered_call, call_from, phone
from tests.require import in_ci
from tests.test_cli_pbx import finish, iaxphone_pbx, start_cli

pytestmark = pytest.mark.pbx

CONFIGS = PROJECT / "tests" / "pbx-configs"


@dataclass(frozen=True)
class Office:
    """One configuration of the matrix, and what the tests expect of it."""

    name: str
    pbx: Pbx
    echo: str  # the echo test's number
    context: str  # the phones' dialplan context, as iaxphone should find it
    phones_dial_phones: bool  # the dialplan routes 6001 -> 6002
    parking: bool
    dnd: DndMechanism
    names: dict[str, str]  # number -> the name a contact list should show


SETUPS: dict[str, dict[str, str]] = {
    "stock": {"IAXPHONE_PBX_CONF": "stock", "IAXPHONE_PBX_CONF_ADD": str(CONFIGS / "stock-add")},
    "lean": {
        "IAXPHONE_PBX_CONF": "stock",
        "IAXPHONE_PBX_CONF_ADD": str(CONFIGS / "stock-lean-add"),
    },
    "freepbx": {"IAXPHONE_PBX_CONF": "freepbx"},
}


@pytest.fixture(scope="session", params=["bundled", "stock", "lean", "freepbx"])
def office(request: pytest.FixtureRequest) -> Iterator[Office]:
    name = request.param
    if name == "bundled":
        pbx = request.getfixturevalue("pbx")
        yield Office(
            name, pbx, "600", "office", True, True, DndMechanism.PRESENCE, {"6001": "Alice Archer"}
        )
        return
    iax, ami, tls = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_STREAM), 0
    tls = free_port(socket.SOCK_STREAM)
    env = {
        **SETUPS[name],
        "IAXPHONE_PBX_INSTANCE": sibling_instance(f"-{name}"),
        "IAXPHONE_PBX_IAX_PORT": str(iax),
        "IAXPHONE_PBX_AMI_PORT": str(ami),
        "IAXPHONE_PBX_AMI_TLS_PORT": str(tls),
    }
    started = run_pbx("up", env=env)
    if started.returncode != 0:
        message = f"{name} PBX could not start: {(started.stderr or started.stdout).strip()}"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    pbx = Pbx(iax_port=iax, ami_port=ami, ami_tls_port=tls)
    try:
        if name == "freepbx":
            names = {"6001": "Ada Lovelace", "6003": "Katherine Johnson"}
            yield Office(
                name, pbx, "*43", "from-internal", True, True, DndMechanism.DEVSTATE, names
            )
        else:
            names = {"6001": "Ada Lovelace", "6002": "Grace Hopper"}
            yield Office(
                name, pbx, "600", "default", False, name == "stock", DndMechanism.NONE, names
            )
    finally:
        run_pbx("down", env=env)


async def client_of(office: Office, admin: bool = False) -> PbxClient:
    pbx = office.pbx
    user, secret = (pbx.admin_user, pbx.admin_secret) if admin else (pbx.ami_user, pbx.ami_secret)
    client = PbxClient(pbx.host, pbx.ami_port, user, secret)
    await client.connect()
    return client


async def test_register_and_call_the_echo_test(office: Office) -> None:
    async with phone(office.pbx, 6001) as desk:
        call = await call_from(desk, office.pbx, 6001, office.echo)
        await call.wait_answered(timeout=10)
        await call.hangup()


async def test_the_probe_finds_context_dnd_and_what_is_missing(office: Office) -> None:
    client = await client_of(office)
    try:
        caps = client.capabilities
        assert client.context == office.context
        assert caps.dnd is office.dnd
        assert caps.has(Facility.PARKING) is office.parking
        if not office.parking:
            assert client.why_not(Facility.PARKING) == (
                "this PBX has no call parking (res_parking is not loaded)"
            )
        if office.name == "lean":
            assert client.why_not(Facility.QUEUES) == (
                "this PBX has no call queues (app_queue is not loaded)"
            )
            # An action the PBX does not know says so: not "unreachable", not a failure.
            with pytest.raises(AmiUnsupportedError) as unknown:
                await client.action(Action="ParkedCalls")
            assert str(unknown.value) == (
                "AMI ParkedCalls: this PBX has no call parking (res_parking is not loaded)"
            )
        assert {"6001", "6002"} <= set(client.state.extensions)
    finally:
        client.close()


async def test_pbx_status_shows_what_there_is_and_exits_0(office: Office) -> None:
    async with phone(office.pbx, 6001) as desk:
        call = await call_from(desk, office.pbx, 6001, office.echo)
        await call.wait_answered(timeout=10)
        code, out, err = await iaxphone_pbx(office.pbx, "status")
        await call.hangup()
    assert code == exitcodes.OK, err
    assert "Traceback" not in out + err
    assert f"dialplan context {office.context}" in out
    rows = {line.split()[0]: line for line in out.splitlines() if line[:1].isdigit()}
    for number, name in office.names.items():  # names from voicemail or caller ID
        assert name in rows[number], rows[number]
    channels = out.split("active channels:")[1]
    assert "IAX2/6001-" in channels
    if office.parking:
        assert "parked calls: 0" in out
    else:
        assert (
            "parked calls: unavailable: this PBX has no call parking (res_parking is not loaded)"
            in out
        )


async def test_pbx_watch_sees_a_phone_take_a_call(office: Office) -> None:
    watcher = await start_cli(office.pbx, "watch")
    try:
        assert watcher.stdout is not None
        first = await asyncio.wait_for(watcher.stdout.readline(), 20)
        assert first.decode().startswith("watching ")
        async with phone(office.pbx, 6002) as desk:
            call = await call_from(desk, office.pbx, 6002, office.echo)
            await call.wait_answered(timeout=10)
            while True:
                line = (await asyncio.wait_for(watcher.stdout.readline(), 15)).decode()
                if line.startswith("lamp 6002 in use"):
                    break
            await call.hangup()
    finally:
        watcher.terminate()
        _code, _out, err = await finish(watcher)
    assert "Traceback" not in err


async def test_dnd_both_ways(office: Office) -> None:
    # FreePBX's DND writes the astdb (DBPut, class system): its AMI user has every class.
    client = await client_of(office, admin=office.dnd is DndMechanism.DEVSTATE)
    seen: list[PresenceChanged] = []
    changed = asyncio.Event()

    def on_event(event: object) -> None:
        if isinstance(event, PresenceChanged) and event.number == "6002":
            seen.append(event)
            changed.set()

    client.subscribe(on_event)
    try:
        if office.dnd is DndMechanism.NONE:
            with pytest.raises(AmiUnsupportedError, match="no do-not-disturb"):
                await client.set_dnd("6002", True)
            code, _out, err = await iaxphone_pbx(office.pbx, "dnd", "6002", "on")
            assert code == exitcodes.UNSUPPORTED
            assert err.startswith("iaxphone: this PBX has no do-not-disturb") and err[-1:] == "\n"
            assert err.count("\n") == 1
            return
        # iaxphone -> PBX: the lamp shows it, and callers get busy the PBX's own way.
        await client.set_dnd("6002", True)
        await asyncio.wait_for(changed.wait(), 10)
        assert client.state.extensions["6002"].presence is Presence.DND
        async with phone(office.pbx, 6001) as alice, phone(office.pbx, 6002):
            call = await call_from(alice, office.pbx, 6001, "6002")
            ended = await call.wait_ended(timeout=10)
            assert ended.cause_code == 17  # user busy
        changed.clear()
        await client.set_dnd("6002", False)
        await asyncio.wait_for(changed.wait(), 10)
        assert client.state.extensions["6002"].presence is not Presence.DND
        # PBX -> iaxphone: the PBX's own way of setting it shows on the lamp.
        changed.clear()
        if office.dnd is DndMechanism.DEVSTATE:  # FreePBX's *78 feature code
            async with phone(office.pbx, 6002) as bob:
                code_call = await call_from(bob, office.pbx, 6002, "*78")
                await code_call.wait_ended(timeout=10)
        else:
            async with AmiWatcher(office.pbx) as admin:
                await admin.action(
                    Action="Setvar", Variable="PRESENCE_STATE(CustomPresence:6002)", Value="dnd,,"
                )
        await asyncio.wait_for(changed.wait(), 10)
        assert client.state.extensions["6002"].presence is Presence.DND
        await client.set_dnd("6002", False)
    finally:
        client.close()


async def test_park_and_retrieve(office: Office) -> None:
    async with phone(office.pbx, 6001) as alice, phone(office.pbx, 6002) as bob:
        if office.phones_dial_phones:
            call, _answered = await answered_call(alice, bob, office.pbx, 6001, "6002")
            parker = "6002"
        else:  # no route between phones: park the caller of the echo test itself
            call = await call_from(alice, office.pbx, 6001, office.echo)
            await call.wait_answered(timeout=10)
            parker = "6001"
        code, _out, err = await iaxphone_pbx(office.pbx, "park", parker)
        if not office.parking:
            assert code == exitcodes.UNSUPPORTED
            assert err == "iaxphone: this PBX has no call parking (res_parking is not loaded)\n"
            await call.hangup()
            return
        assert code == exitcodes.OK, err
        code, out, _err = await iaxphone_pbx(office.pbx, "status")
        slot = out.split("parked calls: 1")[1].split()[0]
        taker = 6003 if office.phones_dial_phones else 6002
        async with phone(office.pbx, taker) as carol:
            retrieving = asyncio.ensure_future(
                iaxphone_pbx(office.pbx, "unpark", slot, "--to", str(taker))
            )
            ringing = await asyncio.wait_for(carol.incoming.get(), 15)
            ringing.answer()
            code, _out, err = await retrieving
            assert code == exitcodes.OK, err
            await until_bridged(office.pbx, "IAX2/6001", f"IAX2/{taker}")
            code, out, _err = await iaxphone_pbx(office.pbx, "status")
            assert "parked calls: 0" in out
        await call.hangup()


async def test_blind_transfer(office: Office) -> None:
    if not office.phones_dial_phones:
        await blind_transfer_without_a_route_between_phones(office)
        return
    async with (
        phone(office.pbx, 6001) as alice,
        phone(office.pbx, 6002) as bob,
        phone(office.pbx, 6003) as carol,
    ):
        call, _answered = await answered_call(alice, bob, office.pbx, 6001, "6002")
        code, _out, err = await iaxphone_pbx(office.pbx, "transfer", "6002", "6003")
        assert code == exitcodes.OK, err
        ringing = await asyncio.wait_for(carol.incoming.get(), 10)
        ringing.answer()
        await until_bridged(office.pbx, "IAX2/6001", "IAX2/6003")
        await call.hangup()


async def until_bridged(pbx: Pbx, a: str, b: str, timeout: float = 10) -> None:
    """Until the PBX's own CoreShowChannels has ``a`` and ``b`` in one bridge."""
    async with AmiWatcher(pbx) as admin:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            replies = await admin.manager.send_action({"Action": "CoreShowChannels"})
            bridges: dict[str, set[str]] = {}
            for m in replies if isinstance(replies, list) else [replies]:
                if m.get("Event") == "CoreShowChannel" and m.get("BridgeId"):
                    device = str(m["Channel"]).rsplit("-", 1)[0]
                    bridges.setdefault(str(m["BridgeId"]), set()).add(device)
            if any({a, b} <= devices for devices in bridges.values()):
                return
            assert loop.time() < deadline, f"{a} and {b} never shared a bridge: {bridges}"
            await asyncio.sleep(0.1)


async def test_contacts_and_busy_lamp_field(office: Office) -> None:
    client = PbxClient(office.pbx.host, office.pbx.ami_port, "console", "console-secret")
    model = ConsoleModel(client)
    await client.connect()
    try:
        tiles = {tile.number: tile for tile in model.tiles()}
        for number, name in office.names.items():
            assert tiles[number].name == name, tiles[number]
            assert tiles[number].kind is Kind.PHONE
        if office.name == "freepbx":
            assert tiles["6005"].kind is Kind.PHONE  # a PJSIP desk phone beside the IAX2 ones
            assert tiles["400"].kind is Kind.QUEUE
        assert model.queues() == [] or office.name in ("bundled", "freepbx")
    finally:
        client.close()


async def blind_transfer_without_a_route_between_phones(office: Office) -> None:
    """The stock dialplan cannot ring one phone from another: the PBX rings 6001 from
    the echo test (a Local channel), and 6001 sends that party on to 600.  Asterisk
    accepts the transfer and 6001 leaves; the party itself was originated straight
    into Dial() with no dialplan of its own, so Asterisk hangs it up after."""
    async with phone(office.pbx, 6001) as alice, AmiWatcher(office.pbx) as admin:
        await admin.action(
            Action="Originate",
            Channel="Local/600@default/n",
            Application="Dial",
            Data="IAX2/6001",
            Async="true",
        )
        ringing = await asyncio.wait_for(alice.incoming.get(), 10)
        ringing.answer()
        await until_bridged(office.pbx, "IAX2/6001", "Local/600@default")
        code, _out, err = await iaxphone_pbx(office.pbx, "transfer", "6001", "600")
        assert code == exitcodes.OK, err
        event = await admin.wait_for(lambda e: e.get("Event") == "BlindTransfer")
        assert event.get("Result") == "Success"
        assert event.get("Extension") == "600" and event.get("TransfererChannel", "").startswith(
            "IAX2/6001-"
        )
        await ringing.wait_ended(timeout=10)  # the transferer leaves


def test_the_handset_contact_list(office: Office, qapp: QApplication) -> None:
    async def scenario() -> None:
        client = await client_of(office)
        try:
            # The names the window puts on its contacts: the PBX's own (gui/app.py).
            panel = DirectoryPanel(client, names=await pbx_names(client))
            rows = {panel.contacts.item(i).text() for i in range(panel.contacts.count())}
            for number, name in office.names.items():
                assert any(row.startswith(f"{number}  {name}  —  ") for row in rows), rows
            assert panel.status.text() == f"{len(client.state.extensions)} extensions"
            assert panel.contacts.isEnabled()
        finally:
            client.close()

    run_on_qt_loop(qapp, scenario())


def test_the_console_window_says_what_the_pbx_lacks(office: Office, qapp: QApplication) -> None:
    async def scenario() -> None:
        client = PbxClient(office.pbx.host, office.pbx.ami_port, "console", "console-secret")
        model = ConsoleModel(client)
        await client.connect()
        try:
            async with phone(office.pbx, 6001) as desk:  # one phone on the echo test
                call = await call_from(desk, office.pbx, 6001, office.echo)
                await call.wait_answered(timeout=10)
                loop = asyncio.get_running_loop()
                deadline = loop.time() + 10
                while model.tile("6001").lamp is not LampState.IN_USE:
                    assert loop.time() < deadline, model.tile("6001")
                    await asyncio.sleep(0.05)
                await window_checks(office, model)
                await call.hangup()
        finally:
            client.close()

    run_on_qt_loop(qapp, scenario())


async def window_checks(office: Office, model: ConsoleModel) -> None:
    """The console window on this PBX: tiles, what it lacks, the Park key; a screenshot."""
    window = ConsoleWindow(model)
    window.resize(1280, 800)
    window.show()
    window.rebuild()
    window.refresh_clocks()
    for number, name in office.names.items():
        assert window.tiles[number].isVisibleTo(window)
        assert model.tile(number).name == name
    label, panel = window.unavailable[Facility.PARKING]
    if office.parking:
        assert not label.isVisibleTo(window) and panel.isVisibleTo(window)
    else:
        assert label.isVisibleTo(window) and not panel.isVisibleTo(window)
        assert label.text() == "this PBX has no call parking (res_parking is not loaded)"
    rooms_label, _rooms = window.unavailable[Facility.CONFERENCE]
    assert rooms_label.isVisibleTo(window) is (office.name == "lean")
    assert window.tiles["6001"].status.text() != "offline"
    park = window.buttons[Feature.PARK]
    if not office.parking:
        assert park.toolTip() == "this PBX has no call parking (res_parking is not loaded)"
    screenshot(window, f"console-{office.name}-pbx")
    window.hide()  # close() would end the Qt loop while the call is still up


async def test_dnd_set_in_the_config_as_astdb(office: Office) -> None:
    """[ami] dnd = "astdb" works on any PBX: DND/<ext> in the astdb, read back at login."""
    pbx = office.pbx
    client = PbxClient(pbx.host, pbx.ami_port, pbx.admin_user, pbx.admin_secret, dnd="astdb")
    await client.connect()
    try:
        assert client.capabilities.dnd is DndMechanism.ASTDB
        assert client.capabilities.dnd_reason == "set in the config ([ami] dnd)"
        number = "6004" if "6004" in client.state.extensions else "6002"  # stock has two phones
        await client.set_dnd(number, True)
        async with AmiWatcher(pbx) as admin:
            assert "YES" in await admin.command(f"database get DND {number}")
        again = PbxClient(pbx.host, pbx.ami_port, pbx.admin_user, pbx.admin_secret, dnd="astdb")
        await again.connect()
        try:
            assert again.state.extensions[number].presence is Presence.DND
        finally:
            again.close()
        await client.set_dnd(number, False)
        async with AmiWatcher(pbx) as admin:
            assert "not found" in (await admin.command(f"database get DND {number}")).lower()
    finally:
        client.close()
