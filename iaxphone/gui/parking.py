"""Park: put the other party of a call into the PBX's parking lot, and say where.

Theory of operation
-------------------
With a :class:`~iaxphone.pbx.ami.PbxClient` (AMI), :meth:`Parker.park`
finds the far end of the line among the PBX's channels (``channels()``: our
own channel is ``IAX2/<our user>-...``; the party to park is the one in the
same bridge, preferring the one whose caller or name is the line's number),
asks the PBX to ``park`` it and waits for the
:class:`~iaxphone.pbx.ami.ParkingChanged` event naming that channel: its
slot ("701") is the answer.  The PBX then hangs up our leg.

Without AMI the phone blind-transfers the far end to the parking extension
(700 on the bundled PBX).  That parks it just the same, but the PBX
announces the slot only to a parker that is still on the line, and a
blind transfer has already left: so the window says the call was parked
and that the slot is shown only with AMI (the lot's lamps, or a colleague's
PBX panel, still show it).  This keeps Park useful without AMI instead of
greying it out: the caller is parked either way.
"""

from __future__ import annotations

import asyncio

from iaxphone.pbx.ami import ParkingChanged, PbxClient, PbxEvent
from iaxphone.pbx.models import ChannelInfo
from iaxphone.phone import LineInfo, Phone

PARK_NUMBER = "700"


class ParkError(Exception):
    """The call could not be parked; the message says why."""


class Parker:
    def __init__(
        self, phone: Phone, pbx: PbxClient | None = None, park_number: str = PARK_NUMBER
    ) -> None:
        self.phone = phone
        self.pbx = pbx
        self.park_number = park_number
        self._waiting: dict[str, asyncio.Future[str]] = {}
        if pbx is not None:
            pbx.subscribe(self._on_pbx_event)

    async def park(self, line: LineInfo, timeout: float = 10.0) -> str | None:
        """Park the line's far end; the slot, or None when it cannot be known (no AMI)."""
        if self.pbx is None:
            self.phone.blind_transfer(line.id, self.park_number)
            return None
        far_end = await self.far_end(line)
        slot: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiting[far_end] = slot
        try:
            await self.pbx.park(far_end)
            return await asyncio.wait_for(slot, timeout)
        finally:
            self._waiting.pop(far_end, None)

    async def far_end(self, line: LineInfo) -> str:
        assert self.pbx is not None
        user = self.phone.accounts[line.account].user
        channels = await self.pbx.channels()
        mine = [c for c in channels if c.name.startswith(f"IAX2/{user}-") and c.bridge]
        peers = [c for c in channels for m in mine if c.bridge == m.bridge and c.name != m.name]
        best = [c for c in peers if _is_number(c, line.number)]
        if len(best) == 1 or (not best and len(peers) == 1):
            return (best or peers)[0].name
        if not peers:
            raise ParkError("nothing to park: the call is not with another phone")
        raise ParkError(f"cannot tell which of {len(peers)} calls to park")

    def _on_pbx_event(self, event: PbxEvent) -> None:
        if isinstance(event, ParkingChanged) and event.parked is not None:
            waiting = self._waiting.get(event.parked.channel)
            if waiting is not None and not waiting.done():
                waiting.set_result(event.slot)


def _is_number(channel: ChannelInfo, number: str) -> bool:
    return channel.caller_number == number or channel.name.split("/", 1)[-1].startswith(
        f"{number}-"
    )
