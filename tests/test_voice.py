"""Echo cancellation, noise suppression and gain control (iaxphone/media/voice.py).

The echo path is simulated (tests/room.py): far-end speech, 40 ms of device
delay, a 100 ms room impulse response at -6 dB and noise at -60 dBFS.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from iaxphone import callrecord, config, config_edit
from iaxphone.gui.graphs import echo_text
from iaxphone.media.codecs import make_encoder
from iaxphone.media.devices import CardSource
from iaxphone.media.dtmf import DtmfDetector, DtmfGenerator
from iaxphone.media.session import MediaSession
from iaxphone.media.stats import MediaStats, VoiceProcessing
from iaxphone.media.virtual import ArraySource, MemorySink, SilenceSource, ToneSource
from iaxphone.media.voice import LAPTOP, OFF, VoiceProcessor, VoiceSettings, hears_room
from iaxphone.wire.constants import Format
from tests import room
from tests.require import unavailable
from tests.speech import have_espeak, speech

AEC_ONLY = VoiceSettings(True, False, False)


def far_speech(rate: int, seconds: int) -> np.ndarray:
    if not have_espeak():
        unavailable("espeak-ng is not installed")
    return np.tile(speech(rate), 1 + seconds * rate // len(speech(rate)))[: seconds * rate]


def run(processor: VoiceProcessor, mic: np.ndarray, far: np.ndarray, frame: int) -> np.ndarray:
    out = [
        processor.process(m, f.astype(np.int16))
        for m, f in zip(
            room.frames(mic, frame), room.frames(far.astype(np.int16), frame), strict=True
        )
    ]
    return np.concatenate(out)


def rms_dbfs(x: np.ndarray) -> float:
    v = np.asarray(x, dtype=np.float64)
    return float(20 * np.log10(np.sqrt(np.mean(v * v)) / 32768 + 1e-12))


@pytest.mark.parametrize("rate", [8000, 16000])
def test_echo_is_cancelled_on_a_synthetic_room(rate: int) -> None:
    far = far_speech(rate, 10)
    mic = room.microphone(far, rate, delay_ms=40, length_ms=100)
    processor = VoiceProcessor(rate, AEC_ONLY)
    out = run(processor, mic, far, rate // 50)
    after = 3 * rate  # convergence
    erle = room.erle_db(mic[after : len(out)], out[after:])
    assert erle >= 30, f"ERLE {erle:.1f} dB"
    stats = processor.stats()
    assert stats.erle_db is not None and stats.erle_db >= 25  # what the handset shows
    assert stats.echo_delay_ms == pytest.approx(40, abs=5)


def test_without_cancellation_the_echo_passes() -> None:
    far = far_speech(8000, 4)
    mic = room.microphone(far, 8000)
    out = run(VoiceProcessor(8000, OFF), mic, far, 160)
    assert room.erle_db(mic[: len(out)], out) == pytest.approx(0.0, abs=0.01)


def test_a_drifting_delay_is_tracked() -> None:
    rate = 8000
    far = far_speech(rate, 12)
    early = room.microphone(far, rate, delay_ms=60)
    late = room.microphone(far, rate, delay_ms=160)
    mic = np.concatenate((early[: 6 * rate], late[6 * rate :]))  # the device buffers 100 ms more
    processor = VoiceProcessor(rate, AEC_ONLY)
    seen = []
    for m, f in zip(room.frames(mic, 160), room.frames(far.astype(np.int16), 160), strict=True):
        processor.process(m, f)
        seen.append(processor.stats().echo_delay_ms)
    assert seen[5 * 50] == pytest.approx(60, abs=5)
    assert seen[-1] == pytest.approx(160, abs=5)  # followed within six seconds


def test_noise_is_suppressed() -> None:
    rate = 16000
    rng = np.random.default_rng(1)
    noise = np.clip(rng.normal(0, 32768 * 10 ** (-40 / 20), 5 * rate), -32768, 32767).astype(
        np.int16
    )
    out = run(
        VoiceProcessor(rate, VoiceSettings(False, True, False)), noise, np.zeros(len(noise)), 320
    )
    assert rms_dbfs(out[2 * rate :]) < rms_dbfs(noise[2 * rate :]) - 6


def test_a_quiet_talker_is_raised() -> None:
    rate = 16000
    quiet = (far_speech(rate, 10).astype(np.float64) * 10 ** (-30 / 20)).astype(np.int16)
    out = run(
        VoiceProcessor(rate, VoiceSettings(False, False, True)), quiet, np.zeros(len(quiet)), 320
    )
    assert rms_dbfs(out[5 * rate :]) > rms_dbfs(quiet[5 * rate :]) + 10


def test_dtmf_from_the_microphone_survives_the_stages() -> None:
    """A tone dialler held to the microphone: its digits still reach the far end."""
    gen = DtmfGenerator(8000)
    audio = np.concatenate(
        [np.zeros(8000, dtype=np.int16)]
        + [np.concatenate([gen.tone(d, 120), np.zeros(800, dtype=np.int16)]) for d in "159#"]
    )
    out = run(VoiceProcessor(8000, LAPTOP), audio, np.zeros(len(audio)), 160)
    assert DtmfDetector(8000).feed(out) == ["1", "5", "9", "#"]


class Wire:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def __call__(self, payload: bytes, duration_ms: int) -> None:
        self.sent.append(payload)


def test_received_dtmf_and_concealment_work_with_the_stages_on() -> None:
    sink = MemorySink(8000)
    session = MediaSession(Format.ULAW, Wire(), SilenceSource(8000), sink, voice=LAPTOP)
    assert session.voice.active
    digits: list[str] = []
    session.on_dtmf = digits.append
    encoder, gen, tone = make_encoder(Format.ULAW), DtmfGenerator(8000), ToneSource(300, 8000)
    audio = np.concatenate([gen.tone("7", 100), np.zeros(800, dtype=np.int16), tone.read(4800)])
    for i in range(len(audio) // 160):
        if i != 25:  # a frame of the tone is lost
            session.on_audio(
                i * 20, encoder.encode(audio[i * 160 : (i + 1) * 160]), i * 0.02 + 0.005
            )
        session.tick(i * 0.02 + 0.07)
    assert digits == ["7"]
    assert session.stats.concealed_ms == 20
    frames = sink.samples[: len(sink.samples) // 160 * 160].reshape(-1, 160)
    playing = [i for i, f in enumerate(frames) if np.abs(f).max() > 1000]
    assert all(np.abs(frames[i].astype(float)).mean() > 500 for i in playing[12:-2]), (
        "PLC filled it"
    )


class Room:
    """A microphone that hears what the sink played, 60 ms later through a 100 ms room."""

    def __init__(self, sink: MemorySink, rate: int) -> None:
        self.sink, self.rate, self.heard = sink, rate, 0
        self.response = room.rir(rate, 100)
        self.delay = rate * 60 // 1000
        self.noise = np.random.default_rng(5)

    def read(self, count: int) -> np.ndarray:
        start, taps = self.heard - self.delay, len(self.response)
        played = np.zeros(count + taps - 1)
        chunk = self.sink.samples[max(0, start - taps + 1) : max(0, start + count)]
        played[len(played) - len(chunk) :] = chunk if start + count > 0 else 0
        echo = np.convolve(played, self.response, mode="valid")
        self.heard += count
        echo += self.noise.normal(0, 30, count)
        return np.clip(np.rint(echo), -32768, 32767).astype(np.int16)


def test_the_session_cancels_its_own_speaker_echo() -> None:
    """The session's echo reference is what it played: a microphone hearing it is cleaned."""
    rate = 8000
    far = far_speech(rate, 8)
    encoder = make_encoder(Format.ULAW)
    raw: list[np.ndarray] = []
    sent: list[np.ndarray] = []
    sink = MemorySink(rate)
    microphone = Room(sink, rate)

    class Listening:
        rate = 8000

        def read(self, count: int) -> np.ndarray:
            frame = microphone.read(count)
            raw.append(frame)
            return frame

    session = MediaSession(Format.ULAW, Wire(), Listening(), sink, voice=AEC_ONLY)
    original = session.encoder.encode

    def keep(pcm: np.ndarray) -> bytes:
        sent.append(pcm)
        return original(pcm)

    session.encoder.encode = keep  # type: ignore[method-assign]
    for i in range(len(far) // 160):
        session.on_audio(
            i * 20, encoder.encode(far[i * 160 : (i + 1) * 160].astype(np.int16)), i * 0.02
        )
        session.tick(i * 0.02 + 0.001)
    mic, out = np.concatenate(raw), np.concatenate(sent)
    after = 4 * rate
    assert rms_dbfs(mic[after:]) > -40  # there is an echo to cancel
    assert room.erle_db(mic[after:], out[after:]) > 25
    stats = session.snapshot()
    assert stats.voice.echo_cancellation and stats.voice.erle_db is not None
    # the reference is the frame played one tick before: 60 ms of room less 20 ms
    assert stats.voice.echo_delay_ms == pytest.approx(40, abs=5)
    fields = callrecord.media_fields(stats)
    assert fields["erle_db"] == stats.voice.erle_db and fields["echo_cancellation"] is True


def test_only_a_sound_card_microphone_is_processed() -> None:
    assert CardSource.acoustic and hears_room(CardSource.__new__(CardSource))
    assert not hears_room(ArraySource(np.zeros(10, dtype=np.int16), 8000))
    assert not hears_room(SilenceSource(8000))


def test_the_stages_are_switched_per_account_in_the_config(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[accounts.laptop]\nserver = "127.0.0.1"\nuser = "6001"\n'
        '[accounts.headset]\nserver = "127.0.0.1"\nuser = "6002"\n'
        "echo_cancellation = false\ngain_control = false\n"
    )
    cfg = config.load(path)
    laptop, headset = cfg.account("laptop"), cfg.account("headset")
    assert laptop is not None and headset is not None
    assert laptop.voice == LAPTOP  # on by default
    assert headset.voice == VoiceSettings(False, True, False)
    config_edit.save_account(dataclasses.replace(headset, noise_suppression=False), path=path)
    saved = config.load(path).account("headset")
    assert saved is not None and saved.voice == OFF
    path.write_text('[accounts.x]\nserver = "h"\nuser = "1"\necho_cancellation = "yes"\n')
    with pytest.raises(config.ConfigError, match="echo_cancellation: must be a bool"):
        config.load(path)


def test_the_echo_label_says_what_the_canceller_does() -> None:
    assert echo_text(MediaStats()) == "Echo cancellation off"
    waiting = MediaStats(voice=VoiceProcessing(echo_cancellation=True))
    assert echo_text(waiting).startswith("Echo cancellation on (no far-end speech")
    busy = MediaStats(voice=VoiceProcessing(True, True, True, erle_db=34.6, echo_delay_ms=41.0))
    assert echo_text(busy) == "Echo cancelled: 35 dB, delay 41 ms"
