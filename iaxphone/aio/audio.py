"""Audio for a call on the event loop: a MediaSession paced by a FramePacer.

``CallAudio`` wires one :class:`~iaxphone.aio.client.CallHandle` to a
source and a sink: it builds the media session for the call's codec,
attaches it so received voice goes straight into the jitter buffer, and
ticks it every frame interval until stopped.
"""

from __future__ import annotations

from iaxphone.media.session import FramePacer, MediaSession
from iaxphone.media.virtual import Sink, Source

from .client import CallHandle


class CallAudio:
    def __init__(
        self,
        call: CallHandle,
        source: Source,
        sink: Sink,
        *,
        frame_ms: int = 20,
        recorder: Sink | None = None,
    ) -> None:
        if not call.format:
            raise ValueError(f"call {call.call_id} has no codec yet (not accepted)")
        self.call = call
        self.session = MediaSession(
            call.format, self._send, source, sink, frame_ms=frame_ms, recorder=recorder
        )
        self.pacer = FramePacer(self.session.tick, frame_ms)

    def _send(self, payload: bytes, duration_ms: int) -> None:
        if not self.call.ended.done():
            self.call.send_audio(payload, duration_ms)

    def start(self) -> CallAudio:
        self.call.media = self.session
        self.pacer.start()
        return self

    async def stop(self) -> None:
        await self.pacer.stop()
        self.call.media = None
        self.session.close()
