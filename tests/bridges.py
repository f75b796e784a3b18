"""Who talks to whom on the PBX, from CoreShowChannels (for transfer and park tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from iaxphone.pbx.ami import PbxClient
from iaxphone.pbx.models import ChannelInfo


def joined(channels: list[ChannelInfo], first: str, second: str) -> bool:
    """Whether a channel named ``first...`` talks to one named ``second...``.

    Channels in one bridge talk; so do the two halves (;1 and ;2) of a Local
    channel, through which Asterisk runs attended transfers until it optimizes
    them away.
    """
    links: dict[str, set[str]] = {c.name: set() for c in channels}
    for a in channels:
        for b in channels:
            same_bridge = a.bridge and a.bridge == b.bridge
            local_halves = a.name.startswith("Local/") and a.name[:-2] == b.name[:-2]
            if a is not b and (same_bridge or local_halves):
                links[a.name].add(b.name)
    for start in (c.name for c in channels if c.name.startswith(first)):
        seen, todo = {start}, [start]
        while todo:
            for peer in links[todo.pop()] - seen:
                if peer.startswith(second):
                    return True
                seen.add(peer)
                todo.append(peer)
    return False


async def wait_talking(client: PbxClient, first: str, second: str) -> bool:
    """Poll CoreShowChannels (one AMI round trip each, up to 5 s) until the two talk."""
    for _ in range(100):
        if joined(await client.channels(), first, second):
            return True
        await asyncio.sleep(0.05)
    return False


async def wait_channel(client: PbxClient, predicate: Callable[[ChannelInfo], bool]) -> bool:
    """Poll CoreShowChannels (up to 5 s) until some channel satisfies ``predicate``."""
    for _ in range(100):
        if any(predicate(c) for c in await client.channels()):
            return True
        await asyncio.sleep(0.05)
    return False
