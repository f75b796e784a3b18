"""Events by subscription: every subscriber has its own delivery, none grows without bound.

Theory of operation
-------------------
An :class:`EventHub` is where a model (the :class:`~iaxphone.phone.Phone`)
publishes its typed events.  It keeps no events itself: :meth:`EventHub.emit`
hands each one at once to every subscriber, in the order they subscribed,
and forgets it.  A subscriber is one of three kinds:

* a **callback** (:meth:`EventHub.subscribe`): called with the event, on
  the publisher's stack (the handset window, the history dock).  A callback
  that raises is logged and the others still hear the event.
* a **queue** (:meth:`EventHub.queue`), an :class:`EventQueue` that its
  owner drains with ``await queue.get()`` (scripts, the command line,
  tests).  It is bounded where it can afford to be: *droppable* events
  (the statistics, ten a second per line) are kept up to ``max_droppable``
  and a full queue drops the oldest of them (counted in
  :attr:`EventQueue.dropped`); every other event (a call's state, a
  registration) is always kept, because missing one would leave a front
  end showing a call that is over.  Those arrive only when something
  happens to a call, so they stay few even when nobody drains them for a
  long time.  A queue may name the kinds it wants; others never enter it.
* a **waiter** (:meth:`EventHub.wait_for`): a one-shot future for the
  first event that matches a predicate.  Each waiter has its own future,
  so two waiters never take each other's events, and it is removed when it
  is served, times out or is cancelled.

Every subscription is undone with ``close()`` (or by leaving its ``with``
block); a closed queue stops filling at once.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
from collections.abc import Callable
from types import TracebackType
from typing import Generic, TypeVar

log = logging.getLogger("iaxphone.events")

E = TypeVar("E")

DEFAULT_MAX_DROPPABLE = 100  # ten seconds of one line's statistics


class Subscription:
    """A callback's registration; ``close()`` ends it (idempotent)."""

    def __init__(self, hub: EventHub[object], listener: object) -> None:
        self._hub = hub
        self._listener = listener

    def close(self) -> None:
        self._hub._remove(self._listener)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class EventQueue(Generic[E]):
    """A bounded queue of one subscriber's events; see the module docstring.

    Events keep their order across the two kinds: each carries a sequence
    number, and :meth:`get` takes the older of the two heads.
    """

    def __init__(
        self,
        hub: EventHub[E],
        kinds: tuple[type[E], ...],
        max_droppable: int,
    ) -> None:
        if max_droppable < 1:
            raise ValueError("a queue must hold at least one droppable event")
        self._hub = hub
        self.kinds = kinds
        self.max_droppable = max_droppable
        self._kept: collections.deque[tuple[int, E]] = collections.deque()
        self._droppable: collections.deque[tuple[int, E]] = collections.deque(maxlen=max_droppable)
        self._seq = itertools.count()
        self._arrived: asyncio.Event | None = None
        self.dropped = 0
        self.closed = False

    def _offer(self, event: E) -> None:
        if self.kinds and not isinstance(event, self.kinds):
            return
        entry = (next(self._seq), event)
        if self._hub.droppable(event):
            if len(self._droppable) == self.max_droppable:
                self.dropped += 1  # the deque's maxlen pushes the oldest out
            self._droppable.append(entry)
        else:
            self._kept.append(entry)
        if self._arrived is not None:
            self._arrived.set()

    def __len__(self) -> int:
        return len(self._kept) + len(self._droppable)

    def empty(self) -> bool:
        return not self._kept and not self._droppable

    def get_nowait(self) -> E:
        """The oldest event; raises :class:`asyncio.QueueEmpty` when there is none."""
        kept, droppable = self._kept, self._droppable
        if kept and (not droppable or kept[0][0] < droppable[0][0]):
            return kept.popleft()[1]
        if droppable:
            return droppable.popleft()[1]
        raise asyncio.QueueEmpty

    async def get(self) -> E:
        """Wait for the oldest event."""
        while self.empty():
            if self.closed:
                raise RuntimeError("this event queue is closed")
            if self._arrived is None:
                self._arrived = asyncio.Event()
            self._arrived.clear()
            await self._arrived.wait()
        return self.get_nowait()

    def close(self) -> None:
        self.closed = True
        self._hub._remove(self)
        if self._arrived is not None:
            self._arrived.set()

    def __enter__(self) -> EventQueue[E]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class EventHub(Generic[E]):
    """Publishes events to callbacks, queues and one-shot waiters; keeps none itself."""

    def __init__(self, droppable: Callable[[E], bool] = lambda _event: False) -> None:
        self.droppable = droppable
        self._callbacks: list[Callable[[E], None]] = []
        self._queues: list[EventQueue[E]] = []
        self._waiters: list[tuple[Callable[[E], bool], asyncio.Future[E]]] = []

    @property
    def subscriber_count(self) -> int:
        """Callbacks, queues and waiters now subscribed (for tests and diagnostics)."""
        return len(self._callbacks) + len(self._queues) + len(self._waiters)

    def subscribe(self, callback: Callable[[E], None]) -> Subscription:
        self._callbacks.append(callback)
        return Subscription(self, callback)  # type: ignore[arg-type]

    def queue(self, *kinds: type[E], max_droppable: int = DEFAULT_MAX_DROPPABLE) -> EventQueue[E]:
        """A new bounded queue of the events of ``kinds`` (every kind if none are named)."""
        queue = EventQueue(self, kinds, max_droppable)
        self._queues.append(queue)
        return queue

    async def wait_for(self, match: Callable[[E], bool], timeout: float | None = None) -> E:
        """The first event from now on for which ``match`` is true."""
        future: asyncio.Future[E] = asyncio.get_running_loop().create_future()
        waiter = (match, future)
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def emit(self, event: E) -> None:
        for callback in list(self._callbacks):
            try:
                callback(event)
            except Exception:  # one broken subscriber must not deafen the others
                log.exception("an event subscriber failed on %s", type(event).__name__)
        for queue in self._queues:
            queue._offer(event)
        if self._waiters:
            for waiter in list(self._waiters):
                match, future = waiter
                if not future.done() and match(event):
                    future.set_result(event)
                    self._waiters.remove(waiter)

    def _remove(self, listener: object) -> None:
        if listener in self._callbacks:
            self._callbacks.remove(listener)
        elif listener in self._queues:
            self._queues.remove(listener)


__all__ = ["DEFAULT_MAX_DROPPABLE", "EventHub", "EventQueue", "Subscription"]
