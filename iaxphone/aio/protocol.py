"""asyncio adapter: one UDP socket, one re-armed timer, the sans-IO endpoint inside.

Everything the endpoint needs from the outside world crosses here: arriving
datagrams (fed in with ``now=loop.time()``), datagrams to send, the single
``loop.call_at`` timer, and events handed to a callback.  After every input
(datagram, timer, command) :meth:`EndpointProtocol.flush` sends what is
pending, delivers events and re-arms the timer.

When the protocol is given the plain socket under its transport, the first
datagram of a wakeup brings in everything else queued on the socket
(:func:`~iaxphone.aio.udp.drain`, up to a batch) and the endpoint is
flushed once for the whole batch, not once per datagram.

Input comes before timers: when the endpoint's timer fires, everything
queued on the socket is read first (up to :data:`MAX_BACKLOG` datagrams).
On a starved machine the socket can hold seconds of voice; the ACK that
answers a frame may wait behind it, and a retransmission timer that ran
before reading it would give up on a peer that had answered long ago (the
soak lost 50 calls at once that way: "no acknowledgement for LAGRP after 5
sends" while the PBX's ACKs sat unread).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from typing import cast

from iaxphone.proto.endpoint import Endpoint
from iaxphone.proto.events import Event

from .udp import BATCH, drain

log = logging.getLogger("iaxphone.aio")

Address = tuple[str, int]

MAX_BACKLOG = 64 * BATCH  # read before a timer runs: about 6 s of 50 calls' voice


class EndpointProtocol(asyncio.DatagramProtocol):
    def __init__(
        self,
        endpoint: Endpoint,
        on_event: Callable[[Event], None],
        sock: socket.socket | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.sock = sock  # read in batches when given
        self.on_event = on_event
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.DatagramTransport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None

    def now(self) -> float:
        return self.loop.time()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        now = self.now()
        self.endpoint.receive_datagram(data, (addr[0], addr[1]), now)
        self._read_queued(BATCH - 1, now)
        self.flush()

    def _read_queued(self, limit: int, now: float) -> int:
        """Hand up to ``limit`` datagrams already queued on the socket to the endpoint."""
        if self.sock is None or self.transport is None or self.transport.is_closing():
            return 0
        receive = self.endpoint.receive_datagram
        taken = 0
        while taken < limit:
            batch = drain(self.sock, min(BATCH, limit - taken))
            for data, source in batch:
                receive(data, source, now)
            taken += len(batch)
            if len(batch) < BATCH:
                break
        return taken

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable and friends: the retransmission timers decide.
        log.debug("socket error: %s", exc)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def flush(self) -> None:
        """Send pending datagrams, deliver events, re-arm the timer."""
        now = self.now()
        if self.transport is not None and not self.transport.is_closing():
            for data, addr in self.endpoint.datagrams_to_send(now):
                self.transport.sendto(data, addr)
        while (event := self.endpoint.next_event()) is not None:
            self.on_event(event)
        self._arm(self.endpoint.get_timer())

    def _arm(self, when: float | None) -> None:
        if when == self._timer_at and self._timer is not None:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = when
        if when is not None:
            self._timer = self.loop.call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        if self._read_queued(MAX_BACKLOG, self.now()):
            self.flush()  # answers to what was read go out before the timers' retransmissions
        self.endpoint.handle_timer(self.now())
        self.flush()
