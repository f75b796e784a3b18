"""The phone's rules on the in-memory network with the built-in registrar, on a fake clock.

No Asterisk: :mod:`tests.memnet` gives the phone an in-memory socket and a
PBX made of the built-in registrar; the loop's clock is fake, so these run in
well under a second each (the hour-long call in a few seconds).  Every feature
here also has its test against the bundled Asterisk (tests/test_phone*.py).
"""

from __future__ import annotations

import asyncio

import pytest

from iaxphone.linestate import LocalProtocolError
from iaxphone.phone import LineChanged, LineState, LineStats, RegistrationChanged
from tests.memnet import PBX, MemoryNetwork, MiniPbx, memory_phone, run_virtual
from tests.proto_link import Conditions


def test_registers_calls_the_pbx_and_hangs_up() -> None:
    async def scenario() -> None:
        network = MemoryNetwork(seed=1)
        async with MiniPbx(network) as pbx:
            phone = memory_phone(network)
            events = phone.event_queue(RegistrationChanged, LineChanged)
            async with phone:
                assert phone.registered == {"desk": True}
                assert await events.get() == RegistrationChanged("desk", True)
                line = await phone.dial("600")
                talking = await phone.wait_line(line, LineState.TALKING, timeout=2)
                assert talking.codec == "ulaw" and talking.answered is not None
                await asyncio.sleep(1.0)
                audio = phone.line(line).audio
                assert audio is not None and audio.session.jitter.stats.received > 40  # the echo
                await phone.hangup(line)
                ended = await phone.wait_line(line, LineState.ENDED)
                assert ended.cause_code == 16
                states = []
                while not events.empty():
                    event = events.get_nowait()
                    if isinstance(event, LineChanged):
                        states.append(event.line.state)
                assert states[0] is LineState.DIALING
                assert states[-2:] == [LineState.TALKING, LineState.ENDED]
            assert len(pbx.answered) == 1

    run_virtual(scenario)


def test_a_strangers_call_is_refused_and_the_pbxs_call_rings() -> None:
    async def scenario() -> None:
        network = MemoryNetwork(seed=2)
        async with (
            MiniPbx(network) as pbx,
            MiniPbx(network, ("127.0.0.99", 4569)) as stranger,
        ):
            phone = memory_phone(network)
            async with phone:
                rings = phone.event_queue(LineChanged)
                intruder = await stranger.call(phone.client.local, "6001")
                ended = await intruder.wait_ended(timeout=5)
                assert ended.cause_code is not None  # refused before it could ring
                assert rings.empty() and not phone.lines
                call = await pbx.call(phone.client.local, "6001")
                ringing = await rings.get()
                assert isinstance(ringing, LineChanged)
                assert ringing.line.state is LineState.INCOMING
                assert ringing.line.number == "6002"
                phone.answer(ringing.line.id)
                await call.wait_answered(timeout=2)
                await call.hangup()
                await phone.wait_line(ringing.line.id, LineState.ENDED)
                assert pbx.address == PBX

    run_virtual(scenario)


def test_illegal_commands_raise_and_change_nothing() -> None:
    async def scenario() -> None:
        network = MemoryNetwork(seed=3)
        async with MiniPbx(network) as pbx:
            pbx.answer_calls = False  # it rings and rings
            async with memory_phone(network) as phone:
                line = await phone.dial("600")
                await asyncio.sleep(0.5)
                before = phone.line(line).info
                for command in (phone.hold, phone.resume, phone.answer):
                    with pytest.raises(LocalProtocolError, match=f"line {line}"):
                        command(line)
                assert phone.line(line).info == before
                await phone.hangup(line)

    run_virtual(scenario)


def test_waiters_do_not_take_each_others_events() -> None:
    async def scenario() -> None:
        network = MemoryNetwork(seed=4)
        async with MiniPbx(network), memory_phone(network) as phone:
            line = await phone.dial("600")
            waits = [
                asyncio.ensure_future(phone.wait_line(line, LineState.TALKING)) for _ in range(3)
            ]
            ended = asyncio.ensure_future(phone.wait_line(line, LineState.ENDED))
            talking = await asyncio.gather(*waits)
            assert {info.state for info in talking} == {LineState.TALKING}
            await phone.hangup(line)
            assert (await ended).state is LineState.ENDED
            again = await phone.wait_line(line, LineState.ENDED)  # after the fact
            assert again.cause_code == 16
            assert phone.hub.subscriber_count == 0  # every waiter is gone

    run_virtual(scenario)


def test_a_lossy_link_still_gets_the_call_up() -> None:
    async def scenario() -> None:
        network = MemoryNetwork(seed=5, conditions=Conditions(loss=0.2, delay=0.03, reorder=0.1))
        async with MiniPbx(network), memory_phone(network) as phone:
            line = await phone.dial("600")
            await phone.wait_line(line, LineState.TALKING, timeout=10)
            stats = phone.event_queue(LineStats, max_stats=5)
            await asyncio.sleep(2)
            assert len(stats) == 5 and stats.dropped > 0
            await phone.hangup(line)
            assert network.dropped > 0

    run_virtual(scenario)
