"""The IAX2 socket: room in the kernel for a busy loop, and datagrams read in batches."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from iaxphone.aio.client import IaxClient
from iaxphone.aio.protocol import EndpointProtocol
from iaxphone.aio.udp import (
    BATCH,
    RECEIVE_BUFFER_BYTES,
    SEND_BUFFER_BYTES,
    drain,
    open_udp_socket,
)
from iaxphone.proto.endpoint import EndpointConfig
from iaxphone.wire.constants import FrameType, IaxCommand
from iaxphone.wire.frames import FullFrame

DEFAULT_RCVBUF = 212992


def kernel_cap(name: str) -> int:
    return int(Path(f"/proc/sys/net/core/{name}").read_text())


def can_force_buffers() -> bool:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", 33), 1 << 20)
        return True
    except OSError:
        return False
    finally:
        probe.close()


@pytest.mark.asyncio
async def test_the_socket_buffers_are_widened_up_to_the_kernel_cap() -> None:
    async with IaxClient(("127.0.0.1", 0), EndpointConfig()) as client:
        assert client.transport is not None
        sock = client.transport.get_extra_info("socket")
        received = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        sent = sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
    # Linux reports twice what it grants (bookkeeping).  Root may pass the cap
    # (SO_RCVBUFFORCE); anyone else gets at most net.core.rmem_max.
    if can_force_buffers():
        assert received >= 2 * RECEIVE_BUFFER_BYTES
    else:
        assert received >= 2 * min(RECEIVE_BUFFER_BYTES, kernel_cap("rmem_max"))
    assert sent >= 2 * min(SEND_BUFFER_BYTES, kernel_cap("wmem_max"))
    assert received > 2 * DEFAULT_RCVBUF or kernel_cap("rmem_max") <= DEFAULT_RCVBUF


def test_drain_reads_what_is_queued_up_to_the_limit_and_never_waits() -> None:
    sock = open_udp_socket(("127.0.0.1", 0))
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.bind(("127.0.0.1", 0))
    try:
        assert drain(sock) == []  # nothing queued: returns at once
        port = sock.getsockname()[1]
        for i in range(10):
            sender.sendto(bytes([i]) * 5, ("127.0.0.1", port))
        first = drain(sock, limit=4)
        rest = drain(sock)
        assert [data[0] for data, _ in first] == [0, 1, 2, 3]
        assert [data[0] for data, _ in rest] == [4, 5, 6, 7, 8, 9]
        assert {addr for _, addr in first + rest} == {sender.getsockname()}
        assert drain(sock) == []
    finally:
        sock.close()
        sender.close()


@pytest.mark.asyncio
async def test_a_burst_is_taken_in_batches_with_one_flush_per_batch() -> None:
    """1,000 POKEs queued while the loop is busy: every one answered, in a few flushes."""
    async with IaxClient(("127.0.0.1", 0), EndpointConfig(max_poke_replies=0)) as client:
        assert client.protocol is not None
        flushes = 0
        flush = client.protocol.flush

        def counting_flush() -> None:
            nonlocal flushes
            flushes += 1
            flush()

        client.protocol.flush = counting_flush  # type: ignore[method-assign]
        poker = open_udp_socket(("127.0.0.1", 0))  # room for 1,000 PONGs
        try:
            count = 1000
            for i in range(count):
                poke = FullFrame(
                    source_call=i + 2,
                    dest_call=0,
                    timestamp=i,
                    oseqno=0,
                    iseqno=0,
                    frame_type=FrameType.IAX,
                    subclass=IaxCommand.POKE,
                )
                poker.sendto(poke.to_bytes(), client.local_address)
            # The loop was busy (this coroutine did not yield): all of it is queued.
            pongs = 0
            deadline = asyncio.get_running_loop().time() + 10
            while pongs < count and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.01)
                pongs += len(drain(poker, limit=count))
        finally:
            poker.close()
    assert pongs == count
    assert flushes <= 2 * (count // BATCH + 1)  # one per batch (a few more for timers)


class _RecordingEndpoint:
    """Stands in for the endpoint: records the order of its inputs."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def receive_datagram(self, data: bytes, addr: tuple[str, int], now: float) -> None:
        self.calls.append("datagram")

    def handle_timer(self, now: float) -> None:
        self.calls.append("timer")

    def datagrams_to_send(self, now: float) -> list[tuple[bytes, tuple[str, int]]]:
        return []

    def next_event(self) -> None:
        return None

    def get_timer(self) -> float | None:
        return None


@pytest.mark.asyncio
async def test_datagrams_queued_on_the_socket_are_read_before_a_timer_runs() -> None:
    """The ACK that answers a frame may sit behind a backlog of voice: read it, then retry."""
    sock = open_udp_socket(("127.0.0.1", 0))
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    endpoint = _RecordingEndpoint()
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: EndpointProtocol(endpoint, lambda event: None, sock),  # type: ignore[arg-type]
        sock=sock,
    )
    try:
        # Queued while the loop is busy (this coroutine does not yield).
        for _ in range(600):
            sender.sendto(b"\x80\x02" + bytes(10), sock.getsockname())
        protocol._on_timer()
        assert endpoint.calls == ["datagram"] * 600 + ["timer"]
    finally:
        transport.close()
        sender.close()
