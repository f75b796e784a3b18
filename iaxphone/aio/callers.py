"""The caller policy of an account, with its host names looked up.

``accept_calls_from`` names sources as text (see
:func:`iaxphone.config.parse_accept_from`): "server", "any", addresses,
networks and host names.  The sans-IO endpoint compares addresses only, so
the names are resolved here, on the event loop: "server" is every address
the account's PBX name resolves to.  A name that does not resolve admits
nothing and is logged once; it never admits more than was named.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Iterable

from iaxphone.proto.trust import CallerPolicy

log = logging.getLogger("iaxphone.aio")


async def addresses_of(host: str) -> tuple[str, ...]:
    """Every IPv4 and IPv6 address ``host`` names (itself if it is an address)."""
    try:
        ipaddress.ip_address(host)
        return (host,)
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, None, type=socket.SOCK_DGRAM)
    except OSError as exc:
        log.warning("accept_calls_from: cannot resolve %r (%s)", host, exc.strerror or exc)
        return ()
    return tuple(dict.fromkeys(str(info[4][0]) for info in infos))


async def caller_policy(entries: Iterable[str], server_host: str | None) -> CallerPolicy:
    """The resolved policy for these entries; "server" means ``server_host``."""
    anyone = False
    hosts: list[str] = []
    for entry in entries:
        if entry == "any":
            anyone = True
        elif entry == "server":
            if server_host:
                hosts.extend(await addresses_of(server_host))
        elif "/" in entry:
            hosts.append(entry)
        else:
            hosts.extend(await addresses_of(entry))
    return CallerPolicy.of(*dict.fromkeys(hosts), anyone=anyone)


__all__ = ["addresses_of", "caller_policy"]
