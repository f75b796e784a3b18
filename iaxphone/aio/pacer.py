"""Frame pacing on the event loop: ``tick(now)`` every frame on absolute deadlines.

:class:`FramePacer` calls a media session's ``tick`` from the loop's
monotonic clock on absolute deadlines (start + k * frame), so there is no
drift, and catches up (a few frames at most) if the event loop was held
up.  All pacers of one frame length on one loop share one clock task.
(This is asyncio code, so it lives in ``aio/``; the media session it
drives knows no clock.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import ClassVar

log = logging.getLogger("iaxphone.media")

MAX_CATCH_UP_FRAMES = 5


class FramePacer:
    """Calls ``tick(now)`` every ``frame_ms`` on absolute deadlines until stopped.

    Every pacer of one frame length on one event loop shares a single clock
    task: one wake-up per interval ticks all calls in turn (instead of one
    task and one wake-up per call), which is what lets one process hold
    hundreds of calls - and puts every call's frame of an interval into the
    same trunk datagram.  If the loop was held up for more than a few
    frames the clock skips ahead instead of bursting frames out.
    """

    def __init__(self, tick: Callable[[float], None], frame_ms: int = 20) -> None:
        self.tick = tick
        self.interval = frame_ms / 1000.0
        self.ticks = 0
        self.late_ticks = 0
        self._clock: _SharedClock | None = None

    def start(self) -> None:
        self._clock = _SharedClock.for_interval(self.interval)
        self._clock.members.append(self)

    async def stop(self) -> None:
        clock, self._clock = self._clock, None
        if clock is not None and self in clock.members:
            clock.members.remove(self)
            await clock.stop_if_idle()


class _SharedClock:
    _clocks: ClassVar[dict[tuple[int, float], _SharedClock]] = {}

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float) -> None:
        self.loop = loop
        self.interval = interval
        self.members: list[FramePacer] = []
        self.task = loop.create_task(self._run())

    @classmethod
    def for_interval(cls, interval: float) -> _SharedClock:
        loop = asyncio.get_running_loop()
        key = (id(loop), interval)
        clock = cls._clocks.get(key)
        if clock is None or clock.task.done() or clock.loop is not loop:
            clock = cls._clocks[key] = cls(loop, interval)
        return clock

    async def stop_if_idle(self) -> None:
        if self.members:
            return
        self._clocks.pop((id(self.loop), self.interval), None)
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task

    async def _run(self) -> None:
        start = self.loop.time()
        count = 0
        while True:
            due = start + count * self.interval
            delay = due - self.loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif -delay > MAX_CATCH_UP_FRAMES * self.interval:
                skipped = int(-delay / self.interval)
                count += skipped
                for member in self.members:
                    member.late_ticks += skipped
                    member.ticks += skipped
                continue
            now = self.loop.time()
            for member in list(self.members):
                try:
                    member.tick(now)
                except Exception:  # one broken call must not silence the others
                    log.exception("media tick failed")
                member.ticks += 1
            count += 1
