"""Retransmission limits and VNAK recovery, observed on the wire."""

from __future__ import annotations

import pytest

from iaxphone.proto.call import Call
from iaxphone.proto.callsetup import SETUP_RETRIES
from iaxphone.proto.endpoint import EndpointConfig
from iaxphone.proto.events import (
    AudioReceived,
    CallEnded,
    DtmfReceived,
    IncomingCall,
    TextReceived,
)
from iaxphone.proto.reliability import RetryPolicy
from iaxphone.wire.constants import Format, FrameType, IaxCommand
from tests.proto_link import (
    BLACK_HOLE,
    USERS,
    Datagram,
    Link,
    establish_call,
    is_iax,
    make_link,
    options,
)

RETRY = RetryPolicy(initial=0.5, maximum=4, max_retries=4)
SEND_OFFSETS = [0.0, 0.5, 1.5, 3.5, 7.5]  # 0.5, then doubling, capped at 4
GIVE_UP = 0.5 + 1 + 2 + 4 + 4
# The NEW (like the AUTHREP) has call set-up's longer budget: SETUP_RETRIES resends.
NEW_SEND_OFFSETS = [*SEND_OFFSETS, 11.5, 15.5, 19.5, 23.5]
NEW_GIVE_UP = GIVE_UP + 4 * 4


def slow_link() -> Link:
    return make_link(
        a=EndpointConfig(formats=[Format.ULAW], retry=RETRY),
        b=EndpointConfig(formats=[Format.ULAW], retry=RETRY, users=dict(USERS)),
    )


def test_new_is_sent_exactly_one_plus_setup_retries_times() -> None:
    link = slow_link()
    a = link["a"]
    link.set_conditions("a", "b", BLACK_HOLE)
    t0 = link.now
    call_a = a.endpoint.dial(link["b"].addr, options(), link.now)
    link.run_until(lambda: a.count(CallEnded) == 1, 60.0)
    sent = link.sent("a", "b")
    frames = [d.full for d in sent]
    assert all(f is not None and is_iax(f, IaxCommand.NEW) for f in frames)
    assert len(sent) == 1 + SETUP_RETRIES
    assert [f.retransmitted for f in frames if f is not None] == [False] + [True] * SETUP_RETRIES
    assert [d.sent_at - t0 for d in sent] == pytest.approx(NEW_SEND_OFFSETS)
    # The same frame every time; only the R bit (top bit of the destination call) differs.
    assert len({d.data[:2] + bytes([d.data[2] & 0x7F]) + d.data[3:] for d in sent}) == 1
    assert a.times_of(CallEnded)[0] - t0 == pytest.approx(NEW_GIVE_UP)
    ended = a.of_type(CallEnded)[0]
    assert ended.call_id == call_a and ended.cause_code == 41 and "no answer" in ended.cause
    link.advance(60.0)
    assert len(link.sent("a", "b")) == 1 + SETUP_RETRIES  # nothing after giving up
    assert a.endpoint.open_sessions == set() and a.endpoint.get_timer() is None


def test_in_call_frame_to_a_vanished_peer_ends_the_call() -> None:
    link = slow_link()
    a, b = link["a"], link["b"]
    call_a, _ = establish_call(link, "a", "b", options())
    link.settle()
    link.set_conditions("a", "b", BLACK_HOLE)
    mark = len(link.wire)
    t0 = link.now
    a.endpoint.send_dtmf(call_a, "7", link.now)
    link.run_until(lambda: a.count(CallEnded) == 1, 60.0)
    dtmf = [d for d in link.wire[mark:] if (f := d.full) and f.frame_type == FrameType.DTMF_END]
    assert len(dtmf) == 5
    assert [d.sent_at - t0 for d in dtmf] == pytest.approx(SEND_OFFSETS)
    assert a.times_of(CallEnded)[0] - t0 == pytest.approx(GIVE_UP)
    assert a.of_type(CallEnded)[0].cause_code == 41
    assert not b.of_type(DtmfReceived)


def test_hangup_to_a_vanished_peer_is_retransmitted_then_dropped() -> None:
    link = slow_link()
    a = link["a"]
    call_a, _ = establish_call(link, "a", "b", options())
    link.settle()
    link.set_conditions("a", "b", BLACK_HOLE)
    mark = len(link.wire)
    a.endpoint.hangup(call_a, link.now)
    # The local user learns at once; the HANGUP is still retried in the background.
    link.collect()
    assert a.of_type(CallEnded) == [CallEnded(call_a, "normal clearing", 16, False)]
    link.advance(60.0)
    hangups = [d for d in link.wire[mark:] if is_iax(d.full, IaxCommand.HANGUP)]
    assert len(hangups) == 1 + RETRY.max_retries
    assert a.count(CallEnded) == 1
    assert a.endpoint.open_sessions == set() and a.endpoint.get_timer() is None


def test_lost_full_frame_is_recovered_by_vnak() -> None:
    link = make_link()
    a, b = link["a"], link["b"]
    call_a, call_b = establish_call(link, "a", "b", options())
    link.settle()
    dropped: list[Datagram] = []

    def drop_dtmf_2(d: Datagram) -> list[float] | None:
        f = d.full
        is_2 = f is not None and f.frame_type == FrameType.DTMF_END and f.subclass == ord("2")
        if is_2 and not dropped:
            dropped.append(d)
            return []
        return None

    link.intercept = drop_dtmf_2
    mark = len(link.wire)
    for digit in "123":
        a.endpoint.send_audio(call_a, digit.encode() * 160, 20, link.now)
        a.endpoint.send_dtmf(call_a, digit, link.now)
        link.advance(0.02)
    link.settle()
    link.advance(1.0)

    assert len(dropped) == 1
    lost = dropped[0].full
    assert lost is not None
    after = link.wire[mark:]
    vnaks = [d for d in after if d.src == b.addr and is_iax(d.full, IaxCommand.VNAK)]
    assert len(vnaks) == 1
    vnak = vnaks[0].full
    assert vnak is not None and vnak.iseqno == lost.oseqno  # "send again from here"
    # The sender answers the VNAK at once (well before its 0.25 s retry timer).
    resent = [
        d
        for d in after
        if d.src == a.addr
        and (f := d.full) is not None
        and f.retransmitted
        and f.frame_type == FrameType.DTMF_END
    ]
    assert resent, "no retransmission after VNAK"
    assert resent[0].sent_at - dropped[0].sent_at < 0.1
    resent_2 = [d.full for d in resent if d.full is not None and d.full.subclass == ord("2")]
    assert resent_2 and resent_2[0].oseqno == lost.oseqno
    # Every digit exactly once, in order; the frame after the gap was not processed twice.
    assert [(e.call_id, e.digit) for e in b.of_type(DtmfReceived)] == [
        (call_b, "1"),
        (call_b, "2"),
        (call_b, "3"),
    ]
    assert b.endpoint._call(call_b).reliability.gaps == 1
    assert len(b.of_type(AudioReceived)) == 3


def test_duplicate_full_frames_are_acked_not_redelivered() -> None:
    link = make_link()
    a, b = link["a"], link["b"]
    call_a, _ = establish_call(link, "a", "b", options())
    link.settle()
    mark = len(link.wire)
    link.intercept = lambda d: [0.01, 0.02, 0.03] if d.full is not None else None
    a.endpoint.send_dtmf(call_a, "9", link.now)
    a.endpoint.send_text(call_a, "once", link.now)
    link.settle()
    assert [e.digit for e in b.of_type(DtmfReceived)] == ["9"]
    assert b.count(TextReceived) == 1
    acks = [d for d in link.wire[mark:] if d.src == b.addr and is_iax(d.full, IaxCommand.ACK)]
    assert len(acks) == 2 * 3  # each copy of each frame acknowledged
    assert b.endpoint._call(b.of_type(DtmfReceived)[0].call_id).reliability.duplicates == 4


def test_retransmitted_new_does_not_create_a_second_call() -> None:
    link = make_link()
    a, b = link["a"], link["b"]
    seen = 0

    def drop_first_authreq(d: Datagram) -> list[float] | None:
        nonlocal seen
        if is_iax(d.full, IaxCommand.AUTHREQ):
            seen += 1
            if seen == 1:
                return []
        return None

    link.intercept = drop_first_authreq
    a.endpoint.dial(b.addr, options(), link.now)
    link.run_until(lambda: b.count(IncomingCall) == 1, 5.0)
    link.advance(3.0)
    news = [f for f in link.full_frames("a", "b") if is_iax(f, IaxCommand.NEW)]
    assert any(f.retransmitted for f in news)
    assert b.count(IncomingCall) == 1
    calls = [s for s in b.endpoint._sessions.values() if isinstance(s, Call)]
    assert len(calls) == 1
