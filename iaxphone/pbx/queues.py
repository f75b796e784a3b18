"""Call queues (app_queue) as an operator console shows them.

Theory of operation
-------------------
A resync reads ``QueueStatus``: one ``QueueParams`` per queue (its
figures), a ``QueueMember`` per member and a ``QueueEntry`` per waiting
caller (``Wait`` dates the caller's arrival back from ``now``).  Events
then keep it current:

* ``QueueCallerJoin`` adds a caller (with its position), ``QueueCallerLeave``
  removes it (answered, redirected or hung up) and renumbers the rest,
  ``QueueCallerAbandon`` counts an abandoned call (Leave follows);
* ``AgentConnect`` counts an answered call (within the service level when
  its ``HoldTime`` is at most the queue's ``ServiceLevel``);
* ``QueueMemberAdded``/``Removed``/``Status``/``Pause`` replace a member.

Everything here is a frozen dataclass; the tracker swaps whole
:class:`Queue` values, so a snapshot handed to a front end never changes
under it.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from .channels import _text


class MemberStatus(enum.Enum):
    """A member's device state (AST_DEVICE_* in QueueMember "Status")."""

    UNKNOWN = 0
    IDLE = 1
    IN_USE = 2
    BUSY = 3
    INVALID = 4
    UNAVAILABLE = 5
    RINGING = 6
    RING_IN_USE = 7
    ON_HOLD = 8

    @classmethod
    def parse(cls, code: object) -> MemberStatus:
        try:
            return cls(int(str(code)))
        except ValueError:
            return cls.UNKNOWN


@dataclass(frozen=True)
class QueueMember:
    interface: str  # "IAX2/6001"
    name: str
    status: MemberStatus = MemberStatus.UNKNOWN
    paused: bool = False
    paused_reason: str = ""
    in_call: bool = False
    calls_taken: int = 0
    dynamic: bool = False
    last_call: float = 0.0  # wall-clock seconds; 0: none yet

    @property
    def logged_in(self) -> bool:
        """Reachable: its phone is registered (what QueueSummary counts as logged in)."""
        return self.status not in (MemberStatus.UNAVAILABLE, MemberStatus.INVALID)

    @property
    def number(self) -> str:
        return self.interface.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class QueueCaller:
    uniqueid: str
    channel: str
    caller_number: str
    caller_name: str
    position: int
    joined_at: float

    def waited(self, now: float) -> float:
        return max(0.0, now - self.joined_at)


@dataclass(frozen=True)
class Queue:
    name: str
    strategy: str = ""
    service_level_s: int = 0
    answered: int = 0  # QueueParams "Completed"
    answered_in_service_level: int = 0
    abandoned: int = 0
    hold_time_s: int = 0  # Asterisk's running average
    talk_time_s: int = 0
    members: tuple[QueueMember, ...] = ()
    callers: tuple[QueueCaller, ...] = ()  # by position

    @property
    def waiting(self) -> int:
        return len(self.callers)

    def longest_wait(self, now: float) -> float:
        return max((c.waited(now) for c in self.callers), default=0.0)

    @property
    def service_level(self) -> float:
        """Per cent of answered calls answered within the service level (ServicelevelPerf)."""
        return 100.0 * self.answered_in_service_level / self.answered if self.answered else 0.0

    @property
    def logged_in(self) -> int:
        return sum(m.logged_in for m in self.members)

    @property
    def available(self) -> int:
        return sum(
            m.logged_in and not m.paused and m.status is MemberStatus.IDLE for m in self.members
        )

    def member(self, interface: str) -> QueueMember | None:
        return next((m for m in self.members if m.interface == interface), None)

    def caller(self, uniqueid: str) -> QueueCaller | None:
        return next((c for c in self.callers if c.uniqueid == uniqueid), None)


def _int(message: Mapping[str, Any], key: str) -> int:
    try:
        return int(float(str(message.get(key, 0) or 0)))
    except ValueError:
        return 0


def _member(message: Mapping[str, Any]) -> QueueMember:
    # QueueStatus says Name/Location; the QueueMember* events MemberName/Interface.
    interface = str(message.get("Interface") or message.get("Location") or "")
    return QueueMember(
        interface=interface,
        name=str(message.get("MemberName") or message.get("Name") or interface),
        status=MemberStatus.parse(message.get("Status", 0)),
        paused=str(message.get("Paused", "0")) == "1",
        paused_reason=str(message.get("PausedReason", "") or ""),
        in_call=str(message.get("InCall", "0")) == "1",
        calls_taken=_int(message, "CallsTaken"),
        dynamic=str(message.get("Membership", "")) == "dynamic",
        last_call=float(_int(message, "LastCall")),
    )


def _caller(message: Mapping[str, Any], joined_at: float) -> QueueCaller:
    return QueueCaller(
        uniqueid=str(message.get("Uniqueid", "")),
        channel=str(message.get("Channel", "")),
        caller_number=_text(message, "CallerIDNum"),
        caller_name=_text(message, "CallerIDName"),
        position=_int(message, "Position"),
        joined_at=joined_at,
    )


class QueueTracker:
    def __init__(self, on_change: Callable[[str], None] | None = None) -> None:
        """``on_change(queue_name)`` after every change."""
        self.queues: dict[str, Queue] = {}
        self._on_change = on_change or (lambda _name: None)

    def load(self, listing: list[Mapping[str, Any]], now: float) -> None:
        """Replace everything with a QueueStatus answer."""
        queues: dict[str, Queue] = {}
        for message in listing:
            event, name = message.get("Event"), str(message.get("Queue", ""))
            if event == "QueueParams":
                answered = _int(message, "Completed")
                perf = float(str(message.get("ServicelevelPerf", 0) or 0))
                queues[name] = Queue(
                    name=name,
                    strategy=str(message.get("Strategy", "")),
                    service_level_s=_int(message, "ServiceLevel"),
                    answered=answered,
                    answered_in_service_level=round(perf * answered / 100),
                    abandoned=_int(message, "Abandoned"),
                    hold_time_s=_int(message, "Holdtime"),
                    talk_time_s=_int(message, "TalkTime"),
                )
            elif event == "QueueMember" and name in queues:
                queue = queues[name]
                queues[name] = dataclasses.replace(
                    queue, members=(*queue.members, _member(message))
                )
            elif event == "QueueEntry" and name in queues:
                queue = queues[name]
                caller = _caller(message, now - _int(message, "Wait"))
                queues[name] = dataclasses.replace(queue, callers=(*queue.callers, caller))
        self.queues = queues
        for name in queues:
            self._on_change(name)

    def handle(self, message: Mapping[str, Any], now: float) -> None:
        handler = self._HANDLERS.get(str(message.get("Event", "")))
        name = str(message.get("Queue", ""))
        if handler is not None and name:
            queue = self.queues.get(name, Queue(name))
            self.queues[name] = handler(queue, message, now)
            self._on_change(name)

    def where(self, uniqueid: str) -> str | None:
        """The queue a caller waits in, if any."""
        for queue in self.queues.values():
            if queue.caller(uniqueid) is not None:
                return queue.name
        return None

    # Each handler: (queue, message, now) -> the new queue.
    @staticmethod
    def _join(queue: Queue, message: Mapping[str, Any], now: float) -> Queue:
        caller = _caller(message, now)
        others = tuple(c for c in queue.callers if c.uniqueid != caller.uniqueid)
        callers = sorted((*others, caller), key=lambda c: c.position)
        return dataclasses.replace(queue, callers=tuple(callers))

    @staticmethod
    def _leave(queue: Queue, message: Mapping[str, Any], now: float) -> Queue:
        uniqueid = str(message.get("Uniqueid", ""))
        rest = [c for c in queue.callers if c.uniqueid != uniqueid]
        renumbered = tuple(dataclasses.replace(c, position=i + 1) for i, c in enumerate(rest))
        return dataclasses.replace(queue, callers=renumbered)

    @staticmethod
    def _abandon(queue: Queue, message: Mapping[str, Any], now: float) -> Queue:
        return dataclasses.replace(queue, abandoned=queue.abandoned + 1)

    @staticmethod
    def _connect(queue: Queue, message: Mapping[str, Any], now: float) -> Queue:
        in_level = _int(message, "HoldTime") <= queue.service_level_s
        return dataclasses.replace(
            queue,
            answered=queue.answered + 1,
            answered_in_service_level=queue.answered_in_service_level + in_level,
        )

    @staticmethod
    def _member_changed(queue: Queue, message: Mapping[str, Any], now: float) -> Queue:
        member = _member(message)
        members = [m for m in queue.members if m.interface != member.interface]
        if message.get("Event") != "QueueMemberRemoved":
            members.append(member)
        return dataclasses.replace(queue, members=tuple(sorted(members, key=lambda m: m.interface)))

    _HANDLERS: ClassVar[dict[str, Callable[[Queue, Mapping[str, Any], float], Queue]]] = {
        "QueueCallerJoin": _join,
        "QueueCallerLeave": _leave,
        "QueueCallerAbandon": _abandon,
        "AgentConnect": _connect,
        "QueueMemberAdded": _member_changed,
        "QueueMemberRemoved": _member_changed,
        "QueueMemberStatus": _member_changed,
        "QueueMemberPause": _member_changed,
        "QueueMemberPenalty": _member_changed,
    }
