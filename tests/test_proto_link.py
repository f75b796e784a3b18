"""The in-memory link itself: seeded dice, fake clock, loop guard, error trap."""

from __future__ import annotations

import logging
from typing import cast

import pytest

from iaxphone.proto.endpoint import Endpoint
from iaxphone.proto.events import CallAnswered, Event
from tests.proto_link import (
    A_ADDR,
    B_ADDR,
    Conditions,
    Link,
    LoopGuardError,
    establish_call,
    make_link,
    options,
)


class Chatter:
    """A stand-in endpoint: sends ``count`` numbered datagrams at start, records arrivals."""

    def __init__(self, peer: tuple[str, int], count: int = 0) -> None:
        self.outbox = [(i.to_bytes(4, "big"), peer) for i in range(count)]
        self.received: list[tuple[float, bytes]] = []
        self.timer: float | None = None

    def receive_datagram(self, data: bytes, addr: tuple[str, int], now: float) -> None:
        self.received.append((now, data))

    def datagrams_to_send(self, now: float) -> list[tuple[bytes, tuple[str, int]]]:
        out, self.outbox = self.outbox, []
        return out

    def get_timer(self) -> float | None:
        return self.timer

    def handle_timer(self, now: float) -> None:
        pass  # a buggy endpoint: the timer never moves on

    def next_event(self) -> Event | None:
        return None


def chatter_link(seed: int, cond: Conditions, count: int) -> tuple[Link, Chatter]:
    link = Link(seed, conditions=cond)
    sink = Chatter(A_ADDR)
    link.add("a", cast(Endpoint, sink), A_ADDR)
    link.add("b", cast(Endpoint, Chatter(A_ADDR, count)), B_ADDR)
    return link, sink


def test_loss_duplication_and_reordering_follow_the_conditions() -> None:
    cond = Conditions(loss=0.3, duplicate=0.2, reorder=0.5, delay=0.01)
    link, sink = chatter_link(1, cond, 4000)
    link.settle()
    sent = link.sent("b", "a")
    assert len(sent) == 4000
    lost = sum(d.dropped for d in sent) / 4000
    doubled = sum(d.copies == 2 for d in sent) / (4000 - sum(d.dropped for d in sent))
    assert 0.27 < lost < 0.33
    assert 0.17 < doubled < 0.23
    assert len(sink.received) == sum(d.copies for d in sent)
    order = [int.from_bytes(data, "big") for _, data in sink.received]
    assert order != sorted(order)  # some overtook others
    assert min(t for t, _ in sink.received) == pytest.approx(1000.01)


def test_same_seed_same_run_other_seed_other_run() -> None:
    cond = Conditions(loss=0.3, duplicate=0.1, reorder=0.3)

    def trace(seed: int) -> list[tuple[float, bytes]]:
        link, sink = chatter_link(seed, cond, 200)
        link.settle()
        return sink.received

    assert trace(5) == trace(5)
    assert trace(5) != trace(6)


def test_clean_link_delivers_everything_in_order_after_the_delay() -> None:
    link, sink = chatter_link(0, Conditions(delay=0.05), 100)
    link.settle()
    assert [int.from_bytes(d, "big") for _, d in sink.received] == list(range(100))
    assert [t for t, _ in sink.received] == pytest.approx([1000.05] * 100)


def test_loop_guard_stops_an_endpoint_whose_timer_never_moves() -> None:
    link, sink = chatter_link(0, Conditions(), 0)
    link.max_steps = 500
    sink.timer = link.now  # always due, handle_timer never clears it
    with pytest.raises(LoopGuardError, match="loop guard"):
        link.advance(1.0)


def test_run_until_fails_when_the_goal_is_not_reached() -> None:
    link, _ = chatter_link(0, Conditions(), 3)
    with pytest.raises(AssertionError, match="goal not reached"):
        link.run_until(lambda: False, 5.0)
    assert link.now == pytest.approx(1005.0)  # the clock went to the limit
    assert link.run_until(lambda: False, 1.0, strict=False) == {"a": [], "b": []}


def test_an_exception_logged_by_an_endpoint_fails_the_run() -> None:
    link, sink = chatter_link(0, Conditions(), 1)

    def boom(data: bytes, addr: tuple[str, int], now: float) -> None:
        logging.getLogger("iaxphone.proto").error("simulated failure")

    sink.receive_datagram = boom  # type: ignore[method-assign]
    with pytest.raises(AssertionError, match="simulated failure"):
        link.settle()


def test_run_until_returns_the_events_of_that_run_per_endpoint() -> None:
    link = make_link()
    call_a, call_b = establish_call(link, "a", "b", options())
    link["b"].endpoint.send_dtmf(call_b, "4", link.now)
    events = link.settle()
    assert [type(e).__name__ for e in events["a"]] == ["DtmfReceived"]
    assert events["b"] == []
    assert link["a"].has(CallAnswered, call_id=call_a)
