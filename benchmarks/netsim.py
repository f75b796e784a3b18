"""Network impairment for benchmarks: a user-space UDP relay and an offline trace model.

The Linux ``netem`` qdisc is not available everywhere (containers, CI), so
this module does the same job in user space:

* :class:`Relay` sits between a client and a server on the loopback
  interface.  The client sends to the relay's address instead of the
  server's; the relay forwards client -> server ("up") and server ->
  client ("down") datagrams, each direction impaired by its own seeded
  :class:`Impairment`, and logs what it did to every datagram
  (:class:`LogEntry`), so a test can compare what arrived with the truth.
* :class:`TraceModel` applies the same impairment models to a list of send
  times without any socket, for offline replays (``benchmarks/quality.py``).

Impairment models (per direction, all seeded and reproducible):

* random loss with probability ``loss``;
* bursty loss, :class:`GilbertElliott` (two states; ``p`` good -> bad,
  ``r`` bad -> good, ``loss_bad`` / ``loss_good`` the loss probability in
  each state; with ``loss_bad=1`` the mean burst is ``1/r`` packets and the
  average loss ``p / (p + r)``);
* delay, :class:`DelayModel`: constant, uniform ``base + U(0, jitter)``,
  normal ``N(base, jitter)`` clipped at 0, or pareto
  ``base + jitter * (Pareto(alpha) - 1)`` (a heavy tail);
* reordering: a fraction ``reorder`` of datagrams gets ``reorder_extra_ms``
  on top of its delay, so later ones overtake it;
* duplication: a fraction ``duplicate`` is sent twice, the copy with its
  own delay.

Every aspect draws from its own random generator (seeded from the seed,
the direction and the aspect), so changing one setting does not change the
random draws of the others.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

DelayKind = Literal["constant", "uniform", "normal", "pareto"]
Direction = Literal["up", "down"]
Action = Literal["forwarded", "dropped", "duplicated"]


@dataclass(frozen=True)
class DelayModel:
    """One-way delay in ms: ``base_ms`` plus jitter of the given kind."""

    kind: DelayKind = "constant"
    base_ms: float = 0.0
    jitter_ms: float = 0.0
    alpha: float = 2.5  # pareto shape: smaller is a heavier tail

    def sample(self, rng: random.Random) -> float:
        if self.kind == "constant" or self.jitter_ms <= 0.0:
            return max(0.0, self.base_ms)
        if self.kind == "uniform":
            return max(0.0, self.base_ms + rng.uniform(0.0, self.jitter_ms))
        if self.kind == "normal":
            return max(0.0, rng.gauss(self.base_ms, self.jitter_ms))
        if self.kind == "pareto":
            return max(0.0, self.base_ms + self.jitter_ms * (rng.paretovariate(self.alpha) - 1.0))
        raise ValueError(f"unknown delay kind {self.kind!r}")


@dataclass(frozen=True)
class GilbertElliott:
    """Two-state bursty loss: p = P(good -> bad), r = P(bad -> good)."""

    p: float
    r: float
    loss_bad: float = 1.0
    loss_good: float = 0.0

    @classmethod
    def for_average(cls, average: float, burst: float) -> GilbertElliott:
        """A model with ``average`` loss and mean bursts of ``burst`` packets (loss_bad = 1)."""
        r = 1.0 / burst
        return cls(p=average * r / (1.0 - average), r=r)

    @property
    def average_loss(self) -> float:
        bad = self.p / (self.p + self.r) if self.p + self.r > 0 else 0.0
        return bad * self.loss_bad + (1.0 - bad) * self.loss_good


@dataclass(frozen=True)
class Impairment:
    """What one direction of the path does to datagrams."""

    loss: float = 0.0
    burst: GilbertElliott | None = None
    delay: DelayModel = field(default_factory=DelayModel)
    reorder: float = 0.0
    reorder_extra_ms: float = 0.0
    duplicate: float = 0.0


@dataclass(frozen=True)
class LogEntry:
    """What the impairment did to the ``index``-th datagram of a direction."""

    direction: Direction
    index: int
    action: Action
    delays_ms: tuple[float, ...]  # one per copy delivered: () dropped, 2 when duplicated
    reordered: bool = False
    size: int = 0

    @property
    def copies(self) -> int:
        return len(self.delays_ms)


class Impairer:
    """The stateful, seeded decision maker for one direction."""

    def __init__(self, impairment: Impairment, seed: int = 0, direction: Direction = "up") -> None:
        self.impairment = impairment
        self.direction: Direction = direction

        def rng(aspect: str) -> random.Random:
            return random.Random(f"{seed}/{direction}/{aspect}")

        self.loss_rng = rng("loss")
        self.burst_rng = rng("burst")
        self.delay_rng = rng("delay")
        self.reorder_rng = rng("reorder")
        self.duplicate_rng = rng("duplicate")
        self.bad = False  # Gilbert-Elliott state
        self.index = 0

    def _lost(self) -> bool:
        imp = self.impairment
        lost = imp.loss > 0.0 and self.loss_rng.random() < imp.loss
        ge = imp.burst
        if ge is not None:
            # Loss decided in the current state, then the state moves on.
            chance = ge.loss_bad if self.bad else ge.loss_good
            lost = (self.burst_rng.random() < chance) or lost
            self.bad = (
                self.burst_rng.random() >= ge.r if self.bad else self.burst_rng.random() < ge.p
            )
        return lost

    def decide(self, size: int = 0) -> LogEntry:
        imp = self.impairment
        index = self.index
        self.index += 1
        if self._lost():
            return LogEntry(self.direction, index, "dropped", (), size=size)
        delay = imp.delay.sample(self.delay_rng)
        reordered = imp.reorder > 0.0 and self.reorder_rng.random() < imp.reorder
        if reordered:
            delay += imp.reorder_extra_ms
        if imp.duplicate > 0.0 and self.duplicate_rng.random() < imp.duplicate:
            copy = imp.delay.sample(self.delay_rng)
            return LogEntry(self.direction, index, "duplicated", (delay, copy), reordered, size)
        return LogEntry(self.direction, index, "forwarded", (delay,), reordered, size)


@dataclass(frozen=True)
class Arrival:
    index: int  # which datagram (a duplicate shares its original's index)
    send_s: float
    arrival_s: float


class TraceModel:
    """Offline impairment: arrival times for a sequence of send times (no sockets)."""

    def __init__(self, impairment: Impairment, seed: int = 0) -> None:
        self.impairment = impairment
        self.seed = seed
        self.log: list[LogEntry] = []

    def arrivals(self, send_times_s: Sequence[float]) -> list[Arrival]:
        """Every delivered copy, in arrival order (ties keep send order)."""
        impairer = Impairer(self.impairment, self.seed, "up")
        self.log = []
        out: list[Arrival] = []
        for send in send_times_s:
            entry = impairer.decide()
            self.log.append(entry)
            out += [Arrival(entry.index, send, send + d / 1000.0) for d in entry.delays_ms]
        out.sort(key=lambda a: (a.arrival_s, a.index))
        return out


class _Side(asyncio.DatagramProtocol):
    def __init__(self, relay: Relay, direction: Direction) -> None:
        self.relay = relay
        self.direction: Direction = direction

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.relay._received(self.direction, data, addr)


class Relay:
    """An impairing UDP relay between one client and ``server`` (both on loopback).

    ``await relay.start()`` returns the address clients send to.  The relay
    forwards to ``server`` from a second socket (as a NAT would), so the
    server answers the relay, which passes the answer on to the client (the
    last address that sent to the listening socket).

    ``cut = True`` drops everything both ways (the network gone: a laptop
    asleep, a cable out) until it is set back to False; those datagrams are
    counted in ``cut_dropped`` and logged as dropped.
    """

    def __init__(
        self,
        server: tuple[str, int],
        up: Impairment | None = None,
        down: Impairment | None = None,
        *,
        seed: int = 0,
        listen: tuple[str, int] = ("127.0.0.1", 0),
    ) -> None:
        self.server = server
        self.listen = listen
        self.impairers: dict[Direction, Impairer] = {
            "up": Impairer(up or Impairment(), seed, "up"),
            "down": Impairer(down or Impairment(), seed, "down"),
        }
        self.log: list[LogEntry] = []
        self.cut = False
        self.cut_dropped = 0
        self.client: tuple[str, int] | None = None
        self.pending = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._progress = asyncio.Event()
        self._front: asyncio.DatagramTransport | None = None
        self._back: asyncio.DatagramTransport | None = None
        self._timers: set[asyncio.TimerHandle] = set()

    async def start(self) -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        front, _ = await loop.create_datagram_endpoint(
            lambda: _Side(self, "up"), local_addr=self.listen
        )
        back, _ = await loop.create_datagram_endpoint(
            lambda: _Side(self, "down"), remote_addr=self.server
        )
        self._front, self._back = front, back
        address: tuple[str, int] = front.get_extra_info("sockname")[:2]
        return address

    def close(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        for transport in (self._front, self._back):
            if transport is not None:
                transport.close()

    async def __aenter__(self) -> Relay:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    @property
    def address(self) -> tuple[str, int]:
        assert self._front is not None, "start() the relay first"
        address: tuple[str, int] = self._front.get_extra_info("sockname")[:2]
        return address

    @property
    def server_side_address(self) -> tuple[str, int]:
        """Where the server sees the relay's datagrams come from (it answers there)."""
        assert self._back is not None, "start() the relay first"
        address: tuple[str, int] = self._back.get_extra_info("sockname")[:2]
        return address

    def received(self, direction: Direction) -> int:
        return self.impairers[direction].index

    def delivered(self, direction: Direction) -> int:
        """Copies the log says were (or will be) sent on in ``direction``."""
        return sum(e.copies for e in self.log if e.direction == direction)

    async def wait_received(self, direction: Direction, count: int) -> None:
        """Until the relay has seen ``count`` datagrams in ``direction``."""
        while self.received(direction) < count:
            self._progress.clear()
            await self._progress.wait()

    async def drain(self) -> None:
        """Until every delayed datagram has been sent on."""
        await self._idle.wait()

    def _received(self, direction: Direction, data: bytes, addr: tuple[str, int]) -> None:
        if direction == "up":
            self.client = addr
        if self.cut:
            self.cut_dropped += 1
            self.log.append(LogEntry(direction, -1, "dropped", (), size=len(data)))
            self._progress.set()
            return
        entry = self.impairers[direction].decide(len(data))
        self.log.append(entry)
        self._progress.set()
        for delay in entry.delays_ms:
            if delay <= 0.0:
                self._send(direction, data)
            else:
                self._schedule(direction, data, delay)

    def _schedule(self, direction: Direction, data: bytes, delay_ms: float) -> None:
        self.pending += 1
        self._idle.clear()
        handle: asyncio.TimerHandle | None = None

        def fire() -> None:
            assert handle is not None
            self._timers.discard(handle)
            self._send(direction, data)
            self.pending -= 1
            if self.pending == 0:
                self._idle.set()

        handle = asyncio.get_running_loop().call_later(delay_ms / 1000.0, fire)
        self._timers.add(handle)

    def _send(self, direction: Direction, data: bytes) -> None:
        if direction == "up":
            if self._back is not None:
                self._back.sendto(data)
        elif self._front is not None and self.client is not None:
            self._front.sendto(data, self.client)
