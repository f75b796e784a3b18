"""Who may call us: the sources whose calls and unsolicited frames the endpoint takes.

Theory of operation
-------------------
Anything on the LAN can send UDP to a phone's port.  A desk phone takes
calls from its PBX only, so the endpoint holds a :class:`CallerPolicy`: the
networks (single addresses are /32 or /128 networks) it admits, or anyone.
Every frame that would create state or change what the user sees without
belonging to a call of ours is checked against it *after* the call-token
exchange (so the source address is known to be real, not forged):

* a NEW from a source the policy does not admit is refused with a
  stateless REJECT (cause 21) - no session, no ring, no event;
* a POKE from such a source is dropped (no PONG: a stranger learns nothing),
  unless it comes from a server we register to (Asterisk qualifies its
  peers with POKEs, and a phone that takes no calls is still qualified);
* an MWI is taken only from a server we register to.

Frames for calls that exist are checked by the endpoint's demultiplexer
(peer address and call numbers), not here.

:meth:`CallerPolicy.trusts` is stricter than :meth:`CallerPolicy.admits`:
it ignores "anyone", so a caller-requested auto-answer (intercom) is
honoured only from a source the user named, even on a phone that lets
anyone ring it.

:class:`StrangerLog` counts refusals per source and says when one is worth
a log line: the first from a source, then at most once a minute per source,
with the number refused since; it remembers a bounded number of sources,
and gives at most ``burst`` log lines a minute in all, so a flood of
forged sources cannot flood the log.
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True)
class CallerPolicy:
    """The sources admitted: these networks, or (``anyone``) every source."""

    networks: tuple[Network, ...] = ()
    anyone: bool = False

    @classmethod
    def of(cls, *hosts_or_networks: str, anyone: bool = False) -> CallerPolicy:
        """From addresses and CIDR networks as text ("192.0.2.7", "10.1.0.0/16")."""
        return cls(tuple(ipaddress.ip_network(h, strict=False) for h in hosts_or_networks), anyone)

    def admits(self, host: str) -> bool:
        """May this source ring us (or poke us)?"""
        return self.anyone or self.trusts(host)

    def trusts(self, host: str) -> bool:
        """Is this source one the user named (the PBX, a listed host or network)?"""
        address = _address(host)
        return address is not None and any(address in net for net in self.networks)

    def union(self, other: CallerPolicy) -> CallerPolicy:
        networks = self.networks + tuple(n for n in other.networks if n not in self.networks)
        return CallerPolicy(networks, self.anyone or other.anyone)

    def describe(self) -> str:
        if self.anyone:
            return "anyone"
        return ", ".join(str(n) for n in self.networks) or "nobody"


NOBODY = CallerPolicy()
ANYONE = CallerPolicy(anyone=True)


class StrangerLog:
    """Refusals counted per source; says when a refusal deserves a log line."""

    def __init__(self, interval: float = 60.0, remember: int = 4096, burst: int = 20) -> None:
        self.interval = interval
        self.remember = remember
        self.burst = burst
        self.total = 0
        self._window = (float("-inf"), 0)  # (start of this minute, lines logged in it)
        # source -> (when it was last logged, refusals since then)
        self._sources: OrderedDict[str, tuple[float, int]] = OrderedDict()

    def refused(self, host: str, now: float) -> int | None:
        """Count one refusal; the number to report when it is time to log, else None."""
        self.total += 1
        last = self._sources.pop(host, None)
        if last is not None and now - last[0] < self.interval:
            self._sources[host] = (last[0], last[1] + 1)
            return None
        start, logged = self._window
        if now - start >= self.interval:
            start, logged = now, 0
        if logged >= self.burst:
            self._sources[host] = (last[0] if last else float("-inf"), (last[1] if last else 0) + 1)
            self._trim()
            return None
        self._window = (start, logged + 1)
        self._sources[host] = (now, 0)
        self._trim()
        return 1 + (last[1] if last is not None else 0)

    def _trim(self) -> None:
        while len(self._sources) > self.remember:
            self._sources.popitem(last=False)

    @property
    def sources(self) -> int:
        return len(self._sources)


__all__ = ["ANYONE", "NOBODY", "CallerPolicy", "Network", "StrangerLog"]
