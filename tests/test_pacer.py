"""Frame pacers share one clock task per loop and frame length."""

from __future__ import annotations

import asyncio

import pytest

from iaxphone.aio.pacer import FramePacer, _SharedClock

pytestmark = pytest.mark.asyncio


async def test_pacers_tick_together_from_one_task_on_a_20_ms_grid() -> None:
    ticks: dict[str, list[float]] = {"a": [], "b": []}
    enough = asyncio.Event()

    def make(name: str):  # type: ignore[no-untyped-def]
        def tick(now: float) -> None:
            ticks[name].append(now)
            if len(ticks["b"]) >= 10:
                enough.set()

        return tick

    a, b = FramePacer(make("a")), FramePacer(make("b"))
    a.start()
    b.start()
    assert a._clock is b._clock  # one shared clock
    await asyncio.wait_for(enough.wait(), 5)
    shared = a._clock
    assert shared is not None
    gaps = [t2 - t1 for t1, t2 in zip(ticks["a"], ticks["a"][1:], strict=False)]
    assert all(0.005 < gap < 0.2 for gap in gaps)
    assert abs(sum(gaps) / len(gaps) - 0.020) < 0.005  # no drift on average
    await a.stop()
    assert not shared.task.done()  # b still ticks
    await b.stop()
    assert shared.task.done() and not _SharedClock._clocks


async def test_a_failing_tick_does_not_stop_the_others() -> None:
    seen: list[float] = []
    done = asyncio.Event()

    def broken(now: float) -> None:
        raise RuntimeError("boom")

    def fine(now: float) -> None:
        seen.append(now)
        if len(seen) >= 5:
            done.set()

    bad, good = FramePacer(broken), FramePacer(fine)
    bad.start()
    good.start()
    await asyncio.wait_for(done.wait(), 5)
    assert bad.ticks >= 4
    await bad.stop()
    await good.stop()
