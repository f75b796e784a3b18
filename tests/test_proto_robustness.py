"""Hostile and broken input: fuzzing mid-call, spoofed frames, call-token and half-open limits."""

from __future__ import annotations

import random

import pytest

from iaxphone.proto.endpoint import EndpointConfig
from iaxphone.proto.events import (
    AudioReceived,
    CallEnded,
    DtmfReceived,
    IncomingCall,
    PeerReport,
)
from iaxphone.wire.constants import ControlType, Format, FrameType, IaxCommand
from iaxphone.wire.frames import FullFrame, MiniFrame
from iaxphone.wire.ies import IE_FIELDS, InformationElements
from tests.proto_link import (
    A_ADDR,
    B_ADDR,
    USERS,
    Link,
    establish_call,
    is_iax,
    make_link,
    options,
)

ATTACKER = ("10.0.0.66", 4569)


def call_frame(
    link: Link, sender: str, receiver_call: int, sender_call: int, **kw: object
) -> FullFrame:
    """A full frame from ``sender``'s call with the next sequence numbers it would use."""
    session = link[sender].endpoint._call(sender_call)
    fields: dict[str, object] = {
        "source_call": sender_call,
        "dest_call": receiver_call,
        "timestamp": 5000,
        "oseqno": session.reliability.oseqno,
        "iseqno": session.reliability.iseqno,
        "frame_type": FrameType.IAX,
        "subclass": IaxCommand.HANGUP,
        "ies": InformationElements(cause="spoofed", cause_code=16),
    }
    fields.update(kw)
    return FullFrame(**fields)  # type: ignore[arg-type]


def audio_still_flows(link: Link, call_a: int, call_b: int) -> None:
    a, b = link["a"], link["b"]
    before_a, before_b = len(a.of_type(AudioReceived)), len(b.of_type(AudioReceived))
    for i in range(5):
        a.endpoint.send_audio(call_a, b"ok-a%d" % i, 20, link.now)
        b.endpoint.send_audio(call_b, b"ok-b%d" % i, 20, link.now)
        link.advance(0.02)
    link.settle()
    assert [e.payload for e in b.of_type(AudioReceived)[before_b:]] == [
        b"ok-a%d" % i for i in range(5)
    ]
    assert [e.payload for e in a.of_type(AudioReceived)[before_a:]] == [
        b"ok-b%d" % i for i in range(5)
    ]


def mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    choice = rng.randrange(5)
    if choice == 0 and buf:
        for _ in range(rng.randint(1, 4)):
            buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
    elif choice == 1:
        del buf[rng.randrange(len(buf) + 1) :]
    elif choice == 2:
        buf += rng.randbytes(rng.randint(1, 40))
    elif choice == 3 and len(buf) > 12:
        buf[12:] = rng.randbytes(len(buf) - 12)  # garbage IEs / payload, sane header
    else:
        pos = rng.randrange(len(buf) + 1)
        buf[pos:pos] = rng.randbytes(rng.randint(1, 8))
    return bytes(buf)


def test_fuzzing_mid_call_neither_raises_nor_disturbs_the_call() -> None:
    link = make_link(7)
    a, b = link["a"], link["b"]
    call_a, call_b = establish_call(link, "a", "b", options())
    for i in range(5):
        a.endpoint.send_audio(call_a, bytes([i]) * 160, 20, link.now)
        a.endpoint.send_dtmf(call_a, "1", link.now)
        link.advance(0.02)
    link.settle()
    corpus = [d.data for d in link.wire]
    rng = random.Random(1234)
    mark_a, mark_b = len(a.events), len(b.events)
    dropped_before = b.endpoint.dropped
    sources = [ATTACKER, ("10.0.0.67", 1), ("192.0.2.1", 4569)]
    for n in range(4000):
        data = rng.randbytes(rng.randint(0, 80)) if n % 4 == 0 else mutate(rng, rng.choice(corpus))
        link.inject(data, rng.choice(sources), "b")
        link.inject(data, rng.choice(sources), "a")
        if n % 200 == 0:
            link.advance(0.05)  # let timers of any sessions the junk created run
    link.advance(10.0)  # run_until fails if the endpoint logged an exception
    assert b.endpoint.dropped - dropped_before > 2000
    # Junk from strangers produced no events (but the regular PING reports), and the
    # call is still there.
    assert [e for e in b.events[mark_b:] if not isinstance(e, PeerReport)] == []
    assert [e for e in a.events[mark_a:] if not isinstance(e, PeerReport)] == []
    assert b.endpoint._call(call_b).active and a.endpoint._call(call_a).active
    audio_still_flows(link, call_a, call_b)
    # The junk left no sessions behind (POKE replies etc. expire).
    assert b.endpoint.open_sessions == {call_b}
    assert a.endpoint.open_sessions == {call_a}


def test_mutated_datagrams_from_the_peer_itself_never_raise() -> None:
    """Bit flips from the real peer address may disturb the call, but must not crash."""
    link = make_link(8)
    a, b = link["a"], link["b"]
    call_a, call_b = establish_call(link, "a", "b", options())
    for i in range(5):
        a.endpoint.send_audio(call_a, bytes([i]) * 160, 20, link.now)
        b.endpoint.send_text(call_b, "hi", link.now)
        link.advance(0.02)
    link.settle()
    corpus = [(d.data, d.src, d.dst) for d in link.wire]
    rng = random.Random(99)
    for n in range(3000):
        data, src, dst = rng.choice(corpus)
        link.inject(mutate(rng, data), src, dst)
        if n % 100 == 0:
            link.advance(0.02)
    link.advance(30.0)  # fails on any exception the endpoints logged
    assert b.endpoint.dropped > 0 and a.endpoint.dropped > 0


def test_frames_for_the_call_from_another_address_are_ignored() -> None:
    link = make_link()
    b = link["b"]
    call_a, call_b = establish_call(link, "a", "b", options())
    link.settle()
    mark = len(b.events)
    hangup = call_frame(link, "a", call_b, call_a)
    dtmf = call_frame(link, "a", call_b, call_a, frame_type=FrameType.DTMF_END, subclass=ord("9"))
    dtmf.ies = None
    mini = MiniFrame(call_a, 200, b"spoofed audio")
    for frame in (hangup, dtmf, mini):
        link.inject(frame.to_bytes(), ATTACKER, "b")
    link.settle()
    assert b.events[mark:] == []
    assert b.endpoint._call(call_b).active
    audio_still_flows(link, call_a, call_b)


def test_frames_with_the_wrong_source_call_are_ignored() -> None:
    link = make_link()
    b = link["b"]
    call_a, call_b = establish_call(link, "a", "b", options())
    link.settle()
    mark = len(b.events)
    wrong = call_a + 1000
    hangup = call_frame(link, "a", call_b, call_a, source_call=wrong)
    hold = call_frame(
        link, "a", call_b, call_a, source_call=wrong, frame_type=FrameType.CONTROL,
        subclass=ControlType.HOLD, ies=None,
    )  # fmt: skip
    for frame in (hangup, hold):
        link.inject(frame.to_bytes(), A_ADDR, "b")
    link.inject(MiniFrame(wrong, 300, b"not this call").to_bytes(), A_ADDR, "b")
    link.settle()
    assert b.events[mark:] == []
    assert b.endpoint._call(call_b).active
    assert b.endpoint._call(call_b).remote_call == call_a
    audio_still_flows(link, call_a, call_b)
    # The genuine frame with the right numbers is still accepted.
    link.inject(call_frame(link, "a", call_b, call_a).to_bytes(), A_ADDR, "b")
    link.settle()
    assert b.has(CallEnded, call_id=call_b, cause="spoofed")


def test_wrong_source_call_is_ignored_when_the_sequence_number_wraps_to_zero() -> None:
    """After exactly 256 frames from the peer, iseqno is 0 again (8-bit)."""
    link = make_link()
    a, b = link["a"], link["b"]
    call_a, call_b = establish_call(link, "a", "b", options())
    session = b.endpoint._call(call_b)
    while session.reliability.iseqno != 0:
        a.endpoint.send_dtmf(call_a, "1", link.now)
        link.advance(0.02)
    link.settle()
    assert b.count(DtmfReceived) > 200
    mark = len(b.events)
    forged = call_frame(link, "a", call_b, call_a, source_call=call_a + 1000)
    link.inject(forged.to_bytes(), A_ADDR, "b")
    link.settle()
    assert b.events[mark:] == []
    assert b.endpoint._call(call_b).active


def new_frame(source_call: int, token: bytes | None, *, username: str = "6001") -> FullFrame:
    ies = InformationElements(
        version=2,
        called_number="100",
        username=username,
        capability=int(Format.ULAW),
        format=int(Format.ULAW),
    )
    if token is not None:
        ies.call_token = token
    return FullFrame(
        source_call=source_call,
        dest_call=0,
        timestamp=0,
        oseqno=0,
        iseqno=0,
        frame_type=FrameType.IAX,
        subclass=IaxCommand.NEW,
        ies=ies,
    )


def open_link() -> Link:
    """``b`` takes calls from anyone (no users), at most 3 half-open per peer."""
    return make_link(b=EndpointConfig(formats=[Format.ULAW], max_half_open_per_peer=3))


def fetch_token(link: Link, src: tuple[str, int], source_call: int = 500) -> bytes:
    mark = len(link.wire)
    link.inject(new_frame(source_call, b"").to_bytes(), src, "b")
    link.settle()
    replies = [d.full for d in link.wire[mark:] if d.dst == src and d.full is not None]
    assert len(replies) == 1 and is_iax(replies[0], IaxCommand.CALLTOKEN)
    token = replies[0].ies.call_token if replies[0].ies is not None else None
    assert token
    return token


def replies_to(link: Link, src: tuple[str, int], mark: int) -> list[FullFrame]:
    return [f for d in link.wire[mark:] if d.dst == src and (f := d.full) is not None]


def test_new_without_calltoken_ie_is_rejected() -> None:
    link = open_link()
    b = link["b"]
    mark = len(link.wire)
    link.inject(new_frame(600, None).to_bytes(), ATTACKER, "b")
    link.settle()
    (reply,) = replies_to(link, ATTACKER, mark)
    assert is_iax(reply, IaxCommand.REJECT)
    assert reply.dest_call == 600 and reply.ies is not None and reply.ies.cause_code == 21
    assert not b.of_type(IncomingCall) and b.endpoint.open_sessions == set()


def test_new_with_forged_or_foreign_or_expired_token_is_dropped() -> None:
    link = open_link()
    b = link["b"]
    good = fetch_token(link, ATTACKER)
    other = fetch_token(link, ("10.0.0.77", 4569))
    mark = len(link.wire)
    forged = [
        b"1000?" + b"0" * 40,
        good[:-1] + bytes([good[-1] ^ 1]),
        b"not a token",
        b"\xff\xfe",
        other,  # issued to another address
        str(int(link.now) + 1).encode() + good[good.index(b"?") :],  # re-stamped
    ]
    for i, token in enumerate(forged):
        link.inject(new_frame(700 + i, token).to_bytes(), ATTACKER, "b")
    link.settle()
    link.advance(11.5)  # the genuine token is now too old
    link.inject(new_frame(800, good).to_bytes(), ATTACKER, "b")
    link.settle()
    assert replies_to(link, ATTACKER, mark) == []  # dropped silently, not answered
    assert not b.of_type(IncomingCall) and b.endpoint.open_sessions == set()


def test_new_with_a_fresh_genuine_token_is_accepted() -> None:
    """The counterpart of the test above: a valid token within its lifetime works."""
    link = open_link()
    b = link["b"]
    token = fetch_token(link, ATTACKER)
    link.advance(5.0)
    link.inject(new_frame(900, token).to_bytes(), ATTACKER, "b")
    link.settle()
    assert [e.peer for e in b.of_type(IncomingCall)] == [ATTACKER]


def test_half_open_calls_per_peer_are_limited() -> None:
    link = open_link()
    b = link["b"]
    token = fetch_token(link, ATTACKER)
    mark = len(link.wire)
    for i in range(6):
        link.inject(new_frame(1000 + i, token).to_bytes(), ATTACKER, "b")
    link.settle()
    assert b.count(IncomingCall) == 3
    rejects = [f for f in replies_to(link, ATTACKER, mark) if is_iax(f, IaxCommand.REJECT)]
    assert [f.dest_call for f in rejects] == [1003, 1004, 1005]
    assert all(f.ies is not None and f.ies.cause_code == 34 for f in rejects)
    # Another address is not affected by this peer's half-open calls...
    other = ("10.0.0.88", 4569)
    link.inject(new_frame(2000, fetch_token(link, other)).to_bytes(), other, "b")
    link.settle()
    assert b.count(IncomingCall) == 4
    # ...and answering one frees a slot for the flooding peer.
    first = b.of_type(IncomingCall)[0].call_id
    b.endpoint.answer(first, link.now)
    link.inject(new_frame(1010, token).to_bytes(), ATTACKER, "b")
    link.settle()
    assert b.count(IncomingCall) == 5


def test_half_open_limit_seen_from_a_real_caller() -> None:
    link = make_link(
        b=EndpointConfig(formats=[Format.ULAW], users=dict(USERS), max_half_open_per_peer=2)
    )
    a, b = link["a"], link["b"]
    ids = [a.endpoint.dial(B_ADDR, options(number=str(i)), link.now) for i in range(3)]
    link.run_until(lambda: a.count(CallEnded) == 1, 2.0)
    link.settle()
    assert b.count(IncomingCall) == 2
    (ended,) = a.of_type(CallEnded)
    assert ended.call_id == ids[2] and ended.cause_code == 34


def test_hangup_for_a_call_that_no_longer_exists_is_acked() -> None:
    link = make_link()
    b = link["b"]
    stale = FullFrame(
        source_call=42,
        dest_call=1234,
        timestamp=10,
        oseqno=3,
        iseqno=2,
        frame_type=FrameType.IAX,
        subclass=IaxCommand.HANGUP,
        ies=InformationElements(cause_code=16),
    )
    link.inject(stale.to_bytes(), ATTACKER, "b")
    link.settle()
    (reply,) = [d.full for d in link.sent(dst=ATTACKER)]
    assert reply is not None and is_iax(reply, IaxCommand.ACK) and reply.dest_call == 42
    assert not b.events and b.endpoint.open_sessions == set()


# ------------------------------------------------------------------ odd frames from the peer


def test_structured_fuzz_of_in_call_frames_from_the_peer() -> None:
    """Well-formed, correctly sequenced frames of every type with random content."""
    rng = random.Random(2024)
    link = make_link(3)
    a, b = link["a"], link["b"]
    call_a, call_b = establish_call(link, "a", "b", options())
    # Commands a call answers (HANGUP/REJECT left out: they would just end it). AUTHREQ,
    # CALLTOKEN, unknown commands and TXREQ (answered by TXREJ, which the other side
    # does not know) have their own (xfail) tests below.
    commands = [
        IaxCommand.ACK, IaxCommand.PING, IaxCommand.PONG, IaxCommand.LAGRQ, IaxCommand.LAGRP,
        IaxCommand.ACCEPT, IaxCommand.AUTHREP, IaxCommand.NEW, IaxCommand.QUELCH,
        IaxCommand.UNQUELCH, IaxCommand.TRANSFER, IaxCommand.VNAK,
    ]  # fmt: skip
    controls = [c for c in ControlType if c not in (ControlType.BUSY, ControlType.CONGESTION)]
    kinds = [FrameType.IAX] * 4 + [FrameType.CONTROL] * 2 + [t for t in FrameType] + [99]
    fields = list(IE_FIELDS.values())
    for _ in range(150):
        sender, call = ("a", call_a) if rng.random() < 0.5 else ("b", call_b)
        session = link[sender].endpoint._call(call)
        kind = rng.choice(kinds)
        ies = None
        payload = b""
        if kind == FrameType.IAX:
            subclass: int = rng.choice(commands)
            ies = InformationElements()
            for _ in range(rng.randrange(4)):
                field = rng.choice(fields)
                size = field.kind.size
                raw = rng.randbytes(size if size is not None else rng.randrange(12))
                try:
                    field.check(raw)
                except Exception:
                    continue
                ies.append_raw(field.ie, raw)
        elif kind == FrameType.CONTROL:
            subclass = rng.choice(controls)
        elif kind in (FrameType.VOICE, FrameType.VIDEO, FrameType.IMAGE):
            subclass = 1 << rng.randrange(20)
        else:
            subclass = rng.randrange(128)
        if kind != FrameType.IAX:
            payload = rng.randbytes(rng.randrange(24))
        session.send_full(kind, subclass, link.now, ies=ies, payload=payload)
        link.advance(0.01)  # fails on a logged exception or a runaway exchange
    link.advance(12.0)
    assert len(link.wire) > 300
    assert len(a.events) + len(b.events) > 40  # DTMF, text, hold, quelch, transfer, ...
    assert a.endpoint._call(call_a).active and b.endpoint._call(call_b).active
    assert not any(f.retransmitted for f in link.full_frames() if f.timestamp < 10)
    audio_still_flows(link, call_a, call_b)
    before = len(link.wire)
    link.advance(5.0)
    assert len(link.wire) - before < 20  # quiet again: only PINGs and their answers


@pytest.mark.parametrize(
    "command", [IaxCommand.FWDOWNL, IaxCommand.TXREQ], ids=["FWDOWNL", "TXREQ"]
)
def test_unknown_iax_command_gets_one_unsupport_not_a_ping_pong(command: IaxCommand) -> None:
    """TXREQ is answered with TXREJ, which the asking iaxphone does not know either."""
    link = make_link()
    a, b = link["a"], link["b"]
    call_a, call_b = establish_call(link, "a", "b", options())
    link.settle()
    mark = len(link.wire)
    a.endpoint._call(call_a).send_iax(command, link.now)
    link.advance(1.0)
    unsupports = [d for d in link.wire[mark:] if is_iax(d.full, IaxCommand.UNSUPPORT)]
    assert len(unsupports) <= 1
    assert b.endpoint._call(call_b).active


def test_authreq_on_an_incoming_call_is_ignored() -> None:
    link = make_link()
    a, b = link["a"], link["b"]
    call_a, call_b = establish_call(link, "a", "b", options())
    challenge = InformationElements(auth_methods=2, challenge="12345", username="x")
    a.endpoint._call(call_a).send_iax(IaxCommand.AUTHREQ, link.now, challenge)
    link.advance(2.0)  # fails if b logged an exception
    assert b.endpoint._call(call_b).active
    assert not any(f.retransmitted for f in link.full_frames("a", "b"))


def test_calltoken_inside_an_established_call_does_not_wedge_it() -> None:
    link = make_link()
    a, b = link["a"], link["b"]
    call_a, call_b = establish_call(link, "a", "b", options())
    link.settle()
    mark = len(link.wire)
    a.endpoint._call(call_a).send_iax(
        IaxCommand.CALLTOKEN, link.now, InformationElements(call_token=b"1?x")
    )
    a.endpoint.send_dtmf(call_a, "5", link.now)
    link.advance(2.0)
    assert b.has(DtmfReceived, call_id=call_b, digit="5")
    vnaks = [d for d in link.wire[mark:] if is_iax(d.full, IaxCommand.VNAK)]
    assert len(vnaks) < 10
