"""EventHub: callbacks, bounded queues and one-shot waiters, each with its own delivery."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import pytest

from iaxphone.subscriptions import EventHub


@dataclass(frozen=True)
class Change:
    n: int


@dataclass(frozen=True)
class Stat:
    n: int


def hub() -> EventHub[object]:
    return EventHub(droppable=lambda e: isinstance(e, Stat))


def test_a_full_queue_drops_its_oldest_statistics_and_keeps_every_change_in_order() -> None:
    events = hub()
    queue = events.queue(max_droppable=3)
    for n in range(10):
        events.emit(Stat(n))
        if n % 4 == 0:
            events.emit(Change(n))
    assert len(queue) == 3 + 3 and queue.dropped == 7
    got = [queue.get_nowait() for _ in range(len(queue))]
    assert got == [Change(0), Change(4), Stat(7), Stat(8), Change(8), Stat(9)]  # as emitted
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()


def test_a_queue_takes_only_its_kinds_and_stops_filling_when_closed() -> None:
    events = hub()
    with events.queue(Change) as changes:
        events.emit(Stat(1))
        events.emit(Change(2))
        assert [changes.get_nowait()] == [Change(2)] and changes.empty()
    events.emit(Change(3))
    assert changes.empty() and events.subscriber_count == 0


def test_a_failing_callback_is_logged_and_the_others_still_hear(
    caplog: pytest.LogCaptureFixture,
) -> None:
    events = hub()
    heard: list[object] = []

    def broken(_event: object) -> None:
        raise RuntimeError("widget gone")

    events.subscribe(broken)
    subscription = events.subscribe(heard.append)
    with caplog.at_level(logging.ERROR, logger="iaxphone.events"):
        events.emit(Change(1))
    assert heard == [Change(1)] and "subscriber failed on Change" in caplog.text
    subscription.close()
    events.emit(Change(2))
    assert heard == [Change(1)]


def test_waiters_each_get_the_event_and_leave_no_trace() -> None:
    async def scenario() -> None:
        events = hub()
        first = asyncio.ensure_future(events.wait_for(lambda e: e == Change(1)))
        second = asyncio.ensure_future(events.wait_for(lambda e: e == Change(1)))
        late = asyncio.ensure_future(events.wait_for(lambda e: e == Change(9), timeout=0.01))
        await asyncio.sleep(0)
        assert events.subscriber_count == 3
        events.emit(Change(1))
        assert await first == await second == Change(1)
        with pytest.raises(TimeoutError):
            await late
        assert events.subscriber_count == 0

    asyncio.run(scenario())


def test_a_drained_queue_wakes_its_reader() -> None:
    async def scenario() -> None:
        events = hub()
        queue = events.queue()
        reader = asyncio.ensure_future(queue.get())
        await asyncio.sleep(0)
        events.emit(Stat(5))
        assert await reader == Stat(5)

    asyncio.run(scenario())
