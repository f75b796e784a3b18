"""PbxClient against the bundled PBX's AMI, as the least-privileged console user."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from iaxphone.pbx.ami import (
    AmiError,
    AmiLoginError,
    AmiPermissionError,
    LampChanged,
    LinkChanged,
    MailboxChanged,
    ParkingChanged,
    PbxClient,
    PbxEvent,
    PresenceChanged,
    Resynced,
)
from iaxphone.pbx.models import LampState, Presence
from tests.bridges import wait_channel, wait_talking
from tests.pbx import PROJECT, Pbx
from tests.phones import answered_call, call_from, drain_audio, phone, pump_audio

pytestmark = pytest.mark.pbx


class Recorder:
    """Every PbxEvent a client emits; ``wait_for`` returns the first that matches."""

    def __init__(self) -> None:
        self.events: list[PbxEvent] = []
        self._arrived = asyncio.Event()

    def __call__(self, event: PbxEvent) -> None:
        self.events.append(event)
        self._arrived.set()

    async def wait_for(
        self, predicate: Callable[[PbxEvent], bool], timeout: float = 10, after: int = 0
    ) -> PbxEvent:
        """The first matching event from index ``after`` on (already seen or still to come)."""

        async def scan() -> PbxEvent:
            seen = after
            while True:
                for event in self.events[seen:]:
                    if predicate(event):
                        return event
                seen = len(self.events)
                self._arrived.clear()
                await self._arrived.wait()

        return await asyncio.wait_for(scan(), timeout)


@contextlib.asynccontextmanager
async def console(
    pbx: Pbx, port: int | None = None, **options: int
) -> AsyncIterator[tuple[PbxClient, Recorder]]:
    client = PbxClient(pbx.host, port or pbx.ami_port, pbx.ami_user, pbx.ami_secret, **options)
    recorder = Recorder()
    client.subscribe(recorder)
    await client.connect()
    try:
        yield client, recorder
    finally:
        client.close()


def lamp(number: str, state: LampState) -> Callable[[PbxEvent], bool]:
    return lambda e: isinstance(e, LampChanged) and e.number == number and e.lamp is state


async def test_resync_reads_every_desk_phone_with_its_hint(pbx: Pbx) -> None:
    async with console(pbx) as (client, recorder):
        numbers = {str(n) for n in range(6001, 6011)}
        assert numbers <= set(client.state.extensions)
        assert client.state.extensions["6001"].hint == "IAX2/6001,CustomPresence:6001"
        assert isinstance(recorder.events[0], LinkChanged) and recorder.events[0].up
        assert recorder.events[1] == Resynced(len(client.state.extensions), 0)


async def test_lamp_follows_registration_ringing_talking_and_hangup(pbx: Pbx) -> None:
    async with console(pbx) as (client, recorder), phone(pbx, 6008) as earlier:
        await earlier.unregister(f"{pbx.extension(6008)[0]}@{pbx.host}:{pbx.iax_port}")
        await recorder.wait_for(lamp("6008", LampState.UNAVAILABLE))
        async with phone(pbx, 6008) as bob, phone(pbx, 6001) as alice:
            await recorder.wait_for(lamp("6008", LampState.IDLE))
            call = await call_from(alice, pbx, 6001, "6008")
            ringing = await asyncio.wait_for(bob.incoming.get(), 5)
            await recorder.wait_for(lamp("6008", LampState.RINGING))
            ringing.answer()
            await recorder.wait_for(lamp("6008", LampState.IN_USE))
            assert client.state.extensions["6008"].lamp is LampState.IN_USE
            await call.hangup()
            await recorder.wait_for(lamp("6008", LampState.IDLE))


async def test_dnd_through_ami_gives_callers_busy(pbx: Pbx) -> None:
    async with (
        console(pbx) as (client, recorder),
        phone(pbx, 6005),
        phone(pbx, 6002) as caller,
    ):
        await client.set_dnd("6005", True)
        try:
            await recorder.wait_for(
                lambda e: (
                    isinstance(e, PresenceChanged)
                    and e.number == "6005"
                    and e.presence is Presence.DND
                )
            )
            assert client.state.extensions["6005"].presence is Presence.DND
            call = await call_from(caller, pbx, 6002, "6005")
            ended = await call.wait_ended(timeout=10)
            assert ended.cause_code == 17
        finally:
            await client.set_dnd("6005", False)
        await recorder.wait_for(
            lambda e: isinstance(e, PresenceChanged) and e.presence is Presence.AVAILABLE
        )


async def test_park_a_call_and_retrieve_it_from_another_phone(pbx: Pbx) -> None:
    async with (
        console(pbx) as (client, recorder),
        phone(pbx, 6003) as alice,
        phone(pbx, 6004) as bob,
    ):
        call = await call_from(alice, pbx, 6003, "600")  # the echo test
        await call.wait_answered(timeout=5)
        channels = await client.channels()
        (mine,) = [c for c in channels if c.name.startswith("IAX2/6003-")]
        assert mine.state == "Up" and mine.caller_number == "6003"
        await client.park(mine.name)
        parked = await recorder.wait_for(lambda e: isinstance(e, ParkingChanged) and e.parked)
        assert isinstance(parked, ParkingChanged) and parked.parked is not None
        assert parked.parked.channel == mine.name
        assert parked.parked.caller_number == "6003"
        assert client.state.parked[parked.slot] == parked.parked
        retriever = await call_from(bob, pbx, 6004, parked.slot)
        await recorder.wait_for(
            lambda e: isinstance(e, ParkingChanged) and e.slot == parked.slot and e.parked is None
        )
        assert parked.slot not in client.state.parked
        await retriever.hangup()
        await call.wait_ended(timeout=5)


async def test_blind_transfer_sends_the_far_end_elsewhere(pbx: Pbx) -> None:
    async with (
        console(pbx) as (client, _recorder),
        phone(pbx, 6009) as alice,
        phone(pbx, 6010) as bob,
    ):
        call, answered = await answered_call(alice, bob, pbx, 6009, "6010")
        assert await wait_talking(client, "IAX2/6009-", "IAX2/6010-")
        (bobs,) = [c for c in await client.channels() if c.name.startswith("IAX2/6010-")]
        await client.redirect(bobs.name, "600")  # Bob goes to the echo test
        await call.wait_ended(timeout=5)  # Alice's leg is left alone and ends
        assert await wait_channel(client, lambda c: c.name == bobs.name and c.application == "Echo")
        await answered.hangup()


async def test_console_user_cannot_run_cli_commands(pbx: Pbx) -> None:
    async with console(pbx) as (client, _recorder):
        with pytest.raises(AmiPermissionError, match="needs command"):
            await client.action(Action="Command", Command="core show version")
        with pytest.raises(AmiError, match="Channel does not exist: IAX2/6001-nonexistent"):
            await client.park("IAX2/6001-nonexistent")


async def test_wrong_secret_is_a_login_error(pbx: Pbx) -> None:
    client = PbxClient(pbx.host, pbx.ami_port, pbx.ami_user, "not-the-secret")
    with pytest.raises(AmiLoginError, match="Authentication failed"):
        await client.connect()


async def test_nothing_listening_is_a_one_line_error() -> None:
    with socket_closed_port() as port:
        client = PbxClient("127.0.0.1", port, "console", "x")
        with pytest.raises(AmiError, match=f"cannot reach AMI at 127.0.0.1:{port}"):
            await client.connect(timeout=2)


@contextlib.contextmanager
def socket_closed_port() -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        yield probe.getsockname()[1]  # bound but not listening: connections are refused


class Relay:
    """A TCP relay in front of AMI that can cut every connection (a flaky LAN)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.writers: list[asyncio.StreamWriter] = []
        self.frozen: set[asyncio.StreamWriter] = set()
        self.server: asyncio.base_events.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await src.read(65536):
                    if dst not in self.frozen:
                        dst.write(data)
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def freeze(self) -> None:
        """Stop forwarding on today's connections without closing them (a dead path)."""
        self.frozen.update(self.writers)

    def cut(self) -> None:
        for writer in self.writers:
            writer.transport.abort()
        self.writers.clear()

    def close(self) -> None:
        self.cut()
        if self.server is not None:
            self.server.close()


async def test_reconnects_and_resyncs_after_the_link_drops(pbx: Pbx) -> None:
    relay = Relay((pbx.host, pbx.ami_port))
    port = await relay.start()
    try:
        async with console(pbx, port=port, reconnect_timeout=1) as (client, recorder):
            assert client.resyncs == 1
            relay.cut()
            await recorder.wait_for(lambda e: e == LinkChanged(False))
            mark = len(recorder.events)
            async with phone(pbx, 6006) as carol, phone(pbx, 6001) as alice:
                # While AMI is down, 6006 starts ringing: the resync must catch it.
                call = await call_from(alice, pbx, 6001, "6006")
                await asyncio.wait_for(carol.incoming.get(), 5)
                await recorder.wait_for(lambda e: isinstance(e, Resynced), after=mark)
                assert client.resyncs == 2
                assert client.state.extensions["6006"].lamp is LampState.RINGING
                await call.hangup()
                await recorder.wait_for(lamp("6006", LampState.IDLE))
    finally:
        relay.close()


async def test_a_call_in_progress_does_not_notice_the_ami_link_dropping(pbx: Pbx) -> None:
    relay = Relay((pbx.host, pbx.ami_port))
    port = await relay.start()
    try:
        async with (
            console(pbx, port=port, reconnect_timeout=1) as (client, recorder),
            phone(pbx, 6003) as alice,
        ):
            call = await call_from(alice, pbx, 6003, "600")  # the echo test
            await call.wait_answered(timeout=5)
            await recorder.wait_for(lamp("6003", LampState.IN_USE))
            relay.cut()
            await recorder.wait_for(lambda e: e == LinkChanged(False))
            mark = len(recorder.events)
            sent = await pump_audio(call, 50)  # 1 s of voice while AMI is down
            await recorder.wait_for(lambda e: isinstance(e, Resynced), after=mark)
            echoed = set(drain_audio(call)) & set(sent)
            assert len(echoed) >= 40  # the echo test returned the voice throughout
            assert client.state.extensions["6003"].lamp is LampState.IN_USE
            ended = await call.hangup()
            assert ended.cause_code == 16
    finally:
        relay.close()


def test_reconnect_back_off_doubles_to_its_cap_and_resets_on_login() -> None:
    client = PbxClient("127.0.0.1", 1, "console", "x", reconnect_timeout=1, max_reconnect_timeout=8)
    delays = []
    for _ in range(6):
        client.manager._back_off()
        delays.append(client.manager.reconnect_timeout)
    assert delays == [1, 2, 4, 8, 8, 8]
    client.manager.reset_back_off()
    client.manager._back_off()
    assert client.manager.reconnect_timeout == 1


BUNDLED_CERT = PROJECT / "asterisk-conf" / "tls" / "ami.crt"


async def test_ami_over_tls_with_the_bundled_certificate(pbx: Pbx) -> None:
    tls = ssl.create_default_context(cafile=str(BUNDLED_CERT))
    client = PbxClient(pbx.host, pbx.ami_tls_port, pbx.ami_user, pbx.ami_secret, tls=tls)
    await client.connect()
    try:
        assert {str(n) for n in range(6001, 6011)} <= set(client.state.extensions)
        assert client.manager.protocol.transport.get_extra_info("ssl_object") is not None
    finally:
        client.close()


async def test_ami_over_tls_refuses_an_untrusted_certificate(pbx: Pbx) -> None:
    client = PbxClient(
        pbx.host, pbx.ami_tls_port, pbx.ami_user, pbx.ami_secret, tls=ssl.create_default_context()
    )
    with pytest.raises(AmiError, match="TLS certificate not trusted"):
        await client.connect()


async def test_transfer_to_voicemail_leaves_a_message_and_lights_the_mailbox(pbx: Pbx) -> None:
    async with (
        console(pbx) as (client, recorder),
        phone(pbx, 6009) as alice,
        phone(pbx, 6010) as bob,
    ):
        new_before, _old = await client.mailbox_count("6000@office")
        call = await call_from(alice, pbx, 6009, "6010")
        answered = await asyncio.wait_for(bob.incoming.get(), 5)
        answered.answer()
        assert await wait_talking(client, "IAX2/6009-", "IAX2/6010-")
        (bobs,) = [c for c in await client.channels() if c.name.startswith("IAX2/6010-")]
        await client.blind_transfer(bobs.name, "*96000")  # Alice: "leave the office a message"
        await answered.wait_ended(timeout=5)
        assert await wait_channel(
            client, lambda c: c.name.startswith("IAX2/6009-") and c.application == "VoiceMail"
        )
        await pump_audio(call, 100)  # a 2 s message
        await call.hangup()
        event = await recorder.wait_for(
            lambda e: isinstance(e, MailboxChanged) and e.mailbox == "6000@office"
        )
        assert event == MailboxChanged("6000@office", new_before + 1, 0)
        assert await client.mailbox_count("6000@office") == (new_before + 1, 0)


async def test_redirect_to_the_parking_lot_then_into_a_conference(pbx: Pbx) -> None:
    async with console(pbx) as (client, recorder), phone(pbx, 6003) as alice:
        call = await call_from(alice, pbx, 6003, "600")
        await call.wait_answered(timeout=5)
        (mine,) = [c for c in await client.channels() if c.name.startswith("IAX2/6003-")]
        await client.redirect(mine.name, "700")  # the parking lot picks a slot
        parked = await recorder.wait_for(lambda e: isinstance(e, ParkingChanged) and e.parked)
        assert isinstance(parked, ParkingChanged) and parked.parked is not None
        assert parked.parked.caller_number == "6003"
        await client.redirect(parked.parked.channel, "800")  # operator: into room 800
        await recorder.wait_for(
            lambda e: isinstance(e, ParkingChanged) and e.slot == parked.slot and e.parked is None
        )
        assert await wait_channel(
            client, lambda c: c.name.startswith("IAX2/6003-") and c.application == "ConfBridge"
        )
        await call.hangup()


async def test_lamp_shows_a_call_on_hold(pbx: Pbx) -> None:
    async with (
        console(pbx) as (_client, recorder),
        phone(pbx, 6004) as alice,
        phone(pbx, 6005) as bob,
    ):
        call = await call_from(alice, pbx, 6004, "6005")
        answered = await asyncio.wait_for(bob.incoming.get(), 5)
        answered.answer()
        await recorder.wait_for(lamp("6004", LampState.IN_USE))
        call.hold()
        await recorder.wait_for(lamp("6004", LampState.ON_HOLD))
        call.unhold()
        await recorder.wait_for(lamp("6004", LampState.IN_USE), after=len(recorder.events))
        await call.hangup()
        await recorder.wait_for(lamp("6004", LampState.IDLE))


async def test_a_silently_dead_link_is_noticed_by_the_keepalive(pbx: Pbx) -> None:
    relay = Relay((pbx.host, pbx.ami_port))
    port = await relay.start()
    try:
        client = PbxClient(
            pbx.host, port, pbx.ami_user, pbx.ami_secret, ping_interval=0.2, ping_timeout=0.5
        )
        recorder = Recorder()
        client.subscribe(recorder)
        await client.connect()
        try:
            relay.freeze()  # no FIN, no RST: only an unanswered ping tells
            await recorder.wait_for(lambda e: e == LinkChanged(False))
            mark = len(recorder.events)
            await recorder.wait_for(lambda e: isinstance(e, Resynced), after=mark)
            assert client.resyncs == 2
        finally:
            client.close()
    finally:
        relay.close()
