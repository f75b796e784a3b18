"""The IAX2 socket asks the kernel for room: a busy loop must not lose voice to a full buffer."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from iaxphone.aio.client import SOCKET_BUFFER_BYTES, IaxClient
from iaxphone.proto.endpoint import EndpointConfig

pytestmark = pytest.mark.asyncio


def kernel_cap(name: str) -> int:
    return int(Path(f"/proc/sys/net/core/{name}").read_text())


async def test_the_socket_buffers_are_widened_up_to_the_kernel_cap() -> None:
    async with IaxClient(("127.0.0.1", 0), EndpointConfig()) as client:
        assert client.transport is not None
        sock = client.transport.get_extra_info("socket")
        received = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        sent = sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
    # Linux reports twice what it grants (bookkeeping); it grants at most the cap.
    assert received >= 2 * min(SOCKET_BUFFER_BYTES, kernel_cap("rmem_max"))
    assert sent >= 2 * min(SOCKET_BUFFER_BYTES, kernel_cap("wmem_max"))
    assert received > 2 * 212992 or kernel_cap("rmem_max") <= 212992  # wider than the default
