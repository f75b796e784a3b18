"""The UDP socket under every endpoint: opened wide, read in batches.

asyncio's datagram transport reads one datagram per wakeup of the event
loop, and the protocol then flushes the endpoint (sends, events, the timer)
after each.  Under a flood that per-wakeup cost, not the endpoint, sets how
many datagrams a second get in: about 9,000-13,000 a second of fuzz were
read and the rest overflowed the socket's buffer.  So the socket is opened
here, non-blocking, and :func:`drain` reads everything queued (up to a
limit, so timers and the other callbacks still run) when the transport
wakes the protocol for the first datagram; the protocol flushes once per
batch.

The receive buffer holds a burst while the loop is busy (the kernel's
default, about 200 KB or some 200 datagrams, overflowed at 150 calls in the
load benchmark and lost 11 % of the frames; with 4 MB none).  Linux caps
``SO_RCVBUF`` at ``net.core.rmem_max``; a process with CAP_NET_ADMIN (root)
may exceed the cap with ``SO_RCVBUFFORCE``, which is tried first.  The
kernel reports twice the size it grants (the other half is bookkeeping).

Anything that reads IAX2 datagrams from a plain socket (the load benchmark
too) uses these two functions.
"""

from __future__ import annotations

import contextlib
import socket

Address = tuple[str, int]

RECEIVE_BUFFER_BYTES = 8 * 1024 * 1024  # about 8,000 voice datagrams: 0.4 s of a 400-call flood
SEND_BUFFER_BYTES = 4 * 1024 * 1024
BATCH = 256  # datagrams read per wakeup at most: 2.5-10 ms of work, then the loop runs
_SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)


def open_udp_socket(local: Address) -> socket.socket:
    """A bound, non-blocking UDP socket for ``local`` (IPv4 or IPv6), its buffers widened."""
    family = socket.AF_INET6 if ":" in local[0] else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        widen_buffers(sock)
        sock.bind(local)
    except OSError:
        sock.close()
        raise
    return sock


def widen_buffers(sock: socket.socket) -> int:
    """Ask for room; returns the receive buffer the kernel reports (twice what it grants)."""
    granted = False
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, RECEIVE_BUFFER_BYTES)
        granted = True
    if not granted:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
    return sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)


def drain(sock: socket.socket, limit: int = BATCH) -> list[tuple[bytes, Address]]:
    """Read up to ``limit`` queued datagrams without waiting (none when the queue is empty).

    Errors other than "nothing queued" end the batch: an ICMP error on a UDP
    socket is reported once by ``recvfrom`` and the next call reads on.
    """
    batch: list[tuple[bytes, Address]] = []
    recvfrom = sock.recvfrom
    append = batch.append
    try:
        for _ in range(limit):
            data, addr = recvfrom(65535)
            append((data, (addr[0], addr[1])))
    except OSError:  # BlockingIOError: drained; ConnectionRefusedError: ICMP
        pass
    return batch
