"""Text messages: the split and rejoin rule, and TEXT frames on plain and encrypted calls."""

from __future__ import annotations

import pytest

from iaxphone.proto.call import CallOptions
from iaxphone.proto.callstate import CallState, CallStateError
from iaxphone.proto.crypto import FrameCipher, derive_key
from iaxphone.proto.endpoint import Endpoint, EndpointConfig
from iaxphone.proto.events import TextReceived
from iaxphone.proto.text import (
    FULL_CHUNK,
    MAX_CHUNK,
    MAX_MESSAGE,
    REJOIN_WINDOW_S,
    TextJoiner,
    split_text,
)
from iaxphone.wire.constants import Format, FrameType
from iaxphone.wire.frames import FullFrame, parse_frame
from tests.proto_link import Conditions, Link, establish_call, make_link, options


def test_a_short_message_is_one_chunk_with_its_nul() -> None:
    assert split_text("héllo") == ["héllo".encode() + b"\0"]


def test_nuls_are_dropped_and_empty_text_refused() -> None:
    assert split_text("a\0b") == [b"ab\0"]
    with pytest.raises(ValueError, match="empty"):
        split_text("\0")


@pytest.mark.parametrize("char", ["x", "é", "€", "🙂"])
def test_long_text_splits_at_character_boundaries_into_full_chunks(char: str) -> None:
    text = char * 700
    chunks = split_text(text)
    assert all(c.endswith(b"\0") and len(c) - 1 <= MAX_CHUNK for c in chunks)
    assert all(len(c) - 1 >= FULL_CHUNK for c in chunks[:-1])  # only the last may be short
    assert [c[:-1].decode() for c in chunks]  # each chunk is valid UTF-8 on its own
    assert b"".join(c[:-1] for c in chunks).decode() == text


def test_the_longest_message_and_one_byte_more() -> None:
    assert len(split_text("x" * MAX_MESSAGE)) == MAX_MESSAGE // MAX_CHUNK
    with pytest.raises(ValueError, match="too long"):
        split_text("x" * (MAX_MESSAGE + 1))


def test_joiner_rejoins_chunks_and_a_byte_wise_cut_character() -> None:
    joiner = TextJoiner()
    text = "€" * 200  # 600 bytes
    data = text.encode()
    first, second, third = data[:255], data[255:510], data[510:]  # cuts inside characters
    assert joiner.receive(first + b"\0", 0.0) == []
    assert joiner.receive(second, 0.1) == []  # no NUL: read as Asterisk does
    assert joiner.receive(third + b"\0", 0.2) == [text]


def test_joiner_delivers_a_lone_full_chunk_after_the_window() -> None:
    joiner = TextJoiner()
    assert joiner.receive(b"y" * MAX_CHUNK + b"\0", 1.0) == []
    assert joiner.deadline == 1.0 + REJOIN_WINDOW_S
    assert joiner.flush(1.0 + REJOIN_WINDOW_S - 0.01) is None
    assert joiner.flush(1.0 + REJOIN_WINDOW_S) == "y" * MAX_CHUNK
    assert joiner.deadline is None and joiner.flush(100.0) is None


def test_joiner_reads_up_to_the_first_nul_and_replaces_bad_utf8() -> None:
    joiner = TextJoiner()
    assert joiner.receive(b"ok\0ignored\0", 0.0) == ["ok"]
    assert joiner.receive(b"\xff!\0", 0.0) == ["\ufffd!"]
    assert joiner.receive(b"\0", 0.0) == []


def test_a_frame_longer_than_a_chunk_is_a_whole_message_at_once() -> None:
    joiner = TextJoiner()
    assert joiner.receive(b"h" * MAX_CHUNK + b"\0", 0.0) == []  # held: more may follow
    long_one = "L" * 1000  # AMI SendText: one frame, whatever the length
    assert joiner.receive(long_one.encode() + b"\0", 0.1) == ["h" * MAX_CHUNK, long_one]
    assert joiner.deadline is None


@pytest.fixture
def link() -> Link:
    return make_link()


def test_long_text_crosses_a_lossy_call_whole_and_in_order(link: Link) -> None:
    a, b = link["a"], link["b"]
    call_a, call_b = establish_call(link, "a", "b", options())
    lossy = Conditions(loss=0.3)
    link.set_conditions("a", "b", lossy)
    long_text = "Ünïcode " * 100  # 1000 bytes: 4 chunks
    assert a.endpoint.send_text(call_a, long_text, link.now) == 4
    a.endpoint.send_text(call_a, "and a short one", link.now)
    link.run_until(lambda: b.count(TextReceived) == 2, 30.0)
    assert b.of_type(TextReceived) == [
        TextReceived(call_b, long_text),
        TextReceived(call_b, "and a short one"),
    ]
    texts = [f for f in link.full_frames("a", "b") if f.frame_type == FrameType.TEXT]
    assert max(len(f.payload) for f in texts) == MAX_CHUNK + 1


def test_text_before_the_call_connects_is_refused() -> None:
    endpoint = Endpoint(EndpointConfig(formats=[Format.ULAW]))
    call_id = endpoint.dial(("10.0.0.2", 4569), CallOptions("600"), 0.0)
    with pytest.raises(CallStateError):
        endpoint.send_text(call_id, "too early", 0.0)


def test_text_on_an_encrypted_call_goes_out_encrypted() -> None:
    endpoint = Endpoint(EndpointConfig(formats=[Format.ULAW]))
    call_id = endpoint.dial(("10.0.0.2", 4569), CallOptions("600"), 0.0)
    call = endpoint._call(call_id)
    call.remote_call = 9
    endpoint._host.bind_remote(call)
    key = derive_key("1", "2")
    call.cipher = FrameCipher(key)
    call.machine.state = CallState.UP  # as if answered
    endpoint.datagrams_to_send(0.0)  # the NEW
    endpoint.send_text(call_id, "secret plan ✓", 0.5)
    sent = [data for data, _ in endpoint.datagrams_to_send(0.5)]
    assert len(sent) == 1
    assert b"secret plan" not in sent[0]
    frame = parse_frame(FrameCipher(key).decrypt(sent[0]))
    assert isinstance(frame, FullFrame) and frame.frame_type == FrameType.TEXT
    assert frame.payload == "secret plan ✓".encode() + b"\0"
