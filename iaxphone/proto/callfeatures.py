"""What a call does once it is connected: in-call commands, frames and link reports.

Theory of operation
-------------------
Commands (DTMF, text, hold and resume, flash, quelch, blind transfer) are
checked against the call's state table first (:mod:`.callstate`), so one
sent in the wrong state raises :class:`~.callstate.CallStateError`; hold
and resume then go through the local hold machine and the far end's hold
and quelch through the remote one (:mod:`.hold`).

Frames that never change the call's state are handled here in any state:
DTMF, TEXT, CNG, CONTROL HOLD/UNHOLD and FLASH, QUELCH/UNQUELCH, TRANSFER,
the peer's refusals (UNSUPPORT, TXREJ: noted, never answered in kind),
RTKEY (the peer's new receive key) and TXREQ (native transfer: refused,
media stays through the PBX).  Each is acknowledged and reported as an
event.

Link quality: every ``ping_interval`` (from the ACCEPT on, so a peer that
vanishes while the call rings is noticed when the PING's retransmissions
run out) a call sends PING with receiver-report IEs and reports the
round-trip time and the far end's view from the PONG; it answers the
peer's PING (PONG with our report) and LAGRQ (LAGRP).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from iaxphone.wire.constants import IE, ControlType, FrameType, IaxCommand
from iaxphone.wire.frames import FullFrame
from iaxphone.wire.ies import InformationElements
from iaxphone.wire.report import ReceiverReport

from .callstate import PINGED, CallAction, CallState, CallTrigger
from .crypto import DecryptError
from .events import (
    ComfortNoise,
    DtmfReceived,
    FlashReceived,
    HoldChanged,
    PeerReport,
    QuelchChanged,
    TextReceived,
    TransferRequested,
)
from .hold import FarAction, FarState, FarTrigger, HoldAction, HoldState, HoldTrigger
from .machine import Machine
from .session import Session
from .voice import MediaCounters

log = logging.getLogger("iaxphone.proto")

MAX_PINGS_REMEMBERED = 8


class InCallFeatures(Session):
    """The in-call half of :class:`~iaxphone.proto.call.Call` (see the module docstring)."""

    machine: Machine[CallState, CallTrigger, CallAction]
    local_hold: Machine[HoldState, HoldTrigger, HoldAction]
    far_hold: Machine[FarState, FarTrigger, FarAction]
    media: MediaCounters
    ping_interval: float
    next_ping: float | None
    ping_sent: dict[int, float]
    receiver_report: ReceiverReport | None

    # -- in-call commands ----------------------------------------------------------

    def send_dtmf(self, digit: str, now: float, begin: bool = False) -> None:
        self.machine.check(CallTrigger.SEND_DTMF)
        if len(digit) != 1 or digit.upper() not in "0123456789*#ABCD":
            raise ValueError(f"not a DTMF digit: {digit!r}")
        frame_type = FrameType.DTMF_BEGIN if begin else FrameType.DTMF_END
        self.send_full(frame_type, ord(digit.upper()), now)

    def hold(self, now: float, music_class: str | None = None) -> None:
        """Put the far end on hold the way Asterisk expects from a phone (see :mod:`.hold`)."""
        self.machine.fire(CallTrigger.HOLD)
        self.local_hold.fire(HoldTrigger.HOLD)
        self.send_iax(IaxCommand.QUELCH, now, InformationElements(music_on_hold=music_class or ""))

    def unhold(self, now: float) -> None:
        self.machine.fire(CallTrigger.UNHOLD)
        self.local_hold.fire(HoldTrigger.RESUME)
        self.send_iax(IaxCommand.UNQUELCH, now)

    def send_text(self, text: str, now: float) -> None:
        self.machine.fire(CallTrigger.SEND_TEXT)
        self.send_full(FrameType.TEXT, 0, now, payload=text.encode() + b"\0")

    def flash(self, now: float) -> None:
        self.machine.fire(CallTrigger.FLASH)
        self.send_full(FrameType.CONTROL, ControlType.FLASH, now)

    def quelch(self, now: float, on: bool) -> None:
        self.machine.fire(CallTrigger.QUELCH)
        self.send_iax(IaxCommand.QUELCH if on else IaxCommand.UNQUELCH, now)

    def blind_transfer(self, number: str, now: float, context: str | None = None) -> None:
        """Ask the PBX to transfer the far end to ``number`` (IAX TRANSFER)."""
        self.machine.fire(CallTrigger.TRANSFER)
        ies = InformationElements(called_number=number)
        if context:
            ies.called_context = context
        self.send_iax(IaxCommand.TRANSFER, now, ies)

    # -- hold, as the far end sees it --------------------------------------------------

    @property
    def remote_hold(self) -> bool:
        """The far end has put us on hold."""
        return self.far_hold.state is FarState.HELD

    @property
    def quelched(self) -> bool:
        """The far end asked us to stop sending (quelch, or hold)."""
        return self.far_hold.state is not FarState.FREE

    def _far(self, trigger: FarTrigger, music: str | None = None) -> None:
        action = self.far_hold.fire(trigger)
        if action is FarAction.REPORT_HELD:
            self.host.emit(HoldChanged(self.local_call, True, music))
        elif action is FarAction.REPORT_RESUMED:
            self.host.emit(HoldChanged(self.local_call, False))
        elif action is not None:
            self.host.emit(QuelchChanged(self.local_call, action is FarAction.REPORT_QUELCHED))

    def _on_hold(self, frame: FullFrame, now: float) -> None:
        self.send_ack(frame)
        if frame.subclass == ControlType.HOLD:
            music = frame.payload.rstrip(b"\0").decode("utf-8", "replace") or None
            self._far(FarTrigger.HOLD, music)
        else:
            self._far(FarTrigger.UNHOLD)

    def _on_quelch(self, frame: FullFrame, now: float) -> None:
        """QUELCH (+MUSICONHOLD: we are on hold) or UNQUELCH (resume)."""
        assert frame.ies is not None
        self.send_ack(frame)
        if frame.subclass == IaxCommand.UNQUELCH:
            self._far(FarTrigger.UNQUELCH)
        elif frame.ies.music_on_hold is not None:
            self._far(FarTrigger.QUELCH_MOH, frame.ies.music_on_hold or None)
        else:
            self._far(FarTrigger.QUELCH)

    # -- other in-call frames -------------------------------------------------------

    def _on_dtmf(self, frame: FullFrame, now: float) -> None:
        self.send_ack(frame)
        digit = chr(frame.subclass) if 0 < frame.subclass < 128 else "?"
        ended = frame.frame_type == FrameType.DTMF_END
        self.host.emit(DtmfReceived(self.local_call, digit, ended, frame.timestamp))

    def _on_cng(self, frame: FullFrame, now: float) -> None:
        self.send_ack(frame)
        level = frame.payload[0] & 0x7F if frame.payload else 127
        self.host.emit(ComfortNoise(self.local_call, level))

    def _on_text(self, frame: FullFrame, now: float) -> None:
        self.send_ack(frame)
        text = frame.payload.rstrip(b"\0").decode("utf-8", "replace")
        self.host.emit(TextReceived(self.local_call, text))

    def _on_flash(self, frame: FullFrame, now: float) -> None:
        self.send_ack(frame)
        self.host.emit(FlashReceived(self.local_call))

    def _on_transfer(self, frame: FullFrame, now: float) -> None:
        assert frame.ies is not None
        self.send_ack(frame)
        self.host.emit(
            TransferRequested(
                self.local_call, frame.ies.called_number or "", frame.ies.called_context
            )
        )

    def _on_refusal(self, frame: FullFrame, now: float) -> None:
        """UNSUPPORT / TXREJ: the peer declined something we sent; note it, never answer in kind."""
        self.send_ack(frame)
        log.debug("call %d: peer refused with %s", self.local_call, frame.subclass)

    def _on_rtkey(self, frame: FullFrame, now: float) -> None:
        """The peer rotated its key: decrypt with the one in CHALLENGE from now on."""
        self.send_ack(frame)
        if self.cipher is None or frame.ies is None:
            return
        raw = next((value for ie, value in frame.ies.items if ie == IE.CHALLENGE), b"")
        try:
            self.cipher.rotate_receive_key(raw)
        except DecryptError as exc:
            log.warning("call %d: %s", self.local_call, exc)

    def _on_txreq(self, frame: FullFrame, now: float) -> None:
        # Native (media path) transfer is refused: media stays through the PBX.
        self.send_iax(IaxCommand.TXREJ, now)

    # -- link quality -----------------------------------------------------------------

    def _report_ies(self) -> InformationElements:
        report = self.receiver_report or ReceiverReport(
            packets=self.media.received, out_of_order=self.media.out_of_order
        )
        return report.to_ies()

    def _ping_if_due(self, now: float) -> None:
        if self.next_ping is None or now < self.next_ping or self.machine.state not in PINGED:
            return
        frame = self.send_iax(IaxCommand.PING, now, self._report_ies())
        self.ping_sent[frame.timestamp] = now
        if len(self.ping_sent) > MAX_PINGS_REMEMBERED:
            self.ping_sent.pop(next(iter(self.ping_sent)))
        self.next_ping = now + self.ping_interval

    def _on_ping(self, frame: FullFrame, now: float) -> None:
        self.send_iax(IaxCommand.PONG, now, self._report_ies(), timestamp=frame.timestamp)

    def _on_pong(self, frame: FullFrame, now: float) -> None:
        assert frame.ies is not None
        self.send_ack(frame)
        sent = self.ping_sent.pop(frame.timestamp, None)
        rtt = round((now - sent) * 1000, 2) if sent is not None else None
        self.host.emit(PeerReport(self.local_call, rtt, ReceiverReport.from_ies(frame.ies)))

    def _on_lagrq(self, frame: FullFrame, now: float) -> None:
        self.send_iax(IaxCommand.LAGRP, now, timestamp=frame.timestamp)

    def _on_lagrp(self, frame: FullFrame, now: float) -> None:
        self.send_ack(frame)
        sent = self.ping_sent.pop(frame.timestamp, None)
        if sent is not None:
            self.host.emit(PeerReport(self.local_call, round((now - sent) * 1000, 2)))


# (frame type, subclass) -> handler, for the frames handled here.
FEATURES: dict[tuple[int, int], Callable[[InCallFeatures, FullFrame, float], None]] = {
    (FrameType.IAX, IaxCommand.PING): InCallFeatures._on_ping,
    (FrameType.IAX, IaxCommand.PONG): InCallFeatures._on_pong,
    (FrameType.IAX, IaxCommand.LAGRQ): InCallFeatures._on_lagrq,
    (FrameType.IAX, IaxCommand.LAGRP): InCallFeatures._on_lagrp,
    (FrameType.IAX, IaxCommand.QUELCH): InCallFeatures._on_quelch,
    (FrameType.IAX, IaxCommand.UNQUELCH): InCallFeatures._on_quelch,
    (FrameType.IAX, IaxCommand.TRANSFER): InCallFeatures._on_transfer,
    (FrameType.IAX, IaxCommand.TXREQ): InCallFeatures._on_txreq,
    (FrameType.IAX, IaxCommand.RTKEY): InCallFeatures._on_rtkey,
    (FrameType.IAX, IaxCommand.TXREJ): InCallFeatures._on_refusal,
    (FrameType.IAX, IaxCommand.UNSUPPORT): InCallFeatures._on_refusal,
    (FrameType.CONTROL, ControlType.HOLD): InCallFeatures._on_hold,
    (FrameType.CONTROL, ControlType.UNHOLD): InCallFeatures._on_hold,
    (FrameType.CONTROL, ControlType.FLASH): InCallFeatures._on_flash,
}
# Frame types handled here whatever their subclass.
FEATURES_BY_TYPE: dict[int, Callable[[InCallFeatures, FullFrame, float], None]] = {
    FrameType.DTMF_BEGIN: InCallFeatures._on_dtmf,
    FrameType.DTMF_END: InCallFeatures._on_dtmf,
    FrameType.CNG: InCallFeatures._on_cng,
    FrameType.TEXT: InCallFeatures._on_text,
}

__all__ = ["FEATURES", "FEATURES_BY_TYPE", "InCallFeatures"]
