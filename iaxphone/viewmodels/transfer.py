"""Transfers for the handset: blind, and attended with a consultation step.

Theory of operation
-------------------
Blind: :meth:`Transfers.blind` is the phone's IAX2 transfer; the PBX sends
the far end to the number and then ends our leg.

Attended (:meth:`Transfers.consult`, then :meth:`Transfers.complete` or
:meth:`Transfers.cancel`) works one of two ways, and
:class:`Consultation` records which:

* With AMI (a :class:`~iaxphone.pbx.ami.PbxClient`), the PBX runs the
  consultation: ``Atxfer`` on our channel for the line
  (:func:`~iaxphone.viewmodels.pbxlines.line_channels`) puts the caller on music
  and connects *the same line* to the number.  Complete hangs that line
  up and the PBX bridges the caller with the consulted party: a true
  attended transfer, the consulted phone does not ring again.  Cancel
  (``CancelAtxfer``) drops the consulted party and gives us the caller back.
  The phone sees one line all along.
* Without AMI, the phone model's consult: the call is held and a second
  line calls the number.  Complete ends the consultation and
  blind-transfers the held call to the same number - semi-attended: the
  consulted phone rings again with the caller.  Cancel ends the
  consultation and resumes the call.

:meth:`Transfers.line_ended` forgets a consultation whose lines ended
under it (the caller or the consulted party hung up).  A consultation the
PBX runs keeps our line up whatever happens, so :meth:`Transfers._ended_by`
watches its channels instead: our channel taken off hold means the
consulted party is gone (hung up, or a busy tone ran out) and the PBX gave
us the caller back; the caller's channel hanging up leaves us talking to the
one consulted (``on_ended`` is told either way).

Asterisk runs ``Atxfer`` and ``CancelAtxfer`` by playing the feature codes
into the channel as DTMF, and drops them silently while the channel is
still finishing the previous consultation (about half a second after it
ends).  So a consultation counts as started only when our channel goes on
hold (about 0.3 s after the action); without that the action is sent once
more, and then it is an error.  Cancel waits for the channel to come off
hold, so the caller is really back when it returns.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from iaxphone.pbx.ami import AmiError, ChannelHoldChanged, ChannelHungUp, PbxClient, PbxEvent
from iaxphone.phone import LineInfo, Phone

from .pbxlines import line_channels

log = logging.getLogger("iaxphone.gui")

HOLD_WAIT_S = 1.5  # Asterisk puts the caller on hold about 0.3 s after Atxfer
UNHOLD_WAIT_S = 3.0  # and gives the caller back about 0.5 s after CancelAtxfer


@dataclass(frozen=True)
class Consultation:
    line_id: int  # the call being transferred
    number: str  # whom we consult
    consult_id: int | None = None  # the phone's consultation line (without AMI)
    channel: str | None = None  # our PBX channel running the consultation (with AMI)
    caller_channel: str | None = None  # the waiting caller's PBX channel (with AMI)

    @property
    def at_pbx(self) -> bool:
        return self.channel is not None


class Transfers:
    def __init__(
        self,
        phone: Phone,
        pbx: PbxClient | None = None,
        on_ended: Callable[[str], None] | None = None,
    ) -> None:
        self.phone = phone
        self.pbx = pbx
        self.on_ended = on_ended  # told when a consultation at the PBX ends under us
        self.current: Consultation | None = None
        self._hold_waits: list[tuple[str, bool, asyncio.Future[None]]] = []
        if pbx is not None:
            pbx.subscribe(self._on_pbx_event)

    def blind(self, line_id: int, number: str) -> None:
        self.phone.blind_transfer(line_id, number)

    async def consult(self, line: LineInfo, number: str) -> Consultation:
        if self.current is not None:
            raise ValueError("finish the transfer in progress first")
        if self.pbx is not None:
            pbx = self.pbx
            channels = await line_channels(pbx, self.phone, line)
            for attempt in range(2):
                if await self._hold_change(
                    channels.ours, True, lambda: pbx.attended_transfer(channels.ours, number)
                ):
                    break
                log.info("attempt %d: the PBX did not start the consultation", attempt + 1)
            else:
                raise AmiError(f"the PBX did not start the consultation with {number}: try again")
            self.current = Consultation(
                line.id, number, channel=channels.ours, caller_channel=channels.far_end
            )
        else:
            consult_id = await self.phone.consult(line.id, number)
            self.current = Consultation(line.id, number, consult_id=consult_id)
        return self.current

    async def complete(self) -> Consultation:
        consultation = self._take()
        if consultation.consult_id is None:
            await self.phone.hangup(consultation.line_id)  # the PBX joins the other two
        else:
            await self.phone.complete_transfer(consultation.line_id, consultation.consult_id)
        return consultation

    async def cancel(self) -> Consultation:
        consultation = self._take()
        if consultation.channel is not None:
            assert self.pbx is not None
            pbx, channel = self.pbx, consultation.channel
            await self._hold_change(
                channel, False, lambda: pbx.cancel_attended_transfer(channel), UNHOLD_WAIT_S
            )
        elif consultation.consult_id is not None:
            await self.phone.cancel_transfer(consultation.line_id, consultation.consult_id)
        return consultation

    def line_ended(self, line_id: int) -> Consultation | None:
        """The consultation this ended line belonged to (now forgotten), if any."""
        consultation = self.current
        if consultation is not None and line_id in (consultation.line_id, consultation.consult_id):
            self.current = None
            return consultation
        return None

    def _ended_by(self, event: PbxEvent) -> str | None:
        """What to tell the user when ``event`` ends the PBX's consultation, else None."""
        consultation = self.current
        if consultation is None or consultation.channel is None:
            return None
        if isinstance(event, ChannelHoldChanged) and event.channel == consultation.channel:
            if event.held:
                return None  # the consultation starting: the caller is put on music
            self.current = None
            return f"{consultation.number} hung up: you are back with the caller"
        if isinstance(event, ChannelHungUp) and event.channel == consultation.caller_channel:
            self.current = None
            return f"the caller hung up: you are talking to {consultation.number}"
        return None

    def _on_pbx_event(self, event: PbxEvent) -> None:
        if isinstance(event, ChannelHoldChanged):
            for channel, held, seen in self._hold_waits:
                if (channel, held) == (event.channel, event.held) and not seen.done():
                    seen.set_result(None)
        said = self._ended_by(event)
        if said is not None and self.on_ended is not None:
            self.on_ended(said)

    async def _hold_change(
        self,
        channel: str,
        held: bool,
        action: Callable[[], Awaitable[None]],
        timeout: float = HOLD_WAIT_S,
    ) -> bool:
        """Run ``action``; did ``channel`` then go on (or come off) hold within ``timeout``?"""
        seen: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        wait = (channel, held, seen)
        self._hold_waits.append(wait)
        try:
            await action()
            await asyncio.wait_for(seen, timeout)
            return True
        except TimeoutError:
            return False
        finally:
            self._hold_waits.remove(wait)

    def _take(self) -> Consultation:
        if self.current is None:
            raise ValueError("no transfer in progress")
        consultation, self.current = self.current, None
        return consultation
