"""The phone's rules on the in-memory network with the built-in registrar, on a fake clock.

No Asterisk: :mod:`tests.memnet` gives the phone an in-memory socket and a
PBX made of the built-in registrar; the loop's clock is fake, so these run in
well under a second each (the hour-long call in a few seconds).  Every feature
here also has its test against the bundled Asterisk (tests/test_phone*.py).
"""

from __future__ import annotations

import asyncio
import gc
import sys
import types

import pytest

from iaxphone.linestate import LocalProtocolError
from iaxphone.media.virtual import NullSink
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
                assert await events.get() == RegistrationChanged("desk", True, change="registered")
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


def deep_size(root: object, *outside: object) -> tuple[int, int]:
    """Bytes and count of the objects reachable from ``root`` (code, classes, the loop
    and ``outside`` not counted): the memory of the phone's own structures."""
    seen = {id(o) for o in outside}
    stack, total, count = [root], 0, 0
    shared = (type, types.ModuleType, types.FunctionType, types.CodeType, asyncio.AbstractEventLoop)
    while stack:
        item = stack.pop()
        if id(item) in seen or isinstance(item, shared):
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        count += 1
        stack.extend(gc.get_referents(item))
    return total, count


def test_an_hour_of_a_call_with_statistics_grows_nothing() -> None:
    """An hour of fake time: 30 000 LineStats reach a callback, a queue nobody drains
    keeps only the newest 100 of them (and still every state change), and the
    phone's structures stay the same size.  (60 ms frames: a third of the work of
    20 ms for the same hour of statistics; about 12 s.)"""

    async def scenario() -> None:
        network = MemoryNetwork(seed=7)
        async with (
            MiniPbx(network) as pbx,
            memory_phone(network, sink=NullSink(8000), frame_ms=60) as phone,
        ):
            line = await phone.dial("600")
            await phone.wait_line(line, LineState.TALKING)
            heard: list[int] = [0]
            phone.subscribe(lambda _event: heard.__setitem__(0, heard[0] + 1))
            neglected = phone.event_queue()  # never drained
            subscribers = phone.hub.subscriber_count
            sizes = []
            for _ in range(6):
                await asyncio.sleep(600)  # ten minutes
                sizes.append(deep_size(phone, network, pbx))
                assert len(neglected) == neglected.max_droppable
                assert phone.hub.subscriber_count == subscribers
                assert len(phone._tasks) == 2 and list(phone.lines) == [line]
                assert phone.line(line).call.events.qsize() == 0
                assert phone.client.events.qsize() == 0
            audio = phone.line(line).audio
            assert audio is not None and audio.session.jitter.stats.received > 55_000
            assert heard[0] > 29_000  # about 8 a second (every other 60 ms frame)
            assert neglected.dropped == heard[0] - neglected.max_droppable
            first, last = sizes[0], sizes[-1]
            assert abs(last[0] - first[0]) < 4096, sizes  # bytes
            assert abs(last[1] - first[1]) < 40, sizes  # objects
            await phone.hangup(line)
            await phone.wait_line(line, LineState.ENDED)
            kept = [neglected.get_nowait() for _ in range(len(neglected))]
            changes = [e.line.state for e in kept if isinstance(e, LineChanged)]
            assert changes[-1] is LineState.ENDED  # a state change is never dropped
            assert sum(isinstance(e, LineStats) for e in kept) <= neglected.max_droppable

    run_virtual(scenario)
