"""The line-state table: every pair it lacks is refused, and ENDED is final."""

from __future__ import annotations

import itertools

import pytest

from iaxphone.linestate import (
    TRANSITIONS,
    LineAction,
    LineState,
    LineTrigger,
    LocalProtocolError,
    allowed,
    step,
    triggers_from,
)


def test_every_pair_outside_the_table_raises_and_names_the_line() -> None:
    for state, trigger in itertools.product(LineState, LineTrigger):
        if (state, trigger) in TRANSITIONS:
            assert step(7, state, trigger) == TRANSITIONS[(state, trigger)]
        else:
            assert not allowed(state, trigger)
            with pytest.raises(LocalProtocolError, match=f"line 7 .*it is {state.value}"):
                step(7, state, trigger)


def test_ended_is_final_and_every_live_state_can_end() -> None:
    assert triggers_from(LineState.ENDED) == frozenset()
    for state in LineState:
        if state is not LineState.ENDED:
            assert step(1, state, LineTrigger.ENDED).next is LineState.ENDED


def test_media_starts_only_on_an_answer_and_stops_only_after_it() -> None:
    starts = {pair for pair, found in TRANSITIONS.items() if found.action is LineAction.START_MEDIA}
    assert {trigger for _, trigger in starts} == {LineTrigger.ANSWER, LineTrigger.FAR_ANSWERED}
    stops = {state for (state, _), f in TRANSITIONS.items() if f.action is LineAction.STOP_MEDIA}
    assert stops == {LineState.TALKING, LineState.HELD}
    with pytest.raises(LocalProtocolError, match="line 3 is not talking"):
        step(3, LineState.HELD, LineTrigger.HOLD)
