"""Park: put the other party of a call into the PBX's parking lot, and say where.

Theory of operation
-------------------
With a :class:`~iaxphone.pbx.ami.PbxClient` (AMI), :meth:`Parker.park`
finds the far end of the line among the PBX's channels (the party bridged
to our channel for that line, :func:`~iaxphone.viewmodels.pbxlines.line_channels`),
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

from iaxphone.errors import IaxphoneError
from iaxphone.pbx.ami import ParkingChanged, PbxClient, PbxEvent
from iaxphone.phone import LineInfo, Phone

from .pbxlines import LineNotFoundError, line_channels

PARK_NUMBER = "700"


class ParkError(IaxphoneError):
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
        try:
            far_end = (await line_channels(self.pbx, self.phone, line)).far_end
        except LineNotFoundError as exc:
            raise ParkError(f"cannot park: {exc}") from None
        if far_end is None:
            raise ParkError("nothing to park: the call is not with another phone")
        return far_end

    def _on_pbx_event(self, event: PbxEvent) -> None:
        if isinstance(event, ParkingChanged) and event.parked is not None:
            waiting = self._waiting.get(event.parked.channel)
            if waiting is not None and not waiting.done():
                waiting.set_result(event.slot)
