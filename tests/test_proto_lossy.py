"""Registration and whole calls over a lossy, duplicating, reordering link (seeded)."""

from __future__ import annotations

import pytest

from iaxphone.proto.events import (
    AudioReceived,
    CallAnswered,
    CallEnded,
    DtmfReceived,
    HoldChanged,
    IncomingCall,
    Registered,
    TextReceived,
)
from iaxphone.proto.registrar import PeerRegistered
from iaxphone.proto.registration import Account, RegState
from tests.proto_link import (
    B_ADDR,
    Conditions,
    Link,
    establish_call,
    make_link,
    options,
)

LOSSY = Conditions(loss=0.25, duplicate=0.1, reorder=0.2, delay=0.02, reorder_delay=0.08)
DIGITS = "0123456789*#ABCD"


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_registration_and_refreshes_complete_over_a_lossy_link(seed: int) -> None:
    link = make_link(seed, conditions=LOSSY)
    a, b = link["a"], link["b"]
    name = a.endpoint.register(Account("6001", "secret", B_ADDR), link.now)
    link.run_until(lambda: a.count(Registered) >= 1, 120.0)
    assert a.endpoint.registration_state(name) is RegState.REGISTERED
    assert b.has(PeerRegistered, username="6001")
    # Three refreshes (every 45 s); the binding must stay usable throughout.
    link.run_until(lambda: a.count(Registered) >= 4, 240.0)
    assert a.endpoint.registration_state(name) is RegState.REGISTERED
    assert b.count(PeerRegistered) >= 4
    assert any(d.dropped for d in link.wire), "the link was not lossy"


def run_lossy_call(link: Link) -> tuple[int, int]:
    a, b = link["a"], link["b"]
    call_a, call_b = establish_call(link, "a", "b", options(), max_time=60.0)
    for i in range(200):
        a.endpoint.send_audio(call_a, i.to_bytes(2, "big") * 80, 20, link.now)
        b.endpoint.send_audio(call_b, (1000 + i).to_bytes(2, "big") * 80, 20, link.now)
        if i % 10 == 5:
            digit = DIGITS[(i // 10) % len(DIGITS)]
            a.endpoint.send_dtmf(call_a, digit, link.now)
        if i == 100:
            b.endpoint.send_text(call_b, "halfway", link.now)
        link.advance(0.02)
    b.endpoint.hold(call_b, link.now)
    link.advance(0.1)
    b.endpoint.unhold(call_b, link.now)
    link.run_until(lambda: a.count(HoldChanged) == 2, 30.0)
    a.endpoint.hangup(call_a, link.now, "bye", 16)
    link.run_until(lambda: b.count(CallEnded) == 1, 60.0)
    link.advance(15.0)  # every retransmission settles
    return call_a, call_b


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_full_call_over_a_lossy_link(seed: int) -> None:
    link = make_link(seed, conditions=LOSSY)
    a, b = link["a"], link["b"]
    call_a, call_b = run_lossy_call(link)

    expected = "".join(DIGITS[(i // 10) % len(DIGITS)] for i in range(200) if i % 10 == 5)
    dtmf = b.of_type(DtmfReceived)
    assert "".join(e.digit for e in dtmf) == expected  # exactly once, in order
    assert {e.call_id for e in dtmf} == {call_b}
    assert a.of_type(TextReceived) == [TextReceived(call_a, "halfway")]
    assert [e.held for e in a.of_type(HoldChanged)] == [True, False]
    assert b.count(IncomingCall) == 1
    assert a.count(CallAnswered) == 1 and b.count(CallAnswered) == 1
    assert b.of_type(CallEnded) == [CallEnded(call_b, "bye", 16, True)]
    assert a.count(CallEnded) == 1

    # Voice is unreliable: some frames are lost, but whatever arrives is a real
    # frame of this call, and the first one (full) made it eventually.
    for receiver, base in (("b", 0), ("a", 1000)):
        got = link[receiver].of_type(AudioReceived)
        numbers = {int.from_bytes(e.payload[:2], "big") - base for e in got}
        assert numbers <= set(range(200))
        assert 0 in numbers
        assert len(numbers) > 100
    assert any(d.dropped for d in link.wire) and any(d.copies == 2 for d in link.wire)
    # Both ends cleaned up.
    assert a.endpoint.open_sessions == set() and b.endpoint.open_sessions == set()


def test_reliable_events_are_never_duplicated_on_a_duplicating_link() -> None:
    link = make_link(5, conditions=Conditions(duplicate=1.0, reorder=0.3, delay=0.02))
    a, b = link["a"], link["b"]
    call_a, call_b = establish_call(link, "a", "b", options())
    for digit in "1590":
        a.endpoint.send_dtmf(call_a, digit, link.now)
        link.advance(0.05)
    b.endpoint.send_text(call_b, "x", link.now)
    b.endpoint.hold(call_b, link.now)
    link.advance(1.0)
    a.endpoint.hangup(call_a, link.now)
    link.advance(10.0)
    assert all(d.copies == 2 for d in link.wire)
    assert [e.digit for e in b.of_type(DtmfReceived)] == list("1590")
    assert a.count(TextReceived) == 1 and a.count(HoldChanged) == 1
    assert a.count(IncomingCall) == 0 and b.count(IncomingCall) == 1
    assert a.count(CallAnswered) == 1 and b.count(CallEnded) == 1 and a.count(CallEnded) == 1


def test_duplicated_mini_frames_are_delivered_once() -> None:
    link = make_link()
    a, b = link["a"], link["b"]
    call_a, _ = establish_call(link, "a", "b", options())
    link.intercept = lambda d: [0.01, 0.015]
    for i in range(10):
        a.endpoint.send_audio(call_a, bytes([i]) * 160, 20, link.now)
        link.advance(0.02)
    link.settle()
    stamps = [e.timestamp for e in b.of_type(AudioReceived)]
    assert len(stamps) == len(set(stamps)) == 10


def test_sequence_numbers_wrap_over_a_lossy_link() -> None:
    """600 texts: the 8-bit sequence numbers wrap twice while frames are lost and resent."""
    link = make_link(21, conditions=LOSSY)
    a, b = link["a"], link["b"]
    call_a, _ = establish_call(link, "a", "b", options(), max_time=60.0)
    for i in range(600):
        a.endpoint.send_text(call_a, f"m{i}", link.now)
        link.advance(0.03)
    link.advance(15.0)
    assert [e.text for e in b.of_type(TextReceived)] == [f"m{i}" for i in range(600)]
    assert a.endpoint._call(call_a).active
