"""ConfBridge rooms as an operator console shows them.

Theory of operation
-------------------
A resync reads ``ConfbridgeListRooms`` (each active room, with its lock)
and ``ConfbridgeList`` for each (its participants; ``AnsweredTime`` dates a
join back from ``now``).  Events then keep it current: ``ConfbridgeStart``
and ``ConfbridgeEnd`` open and close a room, ``ConfbridgeJoin`` and
``ConfbridgeLeave`` add and remove a participant, ``ConfbridgeMute`` and
``ConfbridgeUnmute`` flip one's mute, ``ConfbridgeTalking`` (the bundled
user profile has ``talk_detection_events``) says who talks, and
``ConfbridgeRecord``/``ConfbridgeStopRecord`` the recording.  Asterisk 22
sends no event when a room is locked: the lock comes from the room list,
and from the console's own Lock/Unlock answers (:meth:`RoomTracker.set_locked`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .channels import _text


@dataclass(frozen=True)
class Participant:
    uniqueid: str
    channel: str
    caller_number: str
    caller_name: str
    joined_at: float
    muted: bool = False
    talking: bool = False
    admin: bool = False


@dataclass(frozen=True)
class Room:
    name: str  # the conference, "800"
    locked: bool = False
    recording: bool = False
    participants: tuple[Participant, ...] = ()  # in order of joining

    def participant(self, uniqueid: str) -> Participant | None:
        return next((p for p in self.participants if p.uniqueid == uniqueid), None)


def _yes(message: Mapping[str, Any], key: str) -> bool:
    return str(message.get(key, "")).lower() in ("yes", "on", "1", "true")


def _participant(message: Mapping[str, Any], joined_at: float) -> Participant:
    return Participant(
        uniqueid=str(message.get("Uniqueid", "")),
        channel=str(message.get("Channel", "")),
        caller_number=_text(message, "CallerIDNum"),
        caller_name=_text(message, "CallerIDName"),
        joined_at=joined_at,
        muted=_yes(message, "Muted"),
        talking=_yes(message, "Talking"),
        admin=_yes(message, "Admin"),
    )


class RoomTracker:
    def __init__(self, on_change: Callable[[str], None] | None = None) -> None:
        """``on_change(room_name)`` after every change."""
        self.rooms: dict[str, Room] = {}
        self._on_change = on_change or (lambda _name: None)

    def load(
        self,
        rooms: list[Mapping[str, Any]],
        participants: list[Mapping[str, Any]],
        now: float,
    ) -> None:
        """Replace everything with ConfbridgeListRooms and ConfbridgeList answers."""
        fresh: dict[str, Room] = {}
        for message in rooms:
            if message.get("Event") == "ConfbridgeListRooms":
                name = str(message.get("Conference", ""))
                fresh[name] = Room(name, locked=_yes(message, "Locked"))
        for message in participants:
            name = str(message.get("Conference", ""))
            if message.get("Event") != "ConfbridgeList" or name not in fresh:
                continue
            try:
                answered = float(str(message.get("AnsweredTime", 0) or 0))
            except ValueError:
                answered = 0.0
            room = fresh[name]
            person = _participant(message, now - answered)
            fresh[name] = dataclasses.replace(room, participants=(*room.participants, person))
        old, self.rooms = self.rooms, fresh
        for name in set(old) | set(fresh):
            self._on_change(name)

    def set_locked(self, name: str, locked: bool) -> None:
        room = self.rooms.get(name)
        if room is not None:
            self.rooms[name] = dataclasses.replace(room, locked=locked)
            self._on_change(name)

    def where(self, uniqueid: str) -> str | None:
        for room in self.rooms.values():
            if room.participant(uniqueid) is not None:
                return room.name
        return None

    def handle(self, message: Mapping[str, Any], now: float) -> None:
        event = str(message.get("Event", ""))
        name = str(message.get("Conference", ""))
        if not event.startswith("Confbridge") or not name:
            return
        if event == "ConfbridgeEnd":
            self.rooms.pop(name, None)
            self._on_change(name)
            return
        room = self.rooms.get(name, Room(name))
        uniqueid = str(message.get("Uniqueid", ""))
        if event == "ConfbridgeJoin":
            others = tuple(p for p in room.participants if p.uniqueid != uniqueid)
            room = dataclasses.replace(room, participants=(*others, _participant(message, now)))
        elif event == "ConfbridgeLeave":
            room = dataclasses.replace(
                room, participants=tuple(p for p in room.participants if p.uniqueid != uniqueid)
            )
        elif event in ("ConfbridgeMute", "ConfbridgeUnmute", "ConfbridgeTalking"):
            room = self._change(room, uniqueid, event, message)
        elif event in ("ConfbridgeRecord", "ConfbridgeStopRecord"):
            room = dataclasses.replace(room, recording=event == "ConfbridgeRecord")
        elif event != "ConfbridgeStart":
            return
        self.rooms[name] = room
        self._on_change(name)

    @staticmethod
    def _change(room: Room, uniqueid: str, event: str, message: Mapping[str, Any]) -> Room:
        people = []
        for person in room.participants:
            if person.uniqueid != uniqueid:
                people.append(person)
            elif event == "ConfbridgeTalking":
                people.append(dataclasses.replace(person, talking=_yes(message, "TalkingStatus")))
            else:
                people.append(dataclasses.replace(person, muted=event == "ConfbridgeMute"))
        return dataclasses.replace(room, participants=tuple(people))
