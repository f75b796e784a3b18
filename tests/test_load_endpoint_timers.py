"""Per-session deadlines: a frame on one call of many asks that call, not every call."""

from __future__ import annotations

import pytest

from iaxphone.proto.call import Call
from iaxphone.proto.events import DtmfReceived
from iaxphone.wire.constants import IaxCommand
from tests.proto_link import establish_call, is_iax, make_link, options

CALLS = 60


def test_a_full_frame_on_one_call_walks_no_other_call(monkeypatch: pytest.MonkeyPatch) -> None:
    link = make_link()
    calls = [establish_call(link, "a", "b", options()) for _ in range(CALLS)]
    link.settle()
    asked: list[int] = []
    original = Call.next_deadline

    def counting(self: Call) -> float | None:
        asked.append(self.local_call)
        return original(self)

    monkeypatch.setattr(Call, "next_deadline", counting)
    call_a, _ = calls[CALLS // 2]
    link["a"].endpoint.send_dtmf(call_a, "5", link.now)
    link.run_until(lambda: link["b"].count(DtmfReceived) == 1, 2.0)
    link.settle()
    # The DTMF frame and its ACK: the two ends of that one call, a few times each.
    assert 0 < len(asked) <= 12, len(asked)
    assert len(set(asked)) <= 2


def test_timers_still_fire_on_every_call() -> None:
    link = make_link()
    calls = [establish_call(link, "a", "b", options()) for _ in range(10)]
    link.settle()
    link.advance(25.0)  # past two ping intervals (10 s)
    pings = [f.source_call for f in link.full_frames("a", "b") if is_iax(f, IaxCommand.PING)]
    for call_a, _ in calls:
        assert pings.count(call_a) >= 2
