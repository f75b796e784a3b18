"""The AMI link as a console shows it: online, offline since when, resyncing.

Theory of operation
-------------------
A table of (state, trigger) -> next state.  ``down`` (the TCP link to AMI
dropped or a ping went unanswered) makes the console OFFLINE and stamps
``since``; ``up`` (logged in again) makes it RESYNCING while every panel is
re-read; ``resynced`` makes it ONLINE.  The operator's own calls are IAX2
and do not notice any of this.  A trigger the table does not list for a
state changes nothing (a second ``down`` keeps the first ``since``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Link(enum.Enum):
    CONNECTING = "connecting"
    ONLINE = "online"
    OFFLINE = "offline"
    RESYNCING = "resyncing"


class LinkTrigger(enum.Enum):
    UP = "up"
    DOWN = "down"
    RESYNCED = "resynced"


TRANSITIONS: dict[tuple[Link, LinkTrigger], Link] = {
    (Link.CONNECTING, LinkTrigger.UP): Link.RESYNCING,
    (Link.CONNECTING, LinkTrigger.RESYNCED): Link.ONLINE,
    (Link.CONNECTING, LinkTrigger.DOWN): Link.OFFLINE,
    (Link.RESYNCING, LinkTrigger.RESYNCED): Link.ONLINE,
    (Link.RESYNCING, LinkTrigger.DOWN): Link.OFFLINE,
    (Link.ONLINE, LinkTrigger.DOWN): Link.OFFLINE,
    (Link.ONLINE, LinkTrigger.RESYNCED): Link.ONLINE,
    (Link.OFFLINE, LinkTrigger.UP): Link.RESYNCING,
    (Link.OFFLINE, LinkTrigger.RESYNCED): Link.ONLINE,
}


@dataclass(frozen=True)
class LinkStatus:
    state: Link = Link.CONNECTING
    since: float = 0.0  # wall-clock seconds the state began

    def after(self, trigger: LinkTrigger, now: float) -> LinkStatus:
        following = TRANSITIONS.get((self.state, trigger))
        if following is None or following is self.state:
            return self
        if following is Link.RESYNCING:  # still offline to the operator until resynced
            return LinkStatus(following, self.since)
        return LinkStatus(following, now)

    @property
    def online(self) -> bool:
        return self.state is Link.ONLINE
