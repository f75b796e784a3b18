"""The routing machine of media/route.py, fed sightings by hand (no sound server)."""

from __future__ import annotations

import pytest

from iaxphone.media.route import (
    TABLE,
    Device,
    RouteError,
    RouteMachine,
    RouteState,
    Sighting,
    Trigger,
)

HEADSET = Device("usb-headset", "USB headset")
SPEAKER = Device("builtin", "Built-in speaker")
BOTH = frozenset({HEADSET.name, SPEAKER.name})
SPEAKER_ONLY = frozenset({SPEAKER.name})


def test_unplug_falls_back_says_so_and_moves_back_when_plugged_in_again() -> None:
    m = RouteMachine("output")
    assert m.observe(Sighting(None, None, BOTH)).note == ""  # not started yet
    assert m.observe(Sighting(7, HEADSET, BOTH)).note == ""  # the first sighting: chosen
    assert m.chosen == HEADSET
    step = m.observe(Sighting(7, SPEAKER, SPEAKER_ONLY))  # unplugged: the server moved us
    assert step.note == (
        "output device 'USB headset' is gone: playing on 'Built-in speaker' (the default) "
        "until it is back"
    )
    assert m.state is RouteState.FALLEN_BACK
    assert m.observe(Sighting(7, SPEAKER, SPEAKER_ONLY)).note == ""  # said once
    step = m.observe(Sighting(7, SPEAKER, BOTH))  # plugged in again
    assert step.move_to == "usb-headset" and step.note == ""
    assert m.observe(Sighting(7, HEADSET, BOTH)).note == (
        "output device 'USB headset' is back: playing on it again"
    )
    assert m.state is RouteState.ON_CHOSEN


def test_a_device_being_removed_is_not_taken_for_the_users_move() -> None:
    """The server moves the streams a moment before the device leaves its list."""
    m = RouteMachine("input")
    m.observe(Sighting(3, HEADSET, BOTH))
    assert m.observe(Sighting(3, SPEAKER, BOTH)).note == ""  # still listed: wait
    assert m.observe(Sighting(3, SPEAKER, SPEAKER_ONLY)).note.startswith(
        "input device 'USB headset' is gone: recording from 'Built-in speaker'"
    )
    assert m.chosen == HEADSET


def test_a_stream_the_user_moves_becomes_the_choice() -> None:
    m = RouteMachine("output")
    m.observe(Sighting(3, HEADSET, BOTH))
    m.observe(Sighting(3, SPEAKER, BOTH))
    assert m.observe(Sighting(3, SPEAKER, BOTH)).note == "output moved to 'Built-in speaker'"
    assert m.chosen == SPEAKER
    assert m.observe(Sighting(3, HEADSET, BOTH)).note == ""  # away from the new choice: wait


def test_a_reopened_stream_on_another_device_is_moved_to_the_chosen_one() -> None:
    m = RouteMachine("output")
    m.observe(Sighting(3, HEADSET, BOTH))
    m.observe(Sighting(None, None, BOTH))  # the card reopens
    assert m.observe(Sighting(9, SPEAKER, BOTH)).move_to == "usb-headset"
    assert m.observe(Sighting(9, HEADSET, BOTH)).note.endswith("is back: playing on it again")


def test_a_move_that_did_not_take_is_asked_again_and_gone_again_falls_back() -> None:
    m = RouteMachine("output")
    m.observe(Sighting(3, HEADSET, BOTH))
    m.observe(Sighting(3, SPEAKER, SPEAKER_ONLY))
    assert m.observe(Sighting(3, SPEAKER, BOTH)).move_to == "usb-headset"
    assert m.observe(Sighting(3, SPEAKER, BOTH)).move_to == "usb-headset"
    assert m.observe(Sighting(3, SPEAKER, SPEAKER_ONLY)).note == ""  # gone again, said before
    assert m.state is RouteState.FALLEN_BACK


def test_every_reachable_pair_is_in_the_table_and_others_raise() -> None:
    unseen_only = {Trigger.ON_CHOSEN, Trigger.NO_STREAM}  # nothing chosen yet: never away
    for state in RouteState:
        for trigger in Trigger:
            if state is RouteState.UNSEEN and trigger not in unseen_only:
                assert (state, trigger) not in TABLE
            else:
                assert (state, trigger) in TABLE
    m = RouteMachine("output")
    m.chosen = HEADSET  # forced: a state the machine never reaches by itself
    with pytest.raises(RouteError):
        m.observe(Sighting(3, SPEAKER, SPEAKER_ONLY))
