"""One call's audio, both directions, driven by a frame clock.

Pipeline (after baresip)::

    source -> gain -> AEC/NS/AGC -> mute -> level -> encode -------> network
                       ^ echo reference: the frame the speaker played last
    sink   <- beep + gain <- level <- decode | conceal | comfort noise <- jbuf <- network
                                      `-> in-band DTMF detector

Theory of operation
-------------------
:meth:`MediaSession.on_audio` takes every voice payload the protocol
delivers (with its 32-bit timestamp and arrival time) into the jitter
buffer.  :meth:`MediaSession.tick` runs once per frame interval:

* transmit: read one frame from the source, apply microphone gain, the voice
  processing of :mod:`iaxphone.media.voice` (echo cancellation against the
  frame the sink was given last, noise suppression, gain control; it keeps
  running while muted so it stays converged) and mute, meter it, encode it
  and hand the payload to ``send``. Muting either sends silence (the far
  end hears a live line) or sends nothing; on hold nothing is sent.
* receive: ask the jitter buffer what to play now.  A frame is decoded; a
  missing frame is recovered from the next frame's in-band FEC (Opus), or
  concealed by the codec's own PLC (Opus), or by our pitch-based PLC (PCM
  codecs); a stretch request is concealed the same way; nothing to play
  gives comfort noise at the level of the far end's last CNG frame, or
  silence.  Decoded audio also goes through the in-band DTMF detector when
  ``on_dtmf`` is set.  The result gets speaker gain and any local key beep,
  is metered (its level worked out only when read, see
  :class:`~iaxphone.media.stats.LevelMeter`; only its energy each frame, for
  the speech/pause decision), and goes to the sink (and the recorder, if any).

:meth:`MediaSession.peer_report` takes the round-trip time and the far
end's view of our stream, :meth:`comfort_noise` the CNG level, and
:meth:`receiver_report` is what we send back in PING/PONG; the aio layer
translates protocol events into these calls, so media knows nothing of
the protocol.

Nothing here reads a clock or knows an event loop: ``tick`` is called
with ``now`` by :class:`iaxphone.aio.pacer.FramePacer` (absolute deadlines,
one clock task per event loop).
"""

from __future__ import annotations

import contextlib
import enum
import logging
from collections.abc import Callable

import numpy as np

from iaxphone.wire.constants import Format
from iaxphone.wire.report import ReceiverReport

from .codecs import Decoder, Encoder, make_decoder, make_encoder
from .dtmf import DtmfDetector, DtmfGenerator
from .jitterbuffer import JitterBuffer, PlayoutKind, TimestampExtender
from .plc import PitchConcealer
from .recorder import CallRecorder
from .stats import CallStats, MediaStats
from .virtual import Samples, Sink, Source
from .voice import OFF, VoiceProcessor, VoiceSettings

# The level (RMS) above which a frame played counts as speech: the jitter
# buffer adjusts its delay only below it, in pauses.
SPEECH_DBFS = -45.0
PAUSE_MS = 100  # this long below it is a pause, not a quiet syllable or a stop consonant
# SPEECH_DBFS as mean sample energy (RMS squared), so a frame is judged without a logarithm.
SPEECH_ENERGY_PER_SAMPLE = (32768.0 * 10 ** (SPEECH_DBFS / 20.0)) ** 2

log = logging.getLogger("iaxphone.media")


class MuteMode(enum.Enum):
    SILENCE = "silence"  # keep sending, zeros
    STOP = "stop"  # send no voice frames


def apply_gain(samples: Samples, gain_db: float) -> Samples:
    if gain_db == 0.0:
        return samples
    scaled = samples.astype(np.float64) * 10 ** (gain_db / 20.0)
    return np.clip(np.rint(scaled), -32768, 32767).astype(np.int16)


class MediaSession:
    def __init__(
        self,
        fmt: int,
        send: Callable[[bytes, int], None],
        source: Source,
        sink: Sink,
        *,
        frame_ms: int = 20,
        recorder: Sink | None = None,
        jitter_buffer: JitterBuffer | None = None,
        conceal: bool = True,
        voice: VoiceSettings = OFF,
    ) -> None:
        self.format = fmt
        self.conceal = conceal  # False: missing frames play as silence (benchmarks compare)
        self.frame_ms = frame_ms
        self.encoder: Encoder = make_encoder(fmt, frame_ms=frame_ms)
        self.decoder: Decoder = make_decoder(fmt, frame_ms=frame_ms)
        self.rate = self.encoder.sample_rate
        self.samples = self.encoder.samples_per_frame
        self.send = send
        self.source = source
        self.sink = sink
        self.recorder = recorder
        self.jitter = jitter_buffer or JitterBuffer(frame_ms)
        self.extender = TimestampExtender()
        self.plc = PitchConcealer(self.rate)
        self.stats = CallStats(codec=fmt, frame_ms=frame_ms)
        self.muted = False
        self.mute_mode = MuteMode.SILENCE
        self.on_hold = False
        self.mic_gain_db = 0.0
        self.speaker_gain_db = 0.0
        self.uses_codec_plc = fmt == Format.OPUS
        # G.711 decodes each frame on its own, so the frame after a gap can be
        # decoded early for interpolation; stateful decoders must not see it twice.
        self.stateless_decoder = fmt in (Format.ULAW, Format.ALAW)
        self.quiet_ms = PAUSE_MS  # how long what played has been quiet (silence before a call)
        self.dtmf_detector = DtmfDetector(self.rate)
        self.on_dtmf: Callable[[str], None] | None = None
        self.feedback = np.zeros(0, dtype=np.int16)  # key beeps still to mix into the speaker
        self.dtmf_tones = DtmfGenerator(self.rate)
        self.cng_level_dbov: int | None = None
        self.last_sent: Samples = np.zeros(self.samples, dtype=np.int16)
        self.last_heard: Samples = np.zeros(self.samples, dtype=np.int16)
        self.call_recorder: CallRecorder | None = None
        self.noise = np.random.default_rng()
        self.voice = VoiceProcessor(self.rate, voice)
        if self.voice.note:
            log.warning("%s", self.voice.note)

    # ------------------------------------------------------------------ events

    def peer_report(self, rtt_ms: float | None, far_end: ReceiverReport | None) -> None:
        """The round-trip time and the far end's view of our stream (PONG receiver report)."""
        if rtt_ms is not None:
            self.stats.round_trip(float(rtt_ms))
        if far_end is not None:
            self.stats.far_end = far_end

    def comfort_noise(self, level_dbov: int) -> None:
        """The far end fell silent (CNG): play noise at this level until voice returns."""
        self.cng_level_dbov = level_dbov

    def receiver_report(self) -> ReceiverReport:
        """What we tell the far end in PING/PONG (RR IEs): our view of its stream."""
        jitter = self.jitter.stats
        expected = jitter.played + jitter.lost
        return ReceiverReport(
            jitter_ms=round(self.stats.received.jitter_ms),
            loss_percent=round(100 * jitter.lost / expected) if expected else 0,
            lost=jitter.lost,
            packets=self.stats.received.packets,
            delay_ms=round(jitter.delay_ms),
            dropped=jitter.late + jitter.skipped,
            out_of_order=jitter.out_of_order,
        )

    def key_feedback(self, digit: str, duration_ms: int = 100) -> None:
        """Play a key's DTMF beep locally (mixed into what the speaker plays)."""
        self.feedback = np.concatenate((self.feedback, self.dtmf_tones.tone(digit, duration_ms)))

    def _comfort_noise(self) -> Samples:
        if self.cng_level_dbov is None:
            return np.zeros(self.samples, dtype=np.int16)
        rms = 32768.0 * 10 ** (-self.cng_level_dbov / 20.0)
        return np.clip(np.rint(self.noise.normal(0.0, rms, self.samples)), -32768, 32767).astype(
            np.int16
        )

    # ------------------------------------------------------------------ receive

    def on_audio(self, timestamp: int, payload: bytes, arrival: float) -> None:
        ts = self.extender.extend(timestamp)
        self.stats.received.arrived(ts, arrival, len(payload))
        resyncs = self.jitter.stats.resyncs
        self.jitter.put(ts, payload, arrival)
        if self.jitter.stats.resyncs != resyncs:
            self.stats.received.reset_transit()

    def _note_loudness(self, played: bool, pcm: Samples) -> None:
        """Speech or a pause, for the jitter buffer's next decision (see PAUSE_MS)."""
        quiet = True
        if played:
            x = pcm.astype(np.float32)
            quiet = float(np.dot(x, x)) <= SPEECH_ENERGY_PER_SAMPLE * len(x)
        self.quiet_ms = self.quiet_ms + self.frame_ms if quiet else 0

    @property
    def talking(self) -> bool:
        """Speech is playing: the jitter buffer waits for a pause to adjust its delay."""
        return self.quiet_ms < PAUSE_MS

    def _playout(self, now: float) -> Samples | None:
        out = self.jitter.get(now, self.talking)
        if out.kind is PlayoutKind.NOTHING:
            return None
        if out.skipped_payload is not None and not self.stateless_decoder:
            # A stateful decoder (Opus, G.722, GSM, G.729) must still see the frame the
            # buffer skipped, or its state jumps and the next frames sound wrong.
            with contextlib.suppress(ValueError):
                self.decoder.decode(out.skipped_payload)
        if out.kind is PlayoutKind.FRAME:
            self.cng_level_dbov = None  # voice again
            try:
                pcm = self.decoder.decode(out.payload)
            except ValueError:
                return self._conceal(None)
            if not self.uses_codec_plc:
                pcm = self.plc.good(pcm)
            if self.on_dtmf is not None:  # in-band detection only for someone listening
                for digit in self.dtmf_detector.feed(pcm):
                    self.on_dtmf(digit)
            return pcm
        return self._conceal(out.next_payload)

    def _conceal(self, next_payload: bytes | None) -> Samples:
        self.stats.concealed_ms += self.frame_ms
        if not self.conceal:
            return np.zeros(self.samples, dtype=np.int16)
        if self.uses_codec_plc:
            recovered = None
            if next_payload is not None:
                recovered = self.decoder.decode_fec(next_payload, self.samples)
            if recovered is None:
                recovered = self.decoder.conceal(self.samples)
            if recovered is not None:
                return recovered
        following = None
        if next_payload is not None and self.stateless_decoder:
            with contextlib.suppress(ValueError):
                following = self.decoder.decode(next_payload)
        return self.plc.conceal(self.samples, following)

    # ------------------------------------------------------------------ transmit

    def _capture(self) -> None:
        pcm = apply_gain(self.source.read(self.samples), self.mic_gain_db)
        if self.voice.active:
            pcm = self.voice.process(pcm, self.last_heard)
        if self.muted:
            pcm = np.zeros(self.samples, dtype=np.int16)
        self.stats.mic.show(pcm)
        self.last_sent = pcm if not self.on_hold else np.zeros(self.samples, dtype=np.int16)
        if self.on_hold or (self.muted and self.mute_mode is MuteMode.STOP):
            return
        payload = self.encoder.encode(pcm)
        self.stats.sent_packets += 1
        self.stats.sent_bytes += len(payload)
        self.send(payload, self.frame_ms)

    # ------------------------------------------------------------------ clock

    def tick(self, now: float) -> None:
        """One frame interval: send a frame, play a frame."""
        self._capture()
        pcm = self._playout(now)
        played = pcm is not None
        if pcm is None:
            pcm = self._comfort_noise()
        pcm = apply_gain(pcm, self.speaker_gain_db)
        if len(self.feedback):
            beep, self.feedback = self.feedback[: self.samples], self.feedback[self.samples :]
            mixed = pcm[: len(beep)].astype(np.int32) + beep
            pcm = pcm.copy()
            pcm[: len(beep)] = np.clip(mixed, -32768, 32767)
        self.stats.speaker.show(pcm)
        self._note_loudness(played, pcm)
        self.last_heard = pcm
        self.sink.write(pcm)
        if self.recorder is not None:
            self.recorder.write(pcm)
        if self.call_recorder is not None:
            self.call_recorder.record(self.last_sent, pcm)

    def snapshot(self) -> MediaStats:
        """The call's media statistics now (levels, loss, jitter, jitter buffer, MOS)."""
        return self.stats.snapshot(self.jitter.stats, self.voice.stats())

    def close(self) -> None:
        self.sink.close()
        if self.recorder is not None:
            self.recorder.close()
        if self.call_recorder is not None:
            self.call_recorder.close()
