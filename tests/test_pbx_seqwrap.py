"""Both 8-bit sequence numbers wrap on a call to the real Asterisk, in seconds instead of 25 minutes.

An echo call carries some 11 full frames a minute each way, so its
``oseqno``/``iseqno`` pass 255 -> 0 after about 23 minutes (the soak's
calls were lost near there).  Here 600 TEXT frames (each echoed back by
Echo()) take both past the wrap twice; the call must go on as before: every
text back in order, the call never ended, and a clean hang-up.
"""

from __future__ import annotations

import asyncio

import pytest

from iaxphone.proto.events import CallEnded, TextReceived
from tests.pbx import Pbx
from tests.phones import call_from, phone

pytestmark = pytest.mark.asyncio

TEXTS = 600  # each way: past 255 -> 0 twice


async def test_an_echo_call_goes_on_across_two_wraps_of_both_sequence_numbers(pbx: Pbx) -> None:
    async with phone(pbx, 6009, register=False) as client:
        call = await call_from(client, pbx, 6009, "600", encryption="off")
        await call.wait_answered(timeout=10)
        sent = [f"wrap {i}" for i in range(TEXTS)]
        received: list[str] = []

        async def collect() -> None:
            while len(received) < TEXTS:
                event = await call.events.get()
                assert not isinstance(event, CallEnded), f"the call ended: {event}"
                if isinstance(event, TextReceived):
                    received.append(event.text)

        collector = asyncio.ensure_future(collect())
        for i, text in enumerate(sent):
            call.send_text(text)
            if i % 32 == 31:
                await asyncio.sleep(0.02)  # within the send window (64 unacknowledged)
        await asyncio.wait_for(collector, 30)
        assert received == sent
        ended = await call.hangup()
    assert not ended.lost
