"""The command's line watcher keeps nothing for calls it has finished with."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from iaxphone.callrecord import CallLog, CallSummary
from iaxphone.cli.lines import LineWatch
from iaxphone.linestate import LineState
from iaxphone.phone import LineChanged, LineInfo, PhoneEvent


class FakePhone:
    def __init__(self) -> None:
        self.listeners: list[Callable[[PhoneEvent], None]] = []

    def subscribe(self, listener: Callable[[PhoneEvent], None]) -> None:
        self.listeners.append(listener)

    def emit(self, event: PhoneEvent) -> None:
        for listener in self.listeners:
            listener(event)


async def test_a_thousand_calls_leave_only_the_last_few_summaries() -> None:
    phone, log = FakePhone(), CallLog(None)
    watch = LineWatch(phone, log)  # type: ignore[arg-type]
    news: list[int] = []
    watch.on_new = lambda line: news.append(line.id)
    for line_id in range(1, 1001):
        info = LineInfo(line_id, "desk", "in", "6001", None, LineState.INCOMING)
        phone.emit(LineChanged(info))
        phone.emit(LineChanged(dataclasses.replace(info, state=LineState.TALKING)))
        ended = watch.ended(line_id)
        summary = CallSummary(line_id, "in", "6001", None, "desk", True, "hung up", 16, True)
        for listener in log.listeners:
            listener(summary)
        phone.emit(LineChanged(dataclasses.replace(info, state=LineState.ENDED)))
        assert ended.result() is summary
    assert news == list(range(1, 1001))  # each call announced once, not again as it ends
    assert (watch._talking, watch._ended, watch._seen) == ({}, {}, set())
    assert len(watch._recent) == LineWatch.RECENT_KEPT
    assert watch.ended(1000).result().line_id == 1000  # asked after the fact
