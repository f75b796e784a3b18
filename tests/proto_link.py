"""An in-memory, seeded, lossy link between sans-IO endpoints, driven by a fake clock.

Design habit 8 (aioquic ``tests/test_connection.py`` ``roundtrip_until_done``):
two or three :class:`~iaxphone.proto.endpoint.Endpoint` objects exchange
datagrams through a :class:`Link` that never touches a socket.  Addresses
such as ``("10.0.0.1", 4569)`` are only dictionary keys.

* Each direction has its :class:`Conditions` (latency, loss, duplication,
  reordering); all randomness comes from one seeded ``random.Random``, so a
  failing run replays exactly.
* The clock only moves to the next thing that can happen: the next
  datagram delivery or the earliest endpoint timer (``get_timer``).
* A loop guard (``max_steps`` per run) turns a protocol bug that would spin
  forever into a test failure instead of a hung test run.
* Every datagram put on the wire is kept in :attr:`Link.wire` (sent time,
  source, destination, bytes, how many copies were delivered), so tests can
  check the exact frame sequence with :func:`~iaxphone.wire.frames.parse_frame`.
* An exception logged by the endpoint's catch-all in ``receive_datagram``
  fails the run: the catch-all keeps a phone alive but must not hide bugs.
"""

from __future__ import annotations

import heapq
import logging
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from iaxphone.proto.call import CallOptions
from iaxphone.proto.endpoint import Endpoint, EndpointConfig
from iaxphone.proto.events import (
    CallAccepted,
    CallAnswered,
    Event,
    IncomingCall,
)
from iaxphone.wire.constants import Format, FrameType
from iaxphone.wire.frames import Frame, FullFrame, MiniFrame, parse_frame

Address = tuple[str, int]
E = TypeVar("E", bound=Event)

DEFAULT_DELAY = 0.01


class LoopGuardError(AssertionError):
    """The link ran more steps than allowed without reaching its goal."""


@dataclass(slots=True)
class Conditions:
    """What happens to datagrams going one way.

    ``delay`` is the one-way latency; a reordered datagram gets an extra
    ``uniform(0, reorder_delay)`` so later ones overtake it; a duplicated one
    is delivered twice (the copy with its own random extra delay).
    """

    loss: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    delay: float = DEFAULT_DELAY
    reorder_delay: float = 0.06


BLACK_HOLE = Conditions(loss=1.0)


@dataclass(slots=True)
class Datagram:
    """One datagram put on the wire (whether or not it arrived)."""

    index: int
    sent_at: float
    src: Address
    dst: Address
    data: bytes
    copies: int = 0  # copies scheduled for delivery: 0 dropped, 2 duplicated

    @property
    def frame(self) -> Frame:
        return parse_frame(self.data)

    @property
    def full(self) -> FullFrame | None:
        """The parsed full frame, or None for mini/meta frames."""
        frame = parse_frame(self.data)
        return frame if isinstance(frame, FullFrame) else None

    @property
    def dropped(self) -> bool:
        return self.copies == 0


Intercept = Callable[[Datagram], Sequence[float] | None]
"""Decides a datagram's fate: delivery delays (``[]`` drops it), or None for the usual dice."""


@dataclass
class Node:
    """An endpoint on the link, with every event it produced and when."""

    name: str
    addr: Address
    endpoint: Endpoint
    timeline: list[tuple[float, Event]] = field(default_factory=list)

    @property
    def events(self) -> list[Event]:
        return [event for _, event in self.timeline]

    def of_type(self, cls: type[E]) -> list[E]:
        return [event for _, event in self.timeline if isinstance(event, cls)]

    def times_of(self, cls: type[Event]) -> list[float]:
        return [t for t, event in self.timeline if isinstance(event, cls)]

    def has(self, cls: type[Event], **attrs: object) -> bool:
        return any(
            all(getattr(event, k) == v for k, v in attrs.items()) for event in self.of_type(cls)
        )

    def count(self, cls: type[Event]) -> int:
        return len(self.of_type(cls))


class _ErrorTrap(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Link:
    """Carries datagrams between endpoints; see the module docstring."""

    def __init__(
        self,
        seed: int = 0,
        *,
        start: float = 1000.0,
        conditions: Conditions | None = None,
        max_steps: int = 200_000,
    ) -> None:
        self.rng = random.Random(seed)
        self.now = start
        self.default = conditions or Conditions()
        self.conditions: dict[tuple[Address, Address], Conditions] = {}
        self.nodes: dict[str, Node] = {}
        self.by_addr: dict[Address, Node] = {}
        self.wire: list[Datagram] = []
        self.intercept: Intercept | None = None
        self.max_steps = max_steps
        self.steps = 0
        self._queue: list[tuple[float, int, Datagram]] = []
        self._order = 0

    # -- topology ---------------------------------------------------------------

    def add(self, name: str, endpoint: Endpoint, addr: Address) -> Node:
        node = Node(name, addr, endpoint)
        self.nodes[name] = node
        self.by_addr[addr] = node
        return node

    def __getitem__(self, name: str) -> Node:
        return self.nodes[name]

    def set_conditions(
        self, src: str | Address, dst: str | Address, cond: Conditions, both: bool = True
    ) -> None:
        a, b = self._addr(src), self._addr(dst)
        self.conditions[(a, b)] = cond
        if both:
            self.conditions[(b, a)] = cond

    def clear_conditions(self) -> None:
        self.conditions.clear()

    def _addr(self, who: str | Address) -> Address:
        return self.nodes[who].addr if isinstance(who, str) else who

    # -- sending and delivery ---------------------------------------------------------

    def inject(self, data: bytes, src: Address, dst: str | Address, delay: float = 0.0) -> None:
        """Put a hand-made datagram on the wire (``src`` need not be a node)."""
        self._schedule(self._record(src, self._addr(dst), data), [delay])

    def _record(self, src: Address, dst: Address, data: bytes) -> Datagram:
        dgram = Datagram(len(self.wire), self.now, src, dst, data)
        self.wire.append(dgram)
        return dgram

    def _schedule(self, dgram: Datagram, delays: Iterable[float]) -> None:
        for delay in delays:
            dgram.copies += 1
            self._order += 1
            heapq.heappush(self._queue, (self.now + delay, self._order, dgram))

    def _dice(self, dgram: Datagram) -> list[float]:
        cond = self.conditions.get((dgram.src, dgram.dst), self.default)
        rng = self.rng
        if cond.loss and rng.random() < cond.loss:
            return []
        copies = 2 if cond.duplicate and rng.random() < cond.duplicate else 1
        delays = []
        for _ in range(copies):
            extra = 0.0
            if cond.reorder and rng.random() < cond.reorder:
                extra = rng.uniform(0.0, cond.reorder_delay)
            delays.append(cond.delay + extra)
        return delays

    def flush(self) -> None:
        """Take what every endpoint wants to send and put it on the wire."""
        for node in self.nodes.values():
            for data, dst in node.endpoint.datagrams_to_send(self.now):
                dgram = self._record(node.addr, dst, data)
                delays = self.intercept(dgram) if self.intercept is not None else None
                self._schedule(dgram, self._dice(dgram) if delays is None else delays)

    def collect(self) -> None:
        for node in self.nodes.values():
            while (event := node.endpoint.next_event()) is not None:
                node.timeline.append((self.now, event))

    def next_time(self) -> float | None:
        times = [self._queue[0][0]] if self._queue else []
        for node in self.nodes.values():
            timer = node.endpoint.get_timer()
            if timer is not None:
                times.append(timer)
        return min(times, default=None)

    def _step(self, deadline: float) -> bool:
        """Advance to the next delivery or timer (not beyond ``deadline``); False if idle."""
        self.flush()
        self.collect()
        when = self.next_time()
        if when is None or when > deadline:
            self.now = max(self.now, deadline)
            return False
        self.now = max(self.now, when)
        while self._queue and self._queue[0][0] <= self.now:
            _, _, dgram = heapq.heappop(self._queue)
            node = self.by_addr.get(dgram.dst)
            if node is not None:
                node.endpoint.receive_datagram(dgram.data, dgram.src, self.now)
        for node in self.nodes.values():
            timer = node.endpoint.get_timer()
            if timer is not None and timer <= self.now:
                node.endpoint.handle_timer(self.now)
        self.flush()
        self.collect()
        return True

    # -- running ------------------------------------------------------------------

    def run_until(
        self,
        predicate: Callable[[], bool] | None,
        max_time: float,
        *,
        strict: bool = True,
    ) -> dict[str, list[Event]]:
        """Run until ``predicate()`` holds or ``max_time`` seconds of fake time pass.

        Returns the events each endpoint produced during this run, by node name.
        With ``strict`` (the default) a predicate still false at ``max_time``
        fails the test; the loop guard and logged endpoint exceptions always do.
        """
        marks = {name: len(node.timeline) for name, node in self.nodes.items()}
        deadline = self.now + max_time
        trap = _ErrorTrap()
        logger = logging.getLogger("iaxphone")
        logger.addHandler(trap)
        steps = 0
        reached = False
        try:
            while True:
                self.flush()
                self.collect()
                if predicate is not None and predicate():
                    reached = True
                    break
                if not self._step(deadline):
                    break
                steps += 1
                self.steps += 1
                if steps > self.max_steps:
                    raise LoopGuardError(
                        f"loop guard: {steps} steps by t={self.now:.3f} without reaching the goal"
                    )
                if trap.records:
                    break
        finally:
            logger.removeHandler(trap)
        if trap.records:
            record = trap.records[0]
            raise AssertionError(
                f"endpoint logged an error: {record.getMessage()}\n{record.exc_text or ''}"
            )
        if predicate is not None and not reached:
            reached = predicate()
        if predicate is not None and strict and not reached:
            raise AssertionError(
                f"goal not reached by t={self.now:.3f}; events: "
                + repr({n: self.nodes[n].events[marks[n] :] for n in self.nodes})
            )
        return {name: node.events[marks[name] :] for name, node in self.nodes.items()}

    def advance(self, seconds: float) -> dict[str, list[Event]]:
        """Let ``seconds`` of fake time pass, doing everything due on the way."""
        return self.run_until(None, seconds)

    def settle(self, max_time: float = 2.0) -> dict[str, list[Event]]:
        """Run until nothing is in flight (timers may still be pending)."""
        return self.run_until(lambda: not self._queue, max_time)

    @property
    def in_flight(self) -> int:
        return len(self._queue)

    # -- looking at the wire -----------------------------------------------------------

    def sent(
        self, src: str | Address | None = None, dst: str | Address | None = None
    ) -> list[Datagram]:
        a = self._addr(src) if src is not None else None
        b = self._addr(dst) if dst is not None else None
        return [d for d in self.wire if (a is None or d.src == a) and (b is None or d.dst == b)]

    def full_frames(
        self, src: str | Address | None = None, dst: str | Address | None = None
    ) -> list[FullFrame]:
        return [f for d in self.sent(src, dst) if isinstance(f := d.frame, FullFrame)]

    def mini_frames(
        self, src: str | Address | None = None, dst: str | Address | None = None
    ) -> list[MiniFrame]:
        return [f for d in self.sent(src, dst) if isinstance(f := d.frame, MiniFrame)]


# ---------------------------------------------------------------------------------- helpers


def is_iax(frame: object, command: int) -> bool:
    return (
        isinstance(frame, FullFrame)
        and frame.frame_type == FrameType.IAX
        and frame.subclass == command
    )


def establish_call(
    link: Link,
    caller: str,
    callee: str,
    options: CallOptions,
    *,
    max_time: float = 5.0,
) -> tuple[int, int]:
    """Dial, accept and answer; returns ``(caller_call_id, callee_call_id)``."""
    a, b = link[caller], link[callee]
    call_a = a.endpoint.dial(b.addr, options, link.now)
    seen = len(b.of_type(IncomingCall))
    link.run_until(lambda: len(b.of_type(IncomingCall)) > seen, max_time)
    call_b = b.of_type(IncomingCall)[-1].call_id
    b.endpoint.accept(call_b, link.now)
    link.run_until(lambda: a.has(CallAccepted, call_id=call_a), max_time)
    b.endpoint.answer(call_b, link.now)
    link.run_until(lambda: a.has(CallAnswered, call_id=call_a), max_time)
    return call_a, call_b


A_ADDR: Address = ("10.0.0.1", 4569)
B_ADDR: Address = ("10.0.0.2", 4569)
C_ADDR: Address = ("10.0.0.3", 4569)
USERS = {"6001": "secret", "6002": "hunter2"}


def make_link(
    seed: int = 0,
    *,
    a: EndpointConfig | None = None,
    b: EndpointConfig | None = None,
    conditions: Conditions | None = None,
) -> Link:
    """Phone ``a`` (no users) and server ``b`` (a registrar for :data:`USERS`), both G.711."""
    link = Link(seed, conditions=conditions)
    link.add("a", Endpoint(a or EndpointConfig(formats=[Format.ULAW, Format.ALAW])), A_ADDR)
    link.add(
        "b",
        Endpoint(b or EndpointConfig(formats=[Format.ULAW, Format.ALAW], users=dict(USERS))),
        B_ADDR,
    )
    return link


def options(number: str = "100", username: str = "6001", secret: str = "secret") -> CallOptions:
    return CallOptions(number, username=username, secret=secret, caller_number=username)
