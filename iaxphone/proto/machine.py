"""State machines as data: a table of (state, trigger) -> (next state, action).

Every protocol state machine in :mod:`iaxphone.proto` (a call, its hold and
encryption sub-machines, a registration, a registrar transaction) is one
:class:`Machine` over a table written out in its own module, next to a
theory-of-operation comment, in the manner of h11's ``_state.py``.

:meth:`Machine.fire` looks the pair up, moves to the next state and
returns the step's action (an enum member the owner then carries out, or
``None``).  A pair that is not in the table is illegal: a *local* trigger
(a command) raises the machine's :class:`~iaxphone.errors.LocalProtocolError`,
a *remote* one (a frame the peer sent) raises
:class:`~iaxphone.errors.RemoteProtocolError`, which the owner usually
answers by acknowledging the frame and ignoring it: peers retransmit and
frames cross on the wire, so a late frame is not a reason to end a call.

This is also the one place that logs state changes, as ``name: A -> B``.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from iaxphone.errors import LocalProtocolError, RemoteProtocolError

log = logging.getLogger("iaxphone.proto")

S = TypeVar("S", bound=enum.Enum)
T = TypeVar("T", bound=enum.Enum)
A = TypeVar("A", bound=enum.Enum)


@dataclass(frozen=True, slots=True)
class Step(Generic[S, A]):
    """Where a trigger leads, and what the owner does on the way (``None``: nothing)."""

    next: S
    action: A | None = None


Table = Mapping[tuple[S, T], Step[S, A]]


class Machine(Generic[S, T, A]):
    """One running instance of a table.

    ``remote`` names the triggers that come from the peer (their absence
    raises :class:`RemoteProtocolError`); every other trigger is local.
    ``local_error`` is the :class:`LocalProtocolError` subclass to raise.
    """

    __slots__ = ("local_error", "name", "previous", "remote", "state", "table")

    def __init__(
        self,
        name: str,
        table: Table[S, T, A],
        initial: S,
        *,
        remote: frozenset[T] = frozenset(),
        local_error: type[LocalProtocolError] = LocalProtocolError,
    ) -> None:
        self.name = name
        self.table = table
        self.state = initial
        self.previous = initial  # the state before the last change
        self.remote = remote
        self.local_error = local_error

    def allows(self, trigger: T) -> bool:
        return (self.state, trigger) in self.table

    def check(self, trigger: T) -> None:
        """Raise as :meth:`fire` would if ``trigger`` is not allowed now; change nothing."""
        if (self.state, trigger) not in self.table:
            raise self._illegal(trigger)

    def fire(self, trigger: T) -> A | None:
        """Take ``trigger``: move to the table's next state and return its action."""
        step = self.table.get((self.state, trigger))
        if step is None:
            raise self._illegal(trigger)
        if step.next is not self.state:
            log.info("%s: %s -> %s", self.name, self.state.value, step.next.value)
            self.previous, self.state = self.state, step.next
        return step.action

    def _illegal(self, trigger: T) -> LocalProtocolError | RemoteProtocolError:
        if trigger in self.remote:
            return RemoteProtocolError(
                f"{self.name}: {trigger.value} is not expected while {self.state.value}"
            )
        return self.local_error(f"cannot {trigger.value} {self.name}: it is {self.state.value}")


def reachable(table: Table[S, T, A], initial: Iterable[S]) -> set[S]:
    """Every state a table can reach from ``initial`` (for the tests of each table)."""
    seen = set(initial)
    frontier = list(seen)
    while frontier:
        state = frontier.pop()
        for (source, _), step in table.items():
            if source is state and step.next not in seen:
                seen.add(step.next)
                frontier.append(step.next)
    return seen


def successors(table: Table[S, T, A]) -> dict[S, frozenset[S]]:
    """Which states may follow which (the old ``TRANSITIONS`` view of a table)."""
    out: dict[S, set[S]] = {}
    for (source, _), step in table.items():
        out.setdefault(source, set())
        if step.next is not source:
            out[source].add(step.next)
    return {state: frozenset(nexts) for state, nexts in out.items()}


__all__ = ["Machine", "Step", "Table", "reachable", "successors"]
