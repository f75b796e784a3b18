"""Audio for a call on the event loop: a MediaSession paced by a FramePacer.

``CallAudio`` wires one :class:`~iaxphone.aio.client.CallHandle` to a
source and a sink: it builds the media session for the call's codec,
attaches itself so received voice goes straight into the jitter buffer
(and receiver reports and comfort-noise levels reach the session), gives
the endpoint the session's receiver report for PING/PONG, and ticks the
session every frame interval until stopped.  ``on_stats`` receives the
session's statistics snapshot every ``stats_interval`` (0.1 s: the handset
graphs' ten updates a second).
"""

from __future__ import annotations

from collections.abc import Callable

from iaxphone.media.session import MediaSession
from iaxphone.media.virtual import Sink, Source
from iaxphone.proto.events import ComfortNoise, Event, PeerReport

from .client import CallHandle
from .pacer import FramePacer


class CallAudio:
    def __init__(
        self,
        call: CallHandle,
        source: Source,
        sink: Sink,
        *,
        frame_ms: int = 20,
        recorder: Sink | None = None,
        on_stats: Callable[[dict[str, object]], None] | None = None,
        stats_interval: float = 0.1,
    ) -> None:
        if not call.format:
            raise ValueError(f"call {call.call_id} has no codec yet (not accepted)")
        self.call = call
        self.session = MediaSession(
            call.format, self._send, source, sink, frame_ms=frame_ms, recorder=recorder
        )
        self.on_stats = on_stats
        self.stats_every = max(1, round(stats_interval * 1000 / frame_ms))
        self.pacer = FramePacer(self._tick, frame_ms)

    def _tick(self, now: float) -> None:
        self.session.tick(now)
        if self.on_stats is not None and self.pacer.ticks % self.stats_every == 0:
            self.on_stats(self.session.snapshot())

    def _send(self, payload: bytes, duration_ms: int) -> None:
        if not self.call.ended.done():
            self.call.send_audio(payload, duration_ms)

    def on_audio(self, timestamp: int, payload: bytes, arrival: float) -> None:
        self.session.on_audio(timestamp, payload, arrival)

    def on_event(self, event: Event) -> None:
        """Protocol events that concern the media, translated for the media session."""
        if isinstance(event, PeerReport):
            far = {
                "jitter_ms": event.jitter_ms,
                "loss_percent": event.loss_percent,
                "lost": event.lost,
                "packets": event.packets,
                "delay_ms": event.delay_ms,
                "dropped": event.dropped,
                "out_of_order": event.out_of_order,
            }
            self.session.peer_report(event.rtt_ms, {k: v for k, v in far.items() if v is not None})
        elif isinstance(event, ComfortNoise):
            self.session.comfort_noise(event.level_dbov)

    def start(self) -> CallAudio:
        self.call.media = self
        self.call.client.endpoint.set_receiver_report(
            self.call.call_id, self.session.receiver_report
        )
        self.pacer.start()
        return self

    async def stop(self) -> None:
        await self.pacer.stop()
        self.call.media = None
        self.session.close()
