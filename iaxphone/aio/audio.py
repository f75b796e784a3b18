"""Audio for a call on the event loop: a MediaSession paced by a FramePacer.

``CallAudio`` wires one :class:`~iaxphone.aio.client.CallHandle` to a
source and a sink: it builds the media session for the call's codec,
attaches itself so received voice goes straight into the jitter buffer
(and receiver reports and comfort-noise levels reach the session), and
ticks the session every frame interval until stopped.  Every
``stats_interval`` (0.1 s: the handset graphs' ten updates a second) it
pushes the session's :class:`~iaxphone.wire.report.ReceiverReport` into the
endpoint (for the next PING or PONG) and hands ``on_stats`` the session's
:class:`~iaxphone.media.stats.MediaStats`.
"""

from __future__ import annotations

from collections.abc import Callable

from iaxphone.media.session import MediaSession
from iaxphone.media.stats import MediaStats
from iaxphone.media.virtual import Sink, Source
from iaxphone.media.voice import OFF, VoiceSettings
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
        on_stats: Callable[[MediaStats], None] | None = None,
        stats_interval: float = 0.1,
        voice: VoiceSettings = OFF,
    ) -> None:
        if not call.format:
            raise ValueError(f"call {call.call_id} has no codec yet (not accepted)")
        self.call = call
        self.session = MediaSession(
            call.format,
            self._send,
            source,
            sink,
            frame_ms=frame_ms,
            recorder=recorder,
            voice=voice,
        )
        self.on_stats = on_stats
        self.stats_every = max(1, round(stats_interval * 1000 / frame_ms))
        self.pacer = FramePacer(self._tick, frame_ms)

    def _tick(self, now: float) -> None:
        self.session.tick(now)
        if self.pacer.ticks % self.stats_every == 0:
            if not self.call.ended.done():
                self.call.update_receiver_report(self.session.receiver_report())
            if self.on_stats is not None:
                self.on_stats(self.session.snapshot())

    def _send(self, payload: bytes, duration_ms: int) -> None:
        if not self.call.ended.done():
            self.call.send_audio(payload, duration_ms)

    def on_audio(self, timestamp: int, payload: bytes, arrival: float) -> None:
        self.session.on_audio(timestamp, payload, arrival)

    def on_event(self, event: Event) -> None:
        """Protocol events that concern the media, translated for the media session."""
        if isinstance(event, PeerReport):
            self.session.peer_report(event.rtt_ms, event.report)
        elif isinstance(event, ComfortNoise):
            self.session.comfort_noise(event.level_dbov)

    def start(self) -> CallAudio:
        self.call.media = self
        self.pacer.start()
        return self

    async def stop(self) -> None:
        await self.pacer.stop()
        self.call.media = None
        self.session.close()
