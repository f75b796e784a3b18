"""100,000 hostile datagrams at a phone with a call up: nothing escapes, nothing grows,
the call goes on (benchmarks/fuzzer.py; 1,000,000 against a live endpoint in benchmarks)."""

from __future__ import annotations

import random

import pytest

from benchmarks.fuzzer import Fuzzer
from iaxphone.proto.endpoint import EndpointConfig
from iaxphone.proto.events import AudioReceived, PeerReport
from iaxphone.proto.trust import ANYONE, CallerPolicy
from iaxphone.wire.constants import Format
from tests.proto_link import A_ADDR, establish_call, make_link, options

DATAGRAMS = 100_000
SECONDS = 10.0  # of simulated time: 10,000 datagrams a second


@pytest.mark.parametrize("policy", [CallerPolicy.of(A_ADDR[0]), ANYONE], ids=["pbx-only", "anyone"])
def test_a_phone_under_fuzz_keeps_its_call_and_its_size(policy: CallerPolicy) -> None:
    link = make_link(11, b=EndpointConfig(formats=[Format.ULAW], accept_calls_from=policy))
    a, b = link["a"], link["b"]
    call_a, call_b = establish_call(link, "a", "b", options())
    session = b.endpoint._call(call_b)
    fuzz = Fuzzer(2026, lambda: [(session.local_call, session.remote_call)])
    rng = random.Random(7)
    sources = [(f"10.{rng.randrange(1, 255)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
                rng.randrange(1, 65536)) for _ in range(2000)]  # fmt: skip
    mark = len(b.events)
    per_frame = DATAGRAMS * 0.02 / SECONDS
    sent = 0
    largest = 0
    for frame in range(int(SECONDS / 0.02)):
        a.endpoint.send_audio(call_a, frame.to_bytes(4, "big") * 40, 20, link.now)
        for _ in range(int(per_frame)):
            link.inject(fuzz.datagram(), rng.choice(sources), "b")
            sent += 1
        link.advance(0.02)  # fails the test if the endpoint logged an exception
        largest = max(largest, len(b.endpoint.open_sessions))
    link.settle()
    assert sent == DATAGRAMS and min(fuzz.counts.values()) > DATAGRAMS // 5
    heard = [e.payload[:4] for e in b.events[mark:] if isinstance(e, AudioReceived)]
    assert heard == [i.to_bytes(4, "big") for i in range(int(SECONDS / 0.02))]  # every frame
    others = [e for e in b.events[mark:] if not isinstance(e, AudioReceived | PeerReport)]
    assert others == []  # no call, no ring, no voicemail from the fuzz
    assert b.endpoint._call(call_b).active and a.endpoint._call(call_a).active
    # Bounded: sessions at any moment, trunk receivers, the refusal log.
    assert largest <= 1 + b.endpoint.config.max_poke_replies
    assert len(b.endpoint._trunk_receivers) <= 1
    assert b.endpoint.strangers.sources <= b.endpoint.strangers.remember
    link.advance(5.0)
    assert b.endpoint.open_sessions == {call_b}
