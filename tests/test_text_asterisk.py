"""Text chat over IAX2 against the bundled PBX: phone to phone, the dialplan, AMI, history."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from iaxphone.history import History
from iaxphone.pbx.ami import PbxClient
from iaxphone.pbx.console import ConsoleModel
from iaxphone.phone import LineState, LineText, Phone
from iaxphone.proto.text import MAX_CHUNK
from tests.pbx import Pbx
from tests.phones import next_incoming
from tests.test_phone import desk_phone

pytestmark = [pytest.mark.asyncio, pytest.mark.pbx]


async def next_text(phone: Phone, line_id: int, timeout: float = 10.0) -> LineText:
    event = await phone.hub.wait_for(
        lambda e: isinstance(e, LineText) and e.line_id == line_id and e.direction == "in",
        timeout,
    )
    assert isinstance(event, LineText)
    return event


async def test_two_phones_chat_both_ways_encrypted_and_keep_it_in_history(
    pbx: Pbx, tmp_path: Path
) -> None:
    long_text = "Grüße aus dem Büro, " * 60  # 1260 bytes of UTF-8: five TEXT frames
    async with (
        desk_phone(pbx, 6001, tmp_path) as (alice, _),
        desk_phone(pbx, 6002, tmp_path) as (bob, _),
    ):
        line = await alice.dial("6002")
        incoming = await next_incoming(bob)
        bob.answer(incoming)
        await alice.wait_line(line, LineState.TALKING)
        assert alice.line(line).info.encrypted  # the desk phones are encryption=yes
        assert len(long_text.encode()) > 4 * MAX_CHUNK
        alice.send_text(line, "hello Bob ✓")
        assert (await next_text(bob, incoming)).text == "hello Bob ✓"
        bob.send_text(incoming, "hi Alice 🙂")
        assert (await next_text(alice, line)).text == "hi Alice 🙂"
        alice.send_text(line, long_text)
        assert (await next_text(bob, incoming)).text == long_text  # split, bridged, rejoined
        await alice.hangup(line)
        await bob.wait_line(incoming, LineState.ENDED)
    for name, expected in (
        ("6001", [("out", "hello Bob ✓"), ("in", "hi Alice 🙂"), ("out", long_text)]),
        ("6002", [("in", "hello Bob ✓"), ("out", "hi Alice 🙂"), ("in", long_text)]),
    ):
        history = History(tmp_path / f"{name}.sqlite3")
        (record,) = history.recent()
        assert [(m.direction, m.text) for m in history.messages(record.id)] == expected
        history.close()


async def test_the_dialplan_sends_text_and_echoes_what_it_receives(
    pbx: Pbx, tmp_path: Path
) -> None:
    async with desk_phone(pbx, 6003, tmp_path) as (phone, _):
        line = await phone.dial("603")
        greeting = await next_text(phone, line)  # SendText() before ReceiveText()
        assert greeting.text == "Text echo ready"
        await phone.wait_line(line, LineState.TALKING)
        phone.send_text(line, "ping, with a comma")
        assert (await next_text(phone, line)).text == "echo: ping, with a comma"
        await phone.hangup(line)


async def test_the_console_sends_text_to_a_live_call_through_ami(pbx: Pbx, tmp_path: Path) -> None:
    client = PbxClient(pbx.host, pbx.ami_port, pbx.ami_user, pbx.ami_secret)
    model = ConsoleModel(client)
    changed = asyncio.Event()
    model.subscribe(lambda _event: changed.set())
    await client.connect()
    try:
        async with desk_phone(pbx, 6004, tmp_path) as (phone, _):
            line = await phone.dial("600")  # the echo test: a call that stays up
            await phone.wait_line(line, LineState.TALKING)
            while True:  # the console's view of the channels follows AMI events
                changed.clear()
                if model.channels.of_device("IAX2/6004"):
                    break
                await asyncio.wait_for(changed.wait(), 10)
            # A text that reaches the channel while Answer() still waits for
            # media is read and dropped there (Asterisk's own behaviour), so
            # the operator's console may have to send it again: up to 3 times.
            got = None
            for _ in range(3):
                channel = await model.send_text("6004", "The operator says:\nyour 3 pm is here")
                assert channel.startswith("IAX2/6004-")
                try:
                    got = await next_text(phone, line, 2.0)
                    break
                except TimeoutError:
                    continue
            assert got is not None, "no text reached the phone after 3 sends"
            assert got.text == "The operator says: your 3 pm is here"  # one AMI header line
            await phone.hangup(line)
    finally:
        client.close()
