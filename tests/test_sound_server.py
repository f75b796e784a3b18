"""SoundCard against a real sound server: real PortAudio callbacks, device buffers, real time.

The speaker is the null sink ``speaker`` and the microphone its monitor
source (``speaker.monitor``): what the card plays comes back to its own
microphone a device latency later, paced by the server's clock.  The test
paces frames the way the media pacer does (absolute deadlines), which is
the workload here, not a synchronisation.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from iaxphone.media.devices import SoundCard
from iaxphone.media.virtual import Samples, ToneSource
from iaxphone.media.voice import VoiceProcessor, VoiceSettings
from tests.require import unavailable
from tests.room import erle_db
from tests.soundserver import DEVICE, SoundServer
from tests.speech import have_espeak, speech

RATE = 8000
NATIVE = 48000  # the null sinks' rate: at 44.1 kHz the ALSA pulse plugin starves duplex streams


@pytest.fixture
def loopback(sound_server: SoundServer) -> Iterator[SoundServer]:
    """The microphone hears the speaker: default source = the speaker sink's monitor."""
    sound_server.defaults("speaker", "speaker.monitor")
    yield sound_server
    sound_server.defaults("speaker", "microphone.monitor")


def paced(frame_ms: int, seconds: float, step: Callable[[int], None]) -> None:
    """Call ``step(i)`` once per frame interval on absolute deadlines, for ``seconds``."""
    start = time.monotonic()
    for i in range(int(seconds * 1000 / frame_ms)):
        step(i)
        delay = start + (i + 1) * frame_ms / 1000 - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def tone_power(samples: Samples, freq: float, rate: int = RATE) -> float:
    """Fraction of the signal's power at ``freq`` (a 20 Hz wide band)."""
    x = samples.astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    band = spectrum[(freqs > freq - 20) & (freqs < freq + 20)].sum()
    return float(band / (spectrum.sum() + 1e-9))


@pytest.mark.parametrize("frame_ms", [10, 20, 60])
def test_tone_played_comes_back_through_the_monitor(loopback: SoundServer, frame_ms: int) -> None:
    card = SoundCard(DEVICE, DEVICE, rate=RATE, native_rate=NATIVE)
    tone = ToneSource(697.0, RATE, -12.0)
    heard: list[Samples] = []
    size = RATE * frame_ms // 1000
    try:
        paced(frame_ms, 4.0, lambda i: (card.sink.write(tone.read(size)),
                                         heard.append(card.source.read(size))))  # fmt: skip
        stats = card.stats()
    finally:
        card.close()
    assert stats.capture is not None and stats.playback is not None
    assert stats.reopened == 0
    assert stats.capture.callbacks > 100 and stats.playback.callbacks > 100  # real callbacks
    tail = np.concatenate(heard)[3 * RATE :]  # the stream starts in about 1.5 s
    level = float(np.sqrt(np.mean(tail.astype(np.float64) ** 2)))
    assert level > 2000, f"the tone did not come back (RMS {level:.0f})"
    assert tone_power(tail, 697.0) > 0.9


def test_underruns_and_overruns_during_a_call(loopback: SoundServer) -> None:
    """A 10 s call at 20 ms: no PortAudio underflow/overflow, few ring gaps (60 s: benchmarks)."""
    card = SoundCard(DEVICE, DEVICE, rate=RATE, native_rate=NATIVE)
    tone = ToneSource(440.0, RATE, -18.0)
    try:
        paced(20, 10.0, lambda i: (card.sink.write(tone.read(160)), card.source.read(160)))
        stats = card.stats()
        capture, playback = card.capture, card.playback
    finally:
        card.close()
    assert stats.capture is not None and stats.playback is not None
    assert capture is not None and playback is not None
    assert capture.overflows == 0 and playback.underflows == 0
    assert stats.playback.gaps <= 2 and stats.capture.gaps <= 2, stats


def test_sink_unloaded_mid_call_falls_back_and_goes_on(sound_server: SoundServer) -> None:
    module = sound_server.load_null_sink("headset")
    sound_server.defaults("headset", "headset.monitor")
    card = SoundCard(DEVICE, DEVICE, rate=RATE, native_rate=NATIVE)
    tone = ToneSource(440.0, RATE, -18.0)
    try:
        paced(20, 1.0, lambda i: (card.sink.write(tone.read(160)), card.source.read(160)))
        sound_server.unload(module)  # the headset is unplugged: the server moves us to speaker
        sound_server.defaults("speaker", "speaker.monitor")
        heard: list[Samples] = []
        paced(20, 3.0, lambda i: (card.sink.write(tone.read(160)),
                                   heard.append(card.source.read(160))))  # fmt: skip
        stats = card.stats()
    finally:
        card.close()
        sound_server.defaults("speaker", "microphone.monitor")
    tail = np.concatenate(heard)[RATE:]
    # the call goes on: audio flows on the fallback device (either PulseAudio moved the
    # stream, or the card noticed the stall and reopened on the default, and said so)
    assert tone_power(tail, 440.0) > 0.5, stats
    assert stats.reopened == 0 or stats.last_error == ""


def test_echo_path_through_the_server_is_cancelled(loopback: SoundServer) -> None:
    """The microphone hears the speaker for real (the monitor); with AEC on, far less of it."""
    if not have_espeak():
        unavailable("espeak-ng is not installed")
    far = np.tile(speech(RATE), 4)[: RATE * 10] // 2
    card = SoundCard(DEVICE, DEVICE, rate=RATE, native_rate=NATIVE)
    processor = VoiceProcessor(RATE, VoiceSettings(True, False, False))
    mic: list[Samples] = []
    out: list[Samples] = []
    played = np.zeros(160, dtype=np.int16)

    def step(i: int) -> None:
        nonlocal played
        captured = card.source.read(160)
        mic.append(captured)
        out.append(processor.process(captured, played))
        played = far[i * 160 : (i + 1) * 160]
        card.sink.write(played)

    try:
        paced(20, 10.0, step)
    finally:
        card.close()
    start = 6 * RATE // 160  # the stream starts in 1.5 s; then convergence
    raw, cleaned = np.concatenate(mic[start:]), np.concatenate(out[start:])
    assert float(np.sqrt(np.mean(raw.astype(np.float64) ** 2))) > 300  # a real echo
    erle = erle_db(raw, cleaned)
    assert erle > 20, (erle, processor.stats())
    delay = processor.stats().echo_delay_ms
    assert delay is not None and 0 < delay < 300
