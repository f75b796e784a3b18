"""Garbage is dropped on its clear header bytes, before any parsing (a flood's cost per datagram)."""

from __future__ import annotations

import pytest

import iaxphone.proto.endpoint as endpoint_module
from iaxphone.proto.call import CallOptions
from iaxphone.proto.endpoint import Endpoint, EndpointConfig
from iaxphone.wire.constants import Format, FrameType, IaxCommand
from iaxphone.wire.frames import FullFrame, MiniFrame

PBX = ("127.0.0.1", 4569)
STRANGER = ("127.0.0.2", 40000)


def full(dest_call: int, frame_type: int, subclass: int, source_call: int = 7) -> bytes:
    return FullFrame(
        source_call=source_call,
        dest_call=dest_call,
        timestamp=100,
        oseqno=0,
        iseqno=0,
        frame_type=frame_type,
        subclass=subclass,
    ).to_bytes()


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    seen: list[bytes] = []
    real = endpoint_module.parse_frame

    def counting(data: bytes):  # type: ignore[no-untyped-def]
        seen.append(bytes(data))
        return real(data)

    monkeypatch.setattr(endpoint_module, "parse_frame", counting)
    return seen


def test_frames_for_our_calls_from_a_stranger_are_dropped_unparsed(parses: list[bytes]) -> None:
    endpoint = Endpoint(EndpointConfig(formats=[Format.ULAW]))
    call = endpoint.dial(PBX, CallOptions("600", "6001", "secret"), 1.0)
    list(endpoint.datagrams_to_send(1.0))
    garbage = [
        full(call, FrameType.VOICE, Format.ULAW),  # our call number, the wrong source
        full(call, FrameType.IAX, IaxCommand.LAGRQ),
        full(0, FrameType.IAX, IaxCommand.LAGRQ),  # no call, not a frame that opens one
        full(0, FrameType.VOICE, Format.ULAW),
        full(999, FrameType.CONTROL, 4),  # a call number we never gave out
        MiniFrame(7, 100, b"\xff" * 160).to_bytes(),  # voice for no call of this source
        b"\x80\x01\x00",  # a truncated full frame
    ]
    before = endpoint.dropped
    for data in garbage:
        endpoint.receive_datagram(data, STRANGER, 2.0)
    assert endpoint.dropped - before == len(garbage)
    assert parses == []


def test_what_may_concern_us_is_still_parsed(parses: list[bytes]) -> None:
    endpoint = Endpoint(EndpointConfig(formats=[Format.ULAW]))
    call = endpoint.dial(PBX, CallOptions("600", "6001", "secret"), 1.0)
    list(endpoint.datagrams_to_send(1.0))
    wanted = [
        full(call, FrameType.IAX, IaxCommand.ACK),  # our call, its peer
        full(0, FrameType.IAX, IaxCommand.POKE),  # may open a session
        full(0, FrameType.IAX, IaxCommand.NEW),
        full(555, FrameType.IAX, IaxCommand.HANGUP),  # answered even for a call gone here
    ]
    endpoint.receive_datagram(wanted[0], PBX, 2.0)
    for data in wanted[1:]:
        endpoint.receive_datagram(data, STRANGER, 2.0)
    assert parses == wanted
