"""Voice: mini frame timestamp wrap, and several calls on one endpoint pair kept apart."""

from __future__ import annotations

import itertools

from iaxphone.proto.endpoint import Endpoint, EndpointConfig
from iaxphone.proto.events import AudioReceived, CallEnded, IncomingCall
from iaxphone.wire.constants import Format, FrameType
from iaxphone.wire.frames import FullFrame, MiniFrame
from tests.proto_link import C_ADDR, USERS, Link, establish_call, make_link, options


def test_mini_frame_timestamps_unwrap_across_65536_ms() -> None:
    link = make_link()
    a, b = link["a"], link["b"]
    call_a, call_b = establish_call(link, "a", "b", options())
    mark = len(link.wire)
    frames = 3500  # 70 s of 20 ms frames
    for i in range(frames):
        a.endpoint.send_audio(call_a, i.to_bytes(2, "big"), 20, link.now)
        link.advance(0.02)
    link.settle()

    got = b.of_type(AudioReceived)
    assert [int.from_bytes(e.payload, "big") for e in got] == list(range(frames))
    stamps = [e.timestamp for e in got]
    assert all(t2 - t1 == 20 for t1, t2 in itertools.pairwise(stamps))
    assert stamps[0] < 0x10000 < stamps[-1]
    assert {e.call_id for e in got} == {call_b}

    voice = [
        d.frame
        for d in link.wire[mark:]
        if d.src == a.addr
        and (
            isinstance(d.frame, MiniFrame)
            or (isinstance(d.frame, FullFrame) and d.frame.frame_type == FrameType.VOICE)
        )
    ]
    fulls = [f for f in voice if isinstance(f, FullFrame)]
    # The first frame and the first one past each 65.536 s boundary go out full.
    assert [f.timestamp >> 16 for f in fulls] == [0, 1]
    assert fulls[1].timestamp - 0x10000 < 20
    minis = [f for f in voice if isinstance(f, MiniFrame)]
    assert len(minis) == frames - 2
    # The 16-bit field really wrapped, and the receiver rebuilt the upper bits.
    drops = [i for i in range(1, len(minis)) if minis[i].timestamp < minis[i - 1].timestamp]
    assert len(drops) == 1
    assert minis[-1].timestamp == stamps[-1] & 0xFFFF
    assert a.endpoint._call(call_a).active and b.endpoint._call(call_b).active


def test_mini_frame_wrap_is_unwrapped_even_if_the_full_frame_comes_late() -> None:
    """Mini frames just past the wrap overtake the full frame that announces it."""
    link = make_link()
    a, b = link["a"], link["b"]
    call_a, _ = establish_call(link, "a", "b", options())
    link.intercept = lambda d: (
        [0.15]
        if (f := d.full) is not None and f.frame_type == FrameType.VOICE and f.timestamp > 0xFFFF
        else None
    )
    for i in range(3400):
        a.endpoint.send_audio(call_a, i.to_bytes(2, "big"), 20, link.now)
        link.advance(0.02)
    link.settle()
    got = b.of_type(AudioReceived)
    assert len(got) == 3400
    by_payload = {int.from_bytes(e.payload, "big"): e.timestamp for e in got}
    stamps = [by_payload[i] for i in range(3400)]
    assert all(t2 - t1 == 20 for t1, t2 in itertools.pairwise(stamps))
    assert stamps[-1] > 0x10000


def exchange(link: Link, pairs: list[tuple[str, int, str, int]], rounds: int) -> None:
    """Each (sender, call) sends ``rounds`` frames tagged with its own call id."""
    for r in range(rounds):
        for sender, call, _, _ in pairs:
            tag = f"{sender}{call}:{r}".encode()
            link[sender].endpoint.send_audio(call, tag, 20, link.now)
        link.advance(0.02)
    link.settle()


def test_simultaneous_calls_do_not_mix_audio() -> None:
    link = make_link()
    a, b = link["a"], link["b"]
    calls = [establish_call(link, "a", "b", options(number=str(100 + i))) for i in range(3)]
    assert len({ca for ca, _ in calls}) == 3 and len({cb for _, cb in calls}) == 3
    pairs = [("a", ca, "b", cb) for ca, cb in calls] + [("b", cb, "a", ca) for ca, cb in calls]
    exchange(link, pairs, 20)
    for sender, call, receiver, their in pairs:
        got = [e for e in link[receiver].of_type(AudioReceived) if e.call_id == their]
        assert [e.payload for e in got] == [f"{sender}{call}:{r}".encode() for r in range(20)]
    # Hanging up one leaves the others working.
    first_a, first_b = calls[0]
    a.endpoint.hangup(first_a, link.now)
    link.run_until(lambda: b.has(CallEnded, call_id=first_b), 2.0)
    before = len(b.of_type(AudioReceived))
    exchange(link, [p for p in pairs if p[1] != first_a and p[3] != first_a][:2], 5)
    assert len(b.of_type(AudioReceived)) == before + 10
    assert len(a.endpoint.call_ids) == 2


def test_two_callers_with_the_same_call_number_are_kept_apart() -> None:
    """A and C both use call number 2 towards B: B tells them apart by address."""
    link = make_link()
    a, b = link["a"], link["b"]
    c = link.add("c", Endpoint(EndpointConfig(formats=[Format.ULAW])), C_ADDR)
    ca, ba = establish_call(link, "a", "b", options())
    cc, bc = establish_call(link, "c", "b", options(username="6002", secret=USERS["6002"]))
    assert ca == cc  # same local number on both callers
    assert ba != bc
    exchange(link, [("a", ca, "b", ba), ("c", cc, "b", bc), ("b", ba, "a", ca)], 10)
    from_a = [e.payload for e in b.of_type(AudioReceived) if e.call_id == ba]
    from_c = [e.payload for e in b.of_type(AudioReceived) if e.call_id == bc]
    assert from_a == [f"a{ca}:{r}".encode() for r in range(10)]
    assert from_c == [f"c{cc}:{r}".encode() for r in range(10)]
    assert [e.payload for e in a.of_type(AudioReceived)] == [
        f"b{ba}:{r}".encode() for r in range(10)
    ]
    assert not c.of_type(AudioReceived)
    assert {e.peer for e in b.of_type(IncomingCall)} == {a.addr, c.addr}


def test_mini_frames_play_when_the_first_full_voice_frame_is_lost_for_good() -> None:
    """Asterisk stops retransmitting a lost voice frame inside a loss burst: minis still play."""
    link = make_link()
    a, b = link["a"], link["b"]
    call_a, call_b = establish_call(link, "a", "b", options())
    link.intercept = lambda d: (
        [] if (f := d.full) is not None and f.frame_type == FrameType.VOICE else None
    )
    for i in range(50):
        a.endpoint.send_audio(call_a, i.to_bytes(2, "big"), 20, link.now)
        link.advance(0.02)
    link.settle()
    got = b.of_type(AudioReceived)
    assert [int.from_bytes(e.payload, "big") for e in got] == list(range(1, 50))
    assert {e.format for e in got} == {b.endpoint._call(call_b).format} != {0}
    stamps = [e.timestamp for e in got]
    assert all(t2 - t1 == 20 for t1, t2 in itertools.pairwise(stamps))
