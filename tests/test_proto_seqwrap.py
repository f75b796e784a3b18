"""An hour-long call to a PBX that sequences as chan_iax2 does: the 8-bit seqnos wrap many times.

The soak benchmark lost 42 of 50 echo calls at about minute 29: Asterisk gave
up on a LAGRQ ("Max retries exceeded").  Each call carries some 11 full
frames a minute each way (LAGRQ/LAGRP, PING/PONG and their ACKs), so both
sequence numbers pass 255 -> 0 every 20-25 minutes.  These tests run the
same traffic against :class:`~tests.chan_iax2_model.ChanIax2Model` (chan_iax2's
sequencing and retransmission rules) for an hour of fake time, on a clean
link and on one that loses, delays and duplicates frames, and look at both
ends: the call must still be up, and the PBX must never have run a frame out
of retries.
"""

from __future__ import annotations

import pytest

from iaxphone.proto.call import CallOptions
from iaxphone.proto.endpoint import Endpoint, EndpointConfig
from iaxphone.proto.events import CallAnswered, CallEnded
from iaxphone.wire.constants import Format
from tests.chan_iax2_model import ChanIax2Model
from tests.proto_link import Conditions, Link

PHONE = ("10.0.0.1", 4569)
PBX = ("10.0.0.2", 4569)
HOUR = 3600.0

CLEAN = Conditions(delay=0.002)
# Slow and lossy: some ACKs come after our first retry (0.25 s), some frames twice.
ROUGH = Conditions(delay=0.01, loss=0.03, duplicate=0.02, reorder=0.1, reorder_delay=0.5)


def hour_long_call(
    seed: int, conditions: Conditions, ping_interval: float
) -> tuple[Link, ChanIax2Model]:
    link = Link(seed, conditions=conditions, max_steps=2_000_000)
    phone = Endpoint(EndpointConfig(formats=[Format.ULAW], ping_interval=ping_interval))
    pbx = ChanIax2Model()
    link.add("phone", phone, PHONE)
    link.add("pbx", pbx, PBX)  # type: ignore[arg-type]
    phone.dial(PBX, CallOptions("600", "6001", "secret", caller_number="6001"), link.now)
    link.run_until(lambda: link["phone"].has(CallAnswered), 30.0)
    link.run_until(lambda: link["phone"].count(CallEnded) > 0, HOUR, strict=False)
    return link, pbx


@pytest.mark.parametrize(
    ("name", "conditions", "seed"),
    [("clean", CLEAN, 1), ("rough", ROUGH, 2), ("rough", ROUGH, 3)],
)
def test_an_hour_of_lagrq_and_ping_across_many_wraps(
    name: str, conditions: Conditions, seed: int
) -> None:
    link, pbx = hour_long_call(seed, conditions, ping_interval=30.0)
    (call,) = pbx.calls.values()
    got = call.received
    assert got.get("LAGRP", 0) >= HOUR / pbx.lagrq_s - 2  # every LAGRQ answered
    assert got.get("PING", 0) >= HOUR / 30.0 - 2
    # Both directions wrapped several times.
    assert got.get("LAGRP", 0) + got.get("PONG", 0) + got.get("PING", 0) > 2 * 256
    assert call.max_retries is None, f"the PBX ran {call.max_retries} out of retries ({name})"
    assert not call.hung_up
    assert link["phone"].count(CallEnded) == 0
