"""Trunking in memory: 100 calls on one trunk, both timestamp modes, MTU splitting."""

from __future__ import annotations

import itertools

import pytest

from iaxphone.proto.call import CallOptions
from iaxphone.proto.crypto import FrameCipher, derive_key
from iaxphone.proto.endpoint import Endpoint, EndpointConfig
from iaxphone.proto.events import AudioReceived
from iaxphone.proto.trunk import TrunkBatcher, TrunkReceiver
from iaxphone.wire.constants import Format
from iaxphone.wire.frames import MetaTrunkFrame, parse_frame
from tests.proto_link import USERS, establish_call, make_link


@pytest.mark.parametrize("timestamps", [True, False])
def test_hundred_calls_share_one_datagram_per_interval(timestamps: bool) -> None:
    config = EndpointConfig(formats=[Format.ULAW], trunk_timestamps=timestamps, trunk_mtu=100_000)
    link = make_link(a=config)
    a, b = link["a"], link["b"]
    calls = []
    for n in range(100):
        options = CallOptions(f"{n}", username="6001", secret=USERS["6001"], trunk=True)
        calls.append(establish_call(link, "a", "b", options))
    link.settle()
    mark = len(link.wire)
    for frame in range(10):
        for i, (call_a, _) in enumerate(calls):
            payload = bytes([i]) + frame.to_bytes(1, "big") + bytes(158)
            a.endpoint.send_audio(call_a, payload, 20, link.now)
        link.advance(0.02)
    link.settle()
    trunk_datagrams = [
        d
        for d in link.wire[mark:]
        if d.src == a.addr and isinstance(parse_frame(d.data), MetaTrunkFrame)
    ]
    # The first voice frame of each call is a full frame; the other 9 go in 9 trunk datagrams.
    assert len(trunk_datagrams) == 9
    for datagram in trunk_datagrams:
        frame = parse_frame(datagram.data)
        assert isinstance(frame, MetaTrunkFrame) and frame.with_timestamps is timestamps
        assert len(frame.entries) == 100
    got = {}
    for event in b.of_type(AudioReceived):
        got.setdefault(event.call_id, []).append(event)
    by_b_call = {call_b: i for i, (_, call_b) in enumerate(calls)}
    assert set(got) == set(by_b_call)
    for call_b, events in got.items():
        i = by_b_call[call_b]
        assert [e.payload[:2] for e in events] == [bytes([i, f]) for f in range(10)]
        stamps = [e.timestamp for e in events]
        steps = [later - earlier for earlier, later in itertools.pairwise(stamps)]
        # With per-call stamps the sender's 20 ms grid arrives exactly; without,
        # stamps are rebuilt from the trunk clock (sent every 20 ms).
        assert all(abs(step - 20) <= (0 if timestamps else 2) for step in steps), steps


def test_the_mtu_splits_a_full_trunk() -> None:
    batcher = TrunkBatcher(mtu=1240)
    for call in range(20):
        batcher.add(call + 2, 100, bytes(160), 1.0)
    datagrams = batcher.flush(1.02)
    assert len(datagrams) == 3  # 8 + 6*166 = 1004 fits, a 7th entry would not
    assert all(len(d) <= 1240 for d in datagrams)
    entries = [e for d in datagrams for e in parse_frame(d).entries]  # type: ignore[union-attr]
    assert [e.call_number for e in entries] == [n + 2 for n in range(20)]
    assert batcher.flush(1.04) == []


def test_receiver_rebuilds_call_timestamps_without_per_call_stamps() -> None:
    receiver = TrunkReceiver()
    call_zero = 100.0
    first = receiver.call_timestamp(
        5000, 105.0, call_zero
    )  # trunk says 5 s, we are 5 s into the call
    later = receiver.call_timestamp(5020, 105.025, call_zero)
    assert first == 5000 and later - first == 20


def test_an_encrypted_call_is_never_trunked() -> None:
    endpoint = Endpoint(EndpointConfig(formats=[Format.ULAW]))
    call_id = endpoint.dial(("10.0.0.2", 4569), CallOptions("600", trunk=True), 0.0)
    call = endpoint._call(call_id)
    call.remote_call, call.format = 9, Format.ULAW
    call.machine.state = call.state.__class__.UP
    call.cipher = FrameCipher(derive_key("1", "2"))
    call.clock.last_full_ts, call.clock.last_format, call.clock.ts, call.clock.next_due = (
        0,
        Format.ULAW,
        0,
        20,
    )
    endpoint.datagrams_to_send(0.0)
    endpoint.send_audio(call_id, bytes(160), 20, 0.02)
    assert endpoint.trunks == {}
    ((datagram, _),) = endpoint.datagrams_to_send(0.02)
    assert datagram[:2] == call_id.to_bytes(2, "big")  # a mini frame, encrypted
