"""Sound-card audio without a sound card: the ring buffer, and SoundCard on a fake PortAudio.

The fake stream (after baresip's mock_auplay) runs the stream callback on its
own thread, one block at a time when the test asks, so the card's clock is
the number of blocks the test pumps per frame: pumping 1 % more blocks than
frames is a card running 1 % fast.  Nothing sleeps to synchronise: each pump
waits for an Event with a timeout.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from iaxphone.media import devices
from iaxphone.media.devices import (
    NO_DEVICE_NOTE,
    CardSink,
    CardSource,
    DeviceError,
    DeviceInfo,
    SoundCard,
    find_device,
    list_devices,
    open_audio,
    open_ringer,
)
from iaxphone.media.ringbuffer import RingBuffer
from iaxphone.media.virtual import NullSink, SilenceSource, ToneSource

TIMEOUT = 5.0
AMPLITUDE = 8192.0  # -12 dBFS


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(float) * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(float) ** 2)))


def db(ratio: float) -> float:
    return float(20 * np.log10(ratio))


# ---------------------------------------------------------------------- ring buffer


def test_ring_wraps_around_and_keeps_order() -> None:
    ring = RingBuffer(10)
    assert ring.write(np.arange(7, dtype=np.int16)) == 7
    assert ring.read(5).tolist() == [0, 1, 2, 3, 4]
    assert ring.write(np.arange(7, 13, dtype=np.int16)) == 6  # wraps past the end
    assert ring.available == 8
    assert ring.read(8).tolist() == [5, 6, 7, 8, 9, 10, 11, 12]
    assert ring.available == 0
    assert (ring.overruns, ring.underruns) == (0, 0)


def test_ring_refuses_when_full_and_pads_when_empty() -> None:
    ring = RingBuffer(8)
    assert ring.write(np.arange(6, dtype=np.int16)) == 6
    assert ring.write(np.arange(100, 105, dtype=np.int16)) == 2  # keeps the oldest
    assert (ring.overruns, ring.overrun_events) == (3, 1)
    assert ring.free == 0
    assert ring.read(10).tolist() == [0, 1, 2, 3, 4, 5, 100, 101, 0, 0]
    assert (ring.underruns, ring.underrun_events) == (2, 1)
    assert ring.read(3).tolist() == [0, 0, 0]
    assert (ring.underruns, ring.underrun_events) == (5, 2)


def test_ring_trim_drops_the_oldest() -> None:
    ring = RingBuffer(16)
    ring.write(np.arange(12, dtype=np.int16))
    assert ring.trim(4) == 8
    assert ring.discarded == 8
    assert ring.read(4).tolist() == [8, 9, 10, 11]
    assert ring.trim(4) == 0
    ring.write(np.arange(3, dtype=np.int16))
    assert ring.drain() == 3
    assert ring.available == 0
    assert ring.consumed == ring.written == 15
    with pytest.raises(ValueError):
        RingBuffer(0)


def test_ring_hands_100k_samples_between_threads_without_loss_or_duplication() -> None:
    total = 100_000
    expected = np.arange(total).astype(np.int16)  # wraps modulo 2**16: still a unique pattern
    ring = RingBuffer(4096)
    rng = np.random.default_rng(1)
    sizes = rng.integers(1, 700, size=total)
    failure: list[BaseException] = []

    def produce() -> None:
        try:
            sent, i = 0, 0
            deadline = time.monotonic() + TIMEOUT
            while sent < total:
                chunk = min(int(sizes[i]), total - sent, ring.free)
                i += 1
                if chunk:
                    sent += ring.write(expected[sent : sent + chunk])
                elif time.monotonic() > deadline:
                    raise TimeoutError("consumer stopped")
                else:
                    time.sleep(0)  # yield the GIL
        except BaseException as exc:
            failure.append(exc)

    producer = threading.Thread(target=produce)
    producer.start()
    received: list[np.ndarray] = []
    got = 0
    deadline = time.monotonic() + TIMEOUT
    while got < total and not failure:
        count = min(ring.available, int(rng.integers(1, 900)))
        if count:
            received.append(ring.read(count))
            got += count
        else:
            assert time.monotonic() < deadline, "producer stopped"
            time.sleep(0)
    producer.join(TIMEOUT)
    assert not failure
    assert np.array_equal(np.concatenate(received), expected)
    assert (ring.overruns, ring.underruns) == (0, 0)


# ---------------------------------------------------------------------- fake PortAudio


class FakePortAudioError(Exception):
    pass


class FakeFlags:
    input_overflow = False
    output_underflow = False

    def __bool__(self) -> bool:
        return False


def device(index: int, name: str, inputs: int, outputs: int, rate: float) -> dict[str, Any]:
    return {
        "name": name,
        "index": index,
        "hostapi": 0,
        "max_input_channels": inputs,
        "max_output_channels": outputs,
        "default_samplerate": rate,
    }


TYPICAL = [
    device(0, "HDA Intel PCH: ALC257 Analog (hw:0,0)", 2, 2, 44100.0),
    device(1, "USB Headset: Audio (hw:1,0)", 1, 2, 48000.0),
    device(2, "HDA Intel PCH: HDMI 0 (hw:0,3)", 0, 8, 48000.0),
    device(3, "pulse", 32, 32, 44100.0),
    device(4, "default", 32, 32, 48000.0),
]


class FakeStream:
    """A sounddevice stream whose callback runs on its own thread, n blocks per pump."""

    def __init__(self, backend: FakeBackend, kind: str, **kwargs: Any) -> None:
        self.backend = backend
        self.kind = kind
        self.kwargs = kwargs
        self.samplerate = int(kwargs["samplerate"])
        self.blocksize = int(kwargs["blocksize"])
        self.callback = kwargs["callback"]
        self.finished_callback = kwargs.get("finished_callback")
        self.started = False
        self.closed = False
        self.broken = False  # `active` raises, like a vanished device
        self._active = False
        self.position = 0
        self.played: list[np.ndarray] = []
        self._commands: queue.Queue[tuple[str, int, threading.Event] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    @property
    def active(self) -> bool:
        if self.broken:
            raise FakePortAudioError("Unanticipated host error")
        return self._active

    def start(self) -> None:
        self.started = self._active = True
        self._thread.start()

    def close(self) -> None:
        self._active = False
        self.closed = True
        self._commands.put(None)
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(TIMEOUT)

    def _do(self, command: str, blocks: int = 0) -> None:
        done = threading.Event()
        self._commands.put((command, blocks, done))
        assert done.wait(TIMEOUT), "fake stream thread did not answer"

    def run(self, blocks: int) -> None:
        """Run ``blocks`` callbacks on the stream's thread and wait for them."""
        self._do("run", blocks)

    def fail(self) -> None:
        """What PortAudio does when the device goes: stop, and call finished_callback."""
        self._do("fail")

    def _loop(self) -> None:
        while (command := self._commands.get()) is not None:
            name, blocks, done = command
            if name == "run":
                for _ in range(blocks):
                    self._block()
            else:
                self._active = False
                if self.finished_callback is not None:
                    self.finished_callback()
            done.set()

    def _block(self) -> None:
        frames = self.blocksize
        n = np.arange(self.position, self.position + frames)
        self.position += frames
        tone = np.rint(
            self.backend.amplitude * np.sin(2 * np.pi * self.backend.tone_hz * n / self.samplerate)
        ).astype(np.int16)
        indata = tone.reshape(-1, 1)
        outdata = np.full((frames, 1), 12345, dtype=np.int16)  # the callback must fill it
        status = FakeFlags()
        if self.kind == "duplex":
            self.callback(indata, outdata, frames, None, status)
        elif self.kind == "input":
            self.callback(indata, frames, None, status)
        else:
            self.callback(outdata, frames, None, status)
        if self.kind != "input":
            self.played.append(outdata[:, 0].copy())

    @property
    def output(self) -> np.ndarray:
        return np.concatenate(self.played)


class FakeBackend:
    """Shaped like the sounddevice module, as far as devices.py uses it."""

    PortAudioError = FakePortAudioError

    def __init__(self, devices: list[dict[str, Any]] | None = None) -> None:
        self.devices = TYPICAL if devices is None else devices
        self.default: dict[str, int | None] = {"input": 4, "output": 4}
        self.streams: list[FakeStream] = []
        self.open_errors: list[Exception] = []
        self.tone_hz = 1000.0
        self.amplitude = AMPLITUDE

    def query_devices(self, device: int | None = None, kind: str | None = None) -> Any:
        if device is None and kind is None:
            return list(self.devices)
        if device is None:
            assert kind is not None
            device = self.default[kind]
            if device is None:
                raise FakePortAudioError(f"no default {kind} device")
        for entry in self.devices:
            if entry["index"] == device:
                return dict(entry)
        raise FakePortAudioError(f"Error querying device {device}")

    def query_hostapis(self, index: int) -> dict[str, Any]:
        return {"name": "ALSA"}

    def _make(self, kind: str, kwargs: dict[str, Any]) -> FakeStream:
        if self.open_errors:
            raise self.open_errors.pop(0)
        stream = FakeStream(self, kind, **kwargs)
        self.streams.append(stream)
        return stream

    def Stream(self, **kwargs: Any) -> FakeStream:
        return self._make("duplex", kwargs)

    def InputStream(self, **kwargs: Any) -> FakeStream:
        return self._make("input", kwargs)

    def OutputStream(self, **kwargs: Any) -> FakeStream:
        return self._make("output", kwargs)


@pytest.fixture
def backend() -> Iterator[FakeBackend]:
    fake = FakeBackend()
    yield fake
    for stream in fake.streams:
        stream.close()


def capture_frames(card: SoundCard, stream: FakeStream, frames: int, samples: int) -> np.ndarray:
    blocks = samples * stream.samplerate // card.rate // stream.blocksize
    out = []
    for _ in range(frames):
        stream.run(blocks)
        out.append(card.source.read(samples))
    return np.concatenate(out)


# ---------------------------------------------------------------------- SoundCard


def test_capture_48k_tone_arrives_as_8k_frames(backend: FakeBackend) -> None:
    card = SoundCard(rate=8000, backend=backend, stall_timeout=None)
    (stream,) = backend.streams
    assert stream.kind == "duplex"
    assert stream.kwargs["samplerate"] == 48000
    assert stream.kwargs["blocksize"] == 480  # 10 ms
    assert stream.kwargs["latency"] == "low"
    assert stream.kwargs["dtype"] == "int16"
    assert isinstance(card.source, CardSource)
    audio = capture_frames(card, stream, 60, 160)
    tail = audio[-8000:]  # the last second, well past start-up
    assert dominant_frequency(tail, 8000) == pytest.approx(1000, abs=2)
    assert db(rms(tail) / (AMPLITUDE / np.sqrt(2))) == pytest.approx(0, abs=0.5)
    assert card.capture is not None
    assert card.capture.ring.available <= 3 * 960


def test_capture_at_44k1_on_a_separate_input_device(backend: FakeBackend) -> None:
    card = SoundCard(0, 2, rate=16000, backend=backend, stall_timeout=None)
    kinds = {s.kind: s for s in backend.streams}
    assert set(kinds) == {"input", "output"}
    stream = kinds["input"]
    assert (stream.samplerate, stream.blocksize, stream.kwargs["device"]) == (44100, 441, 0)
    assert kinds["output"].kwargs["device"] == 2
    audio = capture_frames(card, stream, 60, 320)
    tail = audio[-16000:]
    assert dominant_frequency(tail, 16000) == pytest.approx(1000, abs=2)
    assert db(rms(tail) / (AMPLITUDE / np.sqrt(2))) == pytest.approx(0, abs=0.5)
    assert "input 'HDA Intel PCH: ALC257 Analog (hw:0,0)' at 44100 Hz" in card.description


def test_8k_tone_written_to_sink_plays_at_48k(backend: FakeBackend) -> None:
    card = SoundCard(rate=8000, backend=backend, stall_timeout=None)
    (stream,) = backend.streams
    tone = ToneSource(1000, 8000, level_dbfs=-12.0)
    for _ in range(60):
        card.sink.write(tone.read(160))
        stream.run(2)
    played = stream.output
    assert len(played) == 60 * 960
    assert not np.any(played == 12345)  # every sample was written by the callback
    tail = played[-48000:]
    assert dominant_frequency(tail, 48000) == pytest.approx(1000, abs=2)
    assert db(rms(tail) / (tone.amplitude / np.sqrt(2))) == pytest.approx(0, abs=0.5)
    assert card.playback is not None
    assert card.playback.level.gaps == 0
    assert card.playback.ring.overruns == 0


def test_playback_underrun_outputs_zeros(backend: FakeBackend) -> None:
    card = SoundCard(rate=8000, backend=backend, stall_timeout=None)
    (stream,) = backend.streams
    stream.run(5)  # nothing written yet
    assert np.all(stream.output == 0)
    assert card.playback is not None
    assert card.playback.level.waiting == 5 * 480


def test_card_running_1_percent_fast_keeps_capture_latency_bounded(
    backend: FakeBackend,
) -> None:
    card = SoundCard(rate=8000, backend=backend, stall_timeout=None)
    (stream,) = backend.streams
    assert card.capture is not None
    ring = card.capture.ring
    levels, frames, pumped = [], [], 0
    for i in range(1, 801):  # 16 s of call
        due = int(i * 2 * 1.01)  # blocks of 10 ms a 1 % fast card has produced by now
        stream.run(due - pumped)
        pumped = due
        frames.append(card.source.read(160))
        levels.append(ring.available)
    assert max(levels) <= 3 * 960  # three 20 ms frames at 48 kHz
    assert card.capture.level.trims >= 2  # the excess was dropped, a few times
    assert ring.overruns == 0
    assert card.capture.level.gaps == 0
    tail = np.concatenate(frames)[-8000:]
    assert dominant_frequency(tail, 8000) == pytest.approx(1000, abs=2)


def test_card_running_1_percent_slow_gaps_rarely(backend: FakeBackend) -> None:
    card = SoundCard(rate=8000, backend=backend, stall_timeout=None)
    (stream,) = backend.streams
    assert card.capture is not None
    pumped = 0
    for i in range(1, 801):
        due = int(i * 2 * 0.99)
        stream.run(due - pumped)
        pumped = due
        card.source.read(160)
    # 8 frames' worth of samples never arrived: a handful of gaps, not crackle in every frame
    assert 1 <= card.capture.level.gaps <= 10


def test_pacer_faster_than_card_keeps_playback_latency_bounded(backend: FakeBackend) -> None:
    card = SoundCard(rate=8000, backend=backend, stall_timeout=None)
    (stream,) = backend.streams
    assert card.playback is not None
    tone, pumped, levels = ToneSource(1000, 8000), 0, []
    for i in range(1, 801):
        card.sink.write(tone.read(160))
        due = int(i * 2 * 0.99)  # the card consumes 1 % slower than the pacer writes
        stream.run(due - pumped)
        pumped = due
        levels.append(card.playback.ring.available)
    assert max(levels) <= 3 * 960 + 960
    assert card.playback.level.trims >= 1
    assert card.playback.ring.overruns == 0


def test_stream_that_stops_on_its_own_is_reopened(backend: FakeBackend) -> None:
    card = SoundCard(rate=8000, backend=backend, stall_timeout=None)
    first = backend.streams[0]
    capture_frames(card, first, 5, 160)
    first.fail()  # device unplugged: PortAudio stops the stream
    card.source.read(160)  # notices, reopens; no exception
    assert card.reopened == 1
    assert first.closed
    assert len(backend.streams) == 2
    second = backend.streams[1]
    assert second.started
    audio = capture_frames(card, second, 30, 160)
    assert dominant_frequency(audio[-4000:], 8000) == pytest.approx(1000, abs=2)
    assert db(rms(audio[-4000:]) / (AMPLITUDE / np.sqrt(2))) == pytest.approx(0, abs=0.5)
    tone = ToneSource(1000, 8000)
    for _ in range(10):
        card.sink.write(tone.read(160))
        second.run(2)
    assert rms(second.output[-960:]) > 1000
    assert card.reopened == 1


def test_stream_that_raises_is_reopened_from_sink_write(backend: FakeBackend) -> None:
    card = SoundCard(rate=8000, backend=backend, stall_timeout=None)
    backend.streams[0].broken = True  # stream.active raises PortAudioError
    card.sink.write(np.zeros(160, dtype=np.int16))
    assert card.reopened == 1
    assert len(backend.streams) == 2
    assert card.healthy()


def test_stalled_callback_is_reopened() -> None:
    now = [100.0]
    fake = FakeBackend()
    card = SoundCard(rate=8000, backend=fake, stall_timeout=1.0, clock=lambda: now[0])
    try:
        stream = fake.streams[0]
        for _ in range(10):
            stream.run(2)
            now[0] += 0.02
            card.source.read(160)
        now[0] += 1.5  # a pause while the stream starts is not a stall
        card.source.read(160)
        now[0] += devices.START_TIMEOUT  # past the start
        stream.run(2)
        card.source.read(160)
        assert card.reopened == 0
        now[0] += 1.5  # the callback stops being called; the stream still says active
        card.source.read(160)
        assert card.reopened == 1
        assert len(fake.streams) == 2
    finally:
        for stream in fake.streams:
            stream.close()


def test_reopen_failure_plays_silence_and_retries_later() -> None:
    now = [0.0]
    fake = FakeBackend()
    card = SoundCard(
        rate=8000, backend=fake, stall_timeout=None, retry_interval=2.0, clock=lambda: now[0]
    )
    try:
        fake.streams[0].fail()
        fake.open_errors.append(FakePortAudioError("Device unavailable"))
        assert np.all(card.source.read(160) == 0)  # no exception, silence
        card.sink.write(np.ones(160, dtype=np.int16))  # discarded, no exception
        assert (card.reopened, card.failures) == (0, 1)
        assert "Device unavailable" in card.last_error
        now[0] += 1.0
        card.source.read(160)
        assert len(fake.streams) == 1  # not retried before the interval
        now[0] += 1.5
        card.source.read(160)
        assert (card.reopened, card.failures) == (1, 1)
        assert card.last_error == ""
        assert len(fake.streams) == 2
    finally:
        for stream in fake.streams:
            stream.close()


def test_recover_goes_to_the_default_device(backend: FakeBackend) -> None:
    card = SoundCard(1, 1, rate=8000, backend=backend, stall_timeout=None)
    assert backend.streams[0].kwargs["device"] == (1, 1)
    assert card.recover()
    assert backend.streams[1].kwargs["device"] == (4, 4)
    assert card.reopened == 1


def test_sink_close_closes_the_card(backend: FakeBackend) -> None:
    card = SoundCard(rate=8000, backend=backend, stall_timeout=None)
    running = card.stats()
    assert running.capture is not None and running.playback is not None
    assert running.playback.trimmed == 0 and running.failures == 0
    card.sink.close()
    assert backend.streams[0].closed
    assert card.closed
    assert np.all(card.source.read(160) == 0)
    card.sink.write(np.ones(160, dtype=np.int16))
    assert len(backend.streams) == 1  # a closed card does not reopen
    stats = card.stats()
    assert stats.reopened == 0 and stats.capture is None and stats.playback is None


def test_unopenable_device_raises_device_error(backend: FakeBackend) -> None:
    backend.open_errors.append(FakePortAudioError("Invalid sample rate"))
    with pytest.raises(DeviceError, match="Invalid sample rate"):
        SoundCard(rate=8000, backend=backend)


# ---------------------------------------------------------------------- listing


def test_list_devices_from_portaudio(monkeypatch: pytest.MonkeyPatch) -> None:
    if devices.sd is None:
        pytest.skip("sounddevice cannot load PortAudio here")
    fake = FakeBackend()
    monkeypatch.setattr(devices.sd, "query_devices", fake.query_devices)
    monkeypatch.setattr(devices.sd, "query_hostapis", fake.query_hostapis)
    found = list_devices()
    assert [d.index for d in found] == [0, 1, 2, 3, 4]
    usb = found[1]
    assert usb == DeviceInfo(1, "USB Headset: Audio (hw:1,0)", 1, 2, 48000.0, hostapi="ALSA")
    assert found[4].is_default_input and found[4].is_default_output
    assert not found[0].is_default_input
    assert str(found[4]) == (
        "4 'default' (ALSA): in 32, out 32, 48000 Hz, default input, default output"
    )


def test_list_devices_is_empty_when_portaudio_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    if devices.sd is None:
        pytest.skip("sounddevice cannot load PortAudio here")

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise devices.sd.PortAudioError("Error querying device -1")

    monkeypatch.setattr(devices.sd, "query_devices", broken)
    assert list_devices() == []


def test_list_devices_without_portaudio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "sd", None)
    assert list_devices() == []
    with pytest.raises(DeviceError, match="no input device; available: none"):
        find_device(None, "input")


def test_find_device() -> None:
    found = list_devices(FakeBackend())
    assert find_device(None, "input", devices=found).index == 4
    assert find_device("usb", "input", devices=found).index == 1
    assert find_device(" 3 ", "output", devices=found).name == "pulse"
    assert find_device("hdmi", "output", devices=found).index == 2
    assert find_device("Default", "output", devices=found).index == 4  # exact beats fragment
    with pytest.raises(DeviceError) as missing:
        find_device("foo", "input", devices=found)
    message = str(missing.value)
    assert message.startswith("no input device matches 'foo'; available: 0 'HDA Intel PCH")
    assert "\n" not in message
    assert "HDMI" not in message  # it has no inputs
    with pytest.raises(DeviceError, match="no input device has index 2"):
        find_device(2, "input", devices=found)
    with pytest.raises(DeviceError, match=r"ambiguous: matches 0 .*, 2 "):
        find_device("hda intel", "output", devices=found)


# ---------------------------------------------------------------------- open_audio


def test_open_audio_without_devices_falls_back_to_virtual(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source, sink, note = open_audio(rate=16000, backend=FakeBackend(devices=[]))
    assert isinstance(source, SilenceSource) and source.rate == 16000
    assert isinstance(sink, NullSink) and sink.rate == 16000
    assert note == NO_DEVICE_NOTE
    assert note == "no sound device found: sending silence, discarding what is heard"
    if devices.sd is not None:
        monkeypatch.setattr(devices.sd, "query_devices", lambda *a, **k: [])
    source, sink, note = open_audio()  # the real module, no device on this machine
    assert isinstance(source, SilenceSource) and isinstance(sink, NullSink)
    assert note == NO_DEVICE_NOTE


def test_open_audio_uses_the_card(backend: FakeBackend) -> None:
    source, sink, note = open_audio(rate=8000, backend=backend, stall_timeout=None)
    assert isinstance(source, CardSource) and isinstance(sink, CardSink)
    assert source.rate == sink.rate == 8000
    assert note == "input 'default' at 48000 Hz, output 'default' at 48000 Hz"
    sink.close()


def test_open_audio_with_a_missing_named_device_uses_the_default(backend: FakeBackend) -> None:
    source, sink, note = open_audio("jabra", "usb", backend=backend, stall_timeout=None)
    assert isinstance(source, CardSource)
    assert note.startswith("no input device matches 'jabra'; available: ")
    assert note.endswith(
        "; using the default; input 'default' at 48000 Hz, "
        "output 'USB Headset: Audio (hw:1,0)' at 48000 Hz"
    )
    assert {s.kind for s in backend.streams} == {"input", "output"}
    sink.close()


def test_open_audio_output_only(backend: FakeBackend) -> None:
    backend.devices = [device(0, "HDMI", 0, 2, 48000.0)]
    backend.default = {"input": None, "output": 0}
    source, sink, note = open_audio(backend=backend, stall_timeout=None)
    assert note == "no input device: sending silence; output 'HDMI' at 48000 Hz"
    assert [s.kind for s in backend.streams] == ["output"]
    assert np.all(source.read(160) == 0)
    sink.close()


def test_open_audio_when_the_device_will_not_open(backend: FakeBackend) -> None:
    backend.open_errors.append(FakePortAudioError("Device unavailable"))
    source, sink, note = open_audio(backend=backend)
    assert isinstance(source, SilenceSource) and isinstance(sink, NullSink)
    assert note == (
        "cannot open the sound device: Device unavailable: "
        "sending silence, discarding what is heard"
    )


def test_ringing_device_rings_on_its_own_output(backend: FakeBackend) -> None:
    assert open_ringer("default", None, backend=backend) == (None, "")
    assert open_ringer("usb", "usb", backend=backend) == (None, "")  # the call's own speaker
    sink, note = open_ringer("usb", None, rate=16000, backend=backend, stall_timeout=None)
    assert isinstance(sink, CardSink) and sink.rate == 16000 and note == ""
    assert [s.kind for s in backend.streams] == ["output"]  # no microphone for a ringer
    sink.close()


def test_a_missing_ringing_device_is_said_and_the_speaker_rings(backend: FakeBackend) -> None:
    sink, note = open_ringer("bell", None, backend=backend, stall_timeout=None)
    assert sink is None
    assert note.startswith("ringing device: no output device matches 'bell'")
    assert note.endswith("; ringing on the speaker")
    assert backend.streams == []
