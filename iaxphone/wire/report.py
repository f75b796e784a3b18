"""The receiver report of PING and PONG (RFC 5456 8.6.25-8.6.30) as one value.

A receiver report is one side's view of the voice stream it receives: the
interarrival jitter, loss (as a percentage and a count), packets received,
jitter-buffer delay, frames dropped and frames out of order.  It travels as
six RR information elements; RR_LOSS packs the percentage into its top
byte and the count into the low 24 bits, as Asterisk's ``construct_rr``
does.

It lives here, with the wire format, because two layers share it: the media
engine works it out from its jitter buffer (``MediaSession.receiver_report``)
and the sans-IO endpoint sends it in PING and PONG and reports the far
end's in :class:`~iaxphone.proto.events.PeerReport`; neither of those two
layers imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass

from .ies import InformationElements

MAX_LOSS_PERCENT = 0xFF
MAX_LOST = 0xFFFFFF
MAX_DELAY_MS = 0xFFFF


@dataclass(frozen=True, slots=True)
class ReceiverReport:
    """One side's view of the voice it receives (all counts since the call started)."""

    jitter_ms: int = 0
    loss_percent: int = 0
    lost: int = 0
    packets: int = 0
    delay_ms: int = 0
    dropped: int = 0  # late or skipped by the jitter buffer
    out_of_order: int = 0

    def to_ies(self) -> InformationElements:
        """The six RR IEs, each value clamped to what its field can hold."""
        return InformationElements(
            rr_jitter=max(0, self.jitter_ms),
            rr_loss=(min(max(0, self.loss_percent), MAX_LOSS_PERCENT) << 24)
            | (max(0, self.lost) & MAX_LOST),
            rr_pkts=max(0, self.packets),
            rr_delay=min(max(0, self.delay_ms), MAX_DELAY_MS),
            rr_dropped=max(0, self.dropped),
            rr_ooo=max(0, self.out_of_order),
        )

    @classmethod
    def from_ies(cls, ies: InformationElements | None) -> ReceiverReport | None:
        """The report in a PING or PONG; None if it carries no RR IE (a missing one counts 0)."""
        if ies is None:
            return None
        values = (ies.rr_jitter, ies.rr_loss, ies.rr_pkts, ies.rr_delay, ies.rr_dropped, ies.rr_ooo)
        if all(value is None for value in values):
            return None
        jitter, loss, packets, delay, dropped, ooo = (value or 0 for value in values)
        return cls(
            jitter_ms=jitter,
            loss_percent=loss >> 24,
            lost=loss & MAX_LOST,
            packets=packets,
            delay_ms=delay,
            dropped=dropped,
            out_of_order=ooo,
        )


__all__ = ["ReceiverReport"]
