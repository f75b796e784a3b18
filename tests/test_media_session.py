"""MediaSession with virtual devices and a fake clock: both directions, mute, hold, DTMF, CNG."""

from __future__ import annotations

import numpy as np

from iaxphone.media.codecs import make_decoder, make_encoder
from iaxphone.media.dtmf import DtmfGenerator
from iaxphone.media.session import MediaSession, MuteMode
from iaxphone.media.virtual import MemorySink, SilenceSource, ToneSource
from iaxphone.wire.constants import Format
from iaxphone.wire.report import ReceiverReport


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(float) * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


class Wire:
    """Collects what the session sends."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def __call__(self, payload: bytes, duration_ms: int) -> None:
        assert duration_ms == 20
        self.sent.append(payload)


def make(source=None, fmt: int = Format.ULAW) -> tuple[MediaSession, Wire, MemorySink]:  # type: ignore[no-untyped-def]
    wire, sink = Wire(), MemorySink(8000)
    session = MediaSession(fmt, wire, source or SilenceSource(8000), sink)
    return session, wire, sink


def feed_tone(session: MediaSession, frequency: float, frames: int, start: float = 0.0) -> None:
    """Receive ``frames`` frames of a tone, one every 20 ms, and tick the session."""
    encoder = make_encoder(session.format)
    tone = ToneSource(frequency, 8000)
    for i in range(frames):
        now = start + i * 0.020
        session.on_audio(1000 + i * 20, encoder.encode(tone.read(160)), now + 0.005)
        session.tick(now + 0.010)


def test_transmit_encodes_the_source_every_tick() -> None:
    session, wire, _ = make(ToneSource(440, 8000))
    for i in range(50):
        session.tick(i * 0.02)
    assert len(wire.sent) == 50 and all(len(p) == 160 for p in wire.sent)
    decoder = make_decoder(Format.ULAW)
    pcm = np.concatenate([decoder.decode(p) for p in wire.sent])
    assert abs(dominant_frequency(pcm, 8000) - 440) < 10
    assert session.snapshot().mic.rms_dbfs > -20


def test_receive_plays_what_arrives_after_the_jitter_buffer() -> None:
    session, _, sink = make()
    feed_tone(session, 1000, 100)
    heard = sink.samples[-4000:]
    assert abs(dominant_frequency(heard, 8000) - 1000) < 10
    snap = session.snapshot()
    assert snap.traffic.packets_received == 100 and snap.loss.lost == 0


def test_mute_sends_silence_or_nothing_and_hold_sends_nothing() -> None:
    session, wire, _ = make(ToneSource(440, 8000))
    session.muted = True
    session.tick(0.0)
    assert wire.sent and set(make_decoder(Format.ULAW).decode(wire.sent[-1])) == {0}
    session.mute_mode = MuteMode.STOP
    session.tick(0.02)
    session.muted, session.on_hold = False, True
    session.tick(0.04)
    assert len(wire.sent) == 1


def test_gain_changes_levels() -> None:
    loud, _, _ = make(ToneSource(440, 8000, level_dbfs=-20))
    quiet, _, _ = make(ToneSource(440, 8000, level_dbfs=-20))
    quiet.mic_gain_db = -12.0
    loud.tick(0.0)
    quiet.tick(0.0)
    assert loud.snapshot().mic.rms_dbfs - quiet.snapshot().mic.rms_dbfs > 11


def test_in_band_dtmf_in_received_audio_is_reported() -> None:
    session, _, _ = make()
    digits: list[str] = []
    session.on_dtmf = digits.append
    encoder, gen = make_encoder(Format.ULAW), DtmfGenerator(8000)
    audio = np.concatenate([np.zeros(800, dtype=np.int16)] + [
        np.concatenate([gen.tone(d, 100), np.zeros(800, dtype=np.int16)]) for d in "42#"
    ])  # fmt: skip
    audio = np.concatenate([audio, np.zeros(160 * 20, dtype=np.int16)])
    for i in range(len(audio) // 160):
        session.on_audio(i * 20, encoder.encode(audio[i * 160 : (i + 1) * 160]), i * 0.02 + 0.005)
        session.tick(i * 0.02 + 0.01)
    assert digits == ["4", "2", "#"]


def test_key_feedback_is_mixed_into_the_speaker() -> None:
    session, _, sink = make()
    session.key_feedback("5", 100)
    for i in range(10):
        session.tick(i * 0.02)
    beep = sink.samples[:800]
    assert np.abs(beep).max() > 3000 and not sink.samples[800:].any()


def test_comfort_noise_fills_silence_until_voice_returns() -> None:
    session, _, sink = make()
    session.comfort_noise(40)  # -40 dBov
    for i in range(5):
        session.tick(i * 0.02)
    noise = sink.samples.astype(float) / 32768
    assert abs(20 * np.log10(np.sqrt(np.mean(noise**2))) + 40) < 1.5
    feed_tone(session, 1000, 10, start=1.0)
    assert session.cng_level_dbov is None


def test_receiver_report_and_peer_report() -> None:
    session, _, _ = make()
    feed_tone(session, 1000, 50)
    report = session.receiver_report()
    assert report.packets == 50 and report.lost == 0 and report.loss_percent == 0
    assert session.snapshot().far_end is None  # nothing heard from the far end yet
    far = ReceiverReport(jitter_ms=4, loss_percent=3)
    session.peer_report(12.0, far)
    session.peer_report(None, None)  # a LAGRP: no RTT of its own, no report; both stay
    snap = session.snapshot()
    assert snap.rtt_ms == 12.0 and snap.far_end == far


def test_speech_then_a_pause_is_told_to_the_jitter_buffer() -> None:
    """The buffer may adjust its delay only once 100 ms of quiet follow speech."""
    session, _, sink = make()
    encoder = make_encoder(session.format)
    tone, silence = ToneSource(440, 8000), np.zeros(160, dtype=np.int16)
    talking: list[bool] = []
    for i in range(40):
        pcm = tone.read(160) if i < 20 else silence
        session.on_audio(1000 + i * 20, encoder.encode(pcm), i * 0.020 + 0.005)
        session.tick(i * 0.020 + 0.070)
        talking.append(session.talking)
    loud = [i for i, chunk in enumerate(sink.chunks) if np.abs(chunk).max() > 1000]
    assert all(talking[loud[0] : loud[-1] + 1]), "a tone is speech"
    pause = 100 // 20
    assert talking[loud[-1] + 1 : loud[-1] + pause] == [True] * (pause - 1), "a gap is not a pause"
    assert not any(talking[loud[-1] + pause :]), "100 ms of quiet is"


def test_without_concealment_a_lost_frame_plays_as_silence() -> None:
    heard = {}
    for conceal in (True, False):
        wire, sink = Wire(), MemorySink(8000)
        session = MediaSession(Format.ULAW, wire, SilenceSource(8000), sink, conceal=conceal)
        encoder, tone = make_encoder(Format.ULAW), ToneSource(300, 8000)
        for i in range(30):
            payload = encoder.encode(tone.read(160))
            if i != 20:  # frame 20 is lost
                session.on_audio(1000 + i * 20, payload, i * 0.020 + 0.005)
            session.tick(i * 0.020 + 0.070)
        heard[conceal] = sink.samples
        assert session.stats.concealed_ms == 20
    frames = {c: heard[c].reshape(-1, 160) for c in heard}
    playing = [i for i, f in enumerate(frames[True]) if np.abs(f).max() > 1000]
    silent = [i for i in playing if not frames[False][i].any()]
    assert len(silent) == 1, "zero-fill: exactly the lost frame is silent"
    assert np.abs(frames[True][silent[0]].astype(float)).mean() > 1000, "concealed: it is not"


def test_a_stateful_decoder_also_decodes_the_frames_the_buffer_skips() -> None:
    session, _, _ = make(fmt=Format.GSM)
    seen: list[bytes] = []
    decode = session.decoder.decode

    def recording(payload: bytes) -> np.ndarray:
        seen.append(payload)
        return decode(payload)

    session.decoder.decode = recording  # type: ignore[method-assign]
    encoder = make_encoder(Format.GSM)
    tone = ToneSource(300, 8000)
    sent = []
    for i in range(400):  # 8 s of tone: after 5 s without a pause the buffer skips
        payload = encoder.encode(tone.read(160))
        sent.append(payload)
        session.on_audio(1000 + i * 20, payload, i * 0.020 + 0.005)
        session.tick(i * 0.020 + 0.030)
    assert session.jitter.stats.skipped >= 1
    assert seen == sent[: len(seen)]  # every frame, skipped or played, in order


def test_on_a_clean_link_no_frame_of_speech_is_skipped_whatever_the_clock_phase() -> None:
    """The buffer sheds its start-up surplus in pauses: not the second frame of the first
    words, nor one mid-word a couple of seconds in (both happened at some phases)."""
    encoder = make_encoder(Format.ULAW)
    tone, silence = ToneSource(440, 8000), np.zeros(160, dtype=np.int16)
    # The decoder's first frame is quiet, then 3 s of "speech", 0.5 s of pause, and again.
    loud = [1 <= i % 175 < 150 for i in range(350)]
    payloads = [encoder.encode(tone.read(160) if s else silence) for s in loud]
    for phase in np.arange(0.0, 20.0, 0.5):  # arrivals this many ms off the playout tick
        session, _, sink = make()
        arrivals = [(20.0 + phase + 20 * i) / 1000 for i in range(len(payloads))]
        received = 0
        for tick in range(len(payloads) + 10):
            now = tick * 0.020
            while received < len(payloads) and arrivals[received] <= now:
                session.on_audio(20 * received, payloads[received], arrivals[received])
                received += 1
            session.tick(now)
        heard = sum(1 for chunk in sink.chunks if np.abs(chunk).max() > 1000)
        assert session.jitter.stats.skipped >= 1, "the start-up surplus was shed"
        assert heard == sum(loud), f"phase {phase} ms: frames of speech lost"
