"""Sound cards through PortAudio (python-sounddevice), with a virtual fallback.

Pipeline position::

    mic -> PortAudio -> capture ring -> resample native->codec -> source.read() -> session
    session -> sink.write() -> resample codec->native -> playback ring -> PortAudio -> speaker

Theory of operation
-------------------
Threads.  PortAudio calls the stream callback on its own thread once per
block (10 ms at the card's native rate).  The callback only copies between
PortAudio's buffers and two :class:`~iaxphone.media.ringbuffer.RingBuffer`
objects and bumps counters: it never touches asyncio, protocol objects or
the resamplers, and never waits.  Everything else (resampling, latency
control, failure detection, recovery) runs in the thread that calls
``source.read`` / ``sink.write``: the media session's pacer on the event
loop, once per frame.

Rings.  Capture: the callback produces, the pacer consumes.  Playback: the
pacer produces, the callback consumes.  Each ring has one producer and one
consumer and needs no lock (see :mod:`iaxphone.media.ringbuffer`).

Resampling.  The card runs at its native rate (usually 48 or 44.1 kHz); the
codec wants 8, 16 or 48 kHz.  Each direction has one ``soxr.ResampleStream``
in variable-rate mode: soxr's fixed-rate engines buffer internally and emit
output in bursts (seven 20 ms frames at once for 48 -> 8 kHz at HQ, i.e.
~140 ms of extra delay), while the VR engine returns output for every chunk
after a fixed ~28 ms start-up delay and still rejects aliases by > 100 dB.
A fractional accumulator takes exactly native/codec input samples per
frame on average (882 per 20 ms frame from 44.1 kHz).

Drift.  The card's crystal and the pacer's clock disagree by up to about
1 %.  The consumer of each ring keeps its level between a target (one frame
plus one block) and a bound (three frames): above the bound it drops the
oldest samples back to the target, so latency stays bounded at the cost of
one short skip every few seconds; when the ring runs dry it plays silence
until the target is reached again (one short gap, not crackle in every
frame).  Playback underruns therefore output zeros.

Recovery. A device that goes away (unplugged USB headset, Bluetooth out of
range) shows up as a stream PortAudio finished on its own (finished callback
without our close), a stream that reports inactive or raises when asked, or
a callback that stops being called for ``stall_timeout`` seconds (some ALSA
drivers; in its first ``START_TIMEOUT`` seconds a stream may pause that
long, since PulseAudio's ALSA plugin takes about 1.5 s to get going). The
next ``source.read`` / ``sink.write`` notices, closes the streams, re-scans
PortAudio's device list (PortAudio enumerates devices only when it
initialises) and reopens on the default devices; ``reopened`` counts this.
If that fails the card plays dead (silence in, discard out) and retries
every ``retry_interval`` seconds. Nothing raises into the call. Re-scanning
terminates and re-initialises PortAudio, which closes any other sounddevice
stream of this process.

Sound servers.  On ALSA's ``pulse``/``pipewire`` PCMs (and ``default`` while
a server runs) capture and playback are two streams, never PortAudio's
full-duplex one (see :meth:`SoundCard._server_pcm`), and the streams carry
the card's tag so that :mod:`iaxphone.media.pulse` can tell which device the
server has them on: a device unplugged mid-call (the server moves the
streams to the default), and back, reaches ``on_note`` as one line each,
from the thread that reads and writes the card.

Gain and mute are not here: the media session applies them.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import soxr

from iaxphone.errors import IaxphoneError

from . import pulse
from .ringbuffer import RingBuffer
from .virtual import NullSink, Samples, SilenceSource, Sink, Source

Kind = Literal["input", "output"]

log = logging.getLogger("iaxphone.media")

START_TIMEOUT = 4.0  # seconds a new stream may take to its first callback
SERVER_PCMS = ("pulse", "pipewire")  # ALSA plugin PCMs that are a sound server
ROUTED_PCMS = ("default", "sysdefault")  # ...and those that lead to one when it runs

NO_DEVICE_NOTE = "no sound device found: sending silence, discarding what is heard"
NO_DEVICES_LISTED = "no sound devices found (PortAudio sees no microphone and no speaker)"

try:  # the import fails when libportaudio is missing or cannot initialise
    sd: Any = importlib.import_module("sounddevice")
except Exception:  # OSError (no library) or sounddevice.PortAudioError (no init)
    sd = None


class DeviceError(IaxphoneError):
    """A sound device that cannot be found or opened; the message is one line for the user."""


def _errors(api: Any) -> tuple[type[BaseException], ...]:
    """What a sounddevice-like backend raises for device trouble."""
    portaudio_error = getattr(api, "PortAudioError", OSError)
    return (portaudio_error, OSError, ValueError, KeyError, IndexError, TypeError)


# ---------------------------------------------------------------------- listing


@dataclass(frozen=True)
class DeviceInfo:
    index: int
    name: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float
    is_default_input: bool = False
    is_default_output: bool = False
    hostapi: str = ""

    def channels(self, kind: Kind) -> int:
        return self.max_input_channels if kind == "input" else self.max_output_channels

    def __str__(self) -> str:
        defaults = [
            label
            for label, flag in (
                ("default input", self.is_default_input),
                ("default output", self.is_default_output),
            )
            if flag
        ]
        api = f" ({self.hostapi})" if self.hostapi else ""
        extra = f", {', '.join(defaults)}" if defaults else ""
        return (
            f"{self.index} {self.name!r}{api}: in {self.max_input_channels}, "
            f"out {self.max_output_channels}, {self.default_samplerate:g} Hz{extra}"
        )


def _default_index(api: Any, kind: Kind) -> int | None:
    try:
        info = api.query_devices(kind=kind)
        return int(info["index"])
    except _errors(api):
        return None


def list_devices(backend: Any = None) -> list[DeviceInfo]:
    """Every PortAudio device; ``[]`` (never an exception) when there are none or no PortAudio.

    ``backend`` is an object shaped like the ``sounddevice`` module (tests pass a fake).
    """
    api = sd if backend is None else backend
    if api is None:
        return []
    try:
        raw = list(api.query_devices())
    except _errors(api):
        return []
    default_in = _default_index(api, "input")
    default_out = _default_index(api, "output")
    devices = []
    for position, entry in enumerate(raw):
        try:
            index = int(entry.get("index", position))
            hostapi = ""
            with contextlib.suppress(*_errors(api), AttributeError):
                hostapi = str(api.query_hostapis(entry["hostapi"])["name"])
            devices.append(
                DeviceInfo(
                    index=index,
                    name=str(entry["name"]),
                    max_input_channels=int(entry["max_input_channels"]),
                    max_output_channels=int(entry["max_output_channels"]),
                    default_samplerate=float(entry["default_samplerate"]),
                    is_default_input=index == default_in,
                    is_default_output=index == default_out,
                    hostapi=hostapi,
                )
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            continue  # a malformed entry: skip it rather than lose the whole list
    return devices


def find_device(
    name_or_index: int | str | None,
    kind: Kind = "input",
    *,
    devices: list[DeviceInfo] | None = None,
    backend: Any = None,
) -> DeviceInfo:
    """The device a user means: an index, an exact name, or a unique name fragment.

    ``None`` means the default device of ``kind`` (or the first one that has
    channels of that kind).  Raises :class:`DeviceError` with one line that
    lists the candidates.
    """
    if devices is None:
        devices = list_devices(backend)
    usable = [d for d in devices if d.channels(kind) > 0]

    def available() -> str:
        return ", ".join(f"{d.index} {d.name!r}" for d in usable) or "none"

    if name_or_index is None:
        for device in usable:
            if device.is_default_input if kind == "input" else device.is_default_output:
                return device
        if usable:
            return usable[0]
        raise DeviceError(f"no {kind} device; available: none")
    wanted = name_or_index.strip() if isinstance(name_or_index, str) else name_or_index
    if isinstance(wanted, int) or wanted.isdigit():
        index = int(wanted)
        for device in usable:
            if device.index == index:
                return device
        raise DeviceError(f"no {kind} device has index {index}; available: {available()}")
    lowered = wanted.lower()
    exact = [d for d in usable if d.name.lower() == lowered]
    if len(exact) == 1:
        return exact[0]
    partial = exact or [d for d in usable if lowered in d.name.lower()]
    if len(partial) == 1:
        return partial[0]
    if partial:
        names = ", ".join(f"{d.index} {d.name!r}" for d in partial)
        raise DeviceError(f"{kind} device {wanted!r} is ambiguous: matches {names}")
    raise DeviceError(f"no {kind} device matches {wanted!r}; available: {available()}")


# ---------------------------------------------------------------------- per direction


def _to_int16(samples: npt.NDArray[np.float32]) -> Samples:
    return np.clip(np.rint(samples), -32768, 32767).astype(np.int16)


class _Resampler:
    """Streaming rate conversion for one direction, used from one thread."""

    def __init__(self, in_rate: int, out_rate: int) -> None:
        self.in_rate = in_rate
        self.out_rate = out_rate
        self._stream: Any = None
        if in_rate != out_rate:
            self._stream = soxr.ResampleStream(
                in_rate, out_rate, 1, dtype="float32", quality="HQ", vr=True
            )
        self._owed = 0  # in_rate * outputs not yet matched by inputs (fraction of a sample)

    def inputs_for(self, outputs: int) -> int:
        """Input samples to take now so that, on average, ``outputs`` come out."""
        self._owed += outputs * self.in_rate
        count = self._owed // self.out_rate
        self._owed -= count * self.out_rate
        return count

    def process(self, samples: Samples) -> npt.NDArray[np.float32]:
        data = samples.astype(np.float32)
        if self._stream is None:
            return data
        out: npt.NDArray[np.float32] = self._stream.resample_chunk(data)
        return out


class _LevelControl:
    """Keeps one ring's level between a target and a bound; used by the ring's consumer only.

    ``frame`` is how many samples the *pacer* side moves at once (it may be
    set from the other thread: a plain int assignment); ``block`` is the
    PortAudio callback's block.
    """

    def __init__(self, ring: RingBuffer, block: int) -> None:
        self.ring = ring
        self.block = block
        self.frame = 2 * block
        self.primed = False
        self.trimmed = 0  # samples dropped to bound latency (drift, stalls)
        self.trims = 0
        self.gaps = 0  # times the ring ran dry while playing
        self.waiting = 0  # samples of silence while (re)filling to the target

    @property
    def target(self) -> int:
        return self.frame + self.block

    @property
    def bound(self) -> int:
        return max(3 * self.frame, self.target + self.block)

    def take_into(self, out: Samples) -> None:
        ring, count = self.ring, len(out)
        level = ring.available
        if not self.primed:
            if level < max(self.target, count):
                out[:] = 0
                self.waiting += count
                return
            self.primed = True
        if level > self.bound:
            self.trimmed += ring.trim(self.target)
            self.trims += 1
        elif level < count:
            self.primed = False
            self.gaps += 1
        ring.read_into(out)  # pads (and counts) what is missing


class _Capture:
    """Card -> capture ring (callback thread) -> resampler (pacer thread)."""

    def __init__(self, native_rate: int, rate: int, block: int, channels: int) -> None:
        self.native_rate = native_rate
        self.channels = channels
        self.ring = RingBuffer(native_rate)  # one second; the level control keeps it low
        self.level = _LevelControl(self.ring, block)
        self.resampler = _Resampler(native_rate, rate)
        self._pending: npt.NDArray[np.float32] = np.zeros(0, dtype=np.float32)
        self.callbacks = 0
        self.overflows = 0  # PortAudio input_overflow flags
        self.startup_padding = 0

    # PortAudio thread
    def on_block(self, indata: Any, status: Any) -> None:
        self.callbacks += 1
        if getattr(status, "input_overflow", False):
            self.overflows += 1
        self.ring.write(indata[:, 0])  # first channel (streams are opened mono)

    # pacer thread
    def read(self, count: int) -> Samples:
        native_count = self.resampler.inputs_for(count)
        self.level.frame = native_count
        native: Samples = np.empty(native_count, dtype=np.int16)
        self.level.take_into(native)
        pending = np.concatenate((self._pending, self.resampler.process(native)))
        if len(pending) < count:  # the resampler's start-up delay: once per stream
            self.startup_padding += count - len(pending)
            pending = np.concatenate((np.zeros(count - len(pending), np.float32), pending))
        self._pending = pending[count:]
        return _to_int16(pending[:count])


class _Playback:
    """Resampler (pacer thread) -> playback ring -> card (callback thread)."""

    def __init__(self, native_rate: int, rate: int, block: int, channels: int) -> None:
        self.native_rate = native_rate
        self.channels = channels
        self.ring = RingBuffer(native_rate)  # one second; the level control keeps it low
        self.level = _LevelControl(self.ring, block)
        self.resampler = _Resampler(rate, native_rate)
        self.callbacks = 0
        self.underflows = 0  # PortAudio output_underflow flags

    # pacer thread
    def write(self, samples: Samples) -> None:
        self.level.frame = max(1, (len(samples) * self.native_rate) // self.resampler.in_rate)
        self.ring.write(_to_int16(self.resampler.process(samples)))

    # PortAudio thread
    def on_block(self, outdata: Any, status: Any) -> None:
        self.callbacks += 1
        if getattr(status, "output_underflow", False):
            self.underflows += 1
        first = outdata[:, 0]
        self.level.take_into(first)
        if outdata.shape[1] > 1:
            outdata[:, 1:] = outdata[:, :1]


# ---------------------------------------------------------------------- the card


class CardSource:
    """The capture side of a :class:`SoundCard` at the codec rate (Source protocol)."""

    acoustic = True  # a microphone in a room: voice processing applies (media/voice.py)

    def __init__(self, card: SoundCard) -> None:
        self.card = card
        self.rate = card.rate

    def read(self, count: int) -> Samples:
        self.card.check()
        capture = self.card.capture
        if capture is None:
            return np.zeros(count, dtype=np.int16)
        return capture.read(count)


class CardSink:
    """The playback side of a :class:`SoundCard` at the codec rate (Sink protocol).

    ``close()`` closes the whole card: the session that owns the sink owns the card.
    """

    def __init__(self, card: SoundCard) -> None:
        self.card = card
        self.rate = card.rate

    def write(self, samples: Samples) -> None:
        self.card.check()
        playback = self.card.playback
        if playback is not None:
            playback.write(samples)

    def close(self) -> None:
        self.card.close()


class SoundCard:
    """One sound card (or a capture and a playback device) for one call.

    ``input_device`` / ``output_device``: an index, a name (see
    :func:`find_device`) or ``None`` for the default.  ``capture`` /
    ``playback`` false leave that direction out (silence / discard).
    ``backend`` is an object shaped like the ``sounddevice`` module
    (``Stream``, ``InputStream``, ``OutputStream``, ``query_devices``,
    ``PortAudioError``); tests pass a fake.  Raises :class:`DeviceError`
    when the devices cannot be opened now; after that it never raises.
    """

    def __init__(
        self,
        input_device: int | str | None = None,
        output_device: int | str | None = None,
        *,
        rate: int = 8000,
        capture: bool = True,
        playback: bool = True,
        block_ms: int = 10,
        native_rate: int | None = None,
        backend: Any = None,
        stall_timeout: float | None = 1.0,
        retry_interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        watch_route: bool = True,
        on_note: Callable[[str], None] | None = None,
    ) -> None:
        self.rate = rate
        self.input_device = input_device
        self.output_device = output_device
        self.want_capture = capture
        self.want_playback = playback
        self.block_ms = block_ms
        self.native_rate = native_rate
        self.backend = backend
        self.stall_timeout = stall_timeout
        self.retry_interval = retry_interval
        self.clock = clock
        self.capture: _Capture | None = None
        self.playback: _Playback | None = None
        self.description = ""
        self.reopened = 0
        self.failures = 0  # reopen attempts that failed
        self.last_error = ""
        self.closed = False
        self._streams: list[Any] = []
        self._generation = 0
        self._failed = False  # set from the PortAudio thread
        self._seen_callbacks = 0
        self._progress_at = self._opened_at = clock()
        self._retry_at = 0.0
        self.source = CardSource(self)
        self.sink = CardSink(self)
        self.on_note = on_note  # called with each routing note, in the pacer's thread
        self.notes: list[str] = []  # what the sound server did to our streams, said
        self.route: pulse.PulseWatch | None = None
        self._tag = pulse.PulseWatch().tag if watch_route and backend is None else ""
        self._open()
        if self._tag and pulse.available():
            watch = pulse.PulseWatch(self._tag)
            self.route = watch if watch.start() else None

    # ------------------------------------------------------------------ opening

    def _api(self) -> Any:
        api = sd if self.backend is None else self.backend
        if api is None:
            raise DeviceError("PortAudio is not available (is libportaudio2 installed?)")
        return api

    def _resolve(self, api: Any, device: int | str | None, kind: Kind) -> tuple[int, int, str]:
        """(index, native rate, name) of a device, or DeviceError."""
        try:
            if device is None:
                info = api.query_devices(kind=kind)
            else:
                found = find_device(device, kind, backend=api)
                info = api.query_devices(found.index)
            index, name = int(info["index"]), str(info["name"])
            rate = self.native_rate or round(float(info["default_samplerate"]))
        except _errors(api) as exc:
            which = "default" if device is None else repr(device)
            raise DeviceError(f"no usable {kind} device ({which}): {exc}") from None
        return index, rate, name

    def _server_pcm(self, api: Any, index: int, name: str) -> bool:
        """True for ALSA's plugin PCMs that lead to a sound server: no full-duplex stream there.

        PortAudio's full-duplex ALSA stream asks the *other* direction's PCM for its
        delay at every poll (``ContinuePoll``) and gives up on any error; ALSA's pulse
        plugin answers that call with EIO whenever PulseAudio has no fresh timing
        information for the stream (it treats libpulse's "no data yet" as a failure),
        which happens every few seconds when the server resamples (a 44.1 kHz stream on
        a 48 kHz sink), and right after the server moves the stream.  The callback
        thread then stops: the card sees a stall and reopens.  Two half-duplex streams
        never make that call.
        """
        hostapi = ""
        with contextlib.suppress(*_errors(api), AttributeError):
            hostapi = str(api.query_hostapis(api.query_devices(index)["hostapi"])["name"])
        if hostapi != "ALSA":
            return False
        if name in SERVER_PCMS:
            return True
        return name in ROUTED_PCMS and self.backend is None and pulse.server_running()

    def _open(self) -> None:
        """Open the streams; on a sound server they carry the card's tag (media/pulse.py)."""
        with pulse.tagged(self._tag) if self._tag else contextlib.nullcontext():
            self._open_streams()

    def _open_streams(self) -> None:
        api = self._api()
        inp = self._resolve(api, self.input_device, "input") if self.want_capture else None
        out = self._resolve(api, self.output_device, "output") if self.want_playback else None
        self._generation += 1
        generation = self._generation
        self._failed = False

        def finished() -> None:
            if generation == self._generation:  # not our own close()
                self._failed = True

        common = {"dtype": "int16", "latency": "low", "finished_callback": finished}
        streams: list[Any] = []
        capture: _Capture | None = None
        playback: _Playback | None = None
        try:
            if (
                inp is not None
                and out is not None
                and inp[0] == out[0]
                and inp[1] == out[1]
                and not self._server_pcm(api, inp[0], inp[2])
            ):
                block = inp[1] * self.block_ms // 1000
                capture = _Capture(inp[1], self.rate, block, 1)
                playback = _Playback(out[1], self.rate, block, 1)
                cap, play = capture, playback

                def duplex(
                    indata: Any, outdata: Any, frames: int, time_info: Any, status: Any
                ) -> None:
                    cap.on_block(indata, status)
                    play.on_block(outdata, status)

                streams.append(
                    api.Stream(
                        samplerate=inp[1],
                        blocksize=block,
                        device=(inp[0], out[0]),
                        channels=1,
                        callback=duplex,
                        **common,
                    )
                )
            else:
                if inp is not None:
                    block = inp[1] * self.block_ms // 1000
                    capture = _Capture(inp[1], self.rate, block, 1)
                    cap = capture

                    def record(indata: Any, frames: int, time_info: Any, status: Any) -> None:
                        cap.on_block(indata, status)

                    streams.append(
                        api.InputStream(
                            samplerate=inp[1],
                            blocksize=block,
                            device=inp[0],
                            channels=1,
                            callback=record,
                            **common,
                        )
                    )
                if out is not None:
                    block = out[1] * self.block_ms // 1000
                    playback = _Playback(out[1], self.rate, block, 1)
                    play = playback

                    def play_out(outdata: Any, frames: int, time_info: Any, status: Any) -> None:
                        play.on_block(outdata, status)

                    streams.append(
                        api.OutputStream(
                            samplerate=out[1],
                            blocksize=block,
                            device=out[0],
                            channels=1,
                            callback=play_out,
                            **common,
                        )
                    )
            for stream in streams:
                stream.start()
        except _errors(api) as exc:
            self._generation += 1  # their finished callbacks are not failures
            for stream in streams:
                with contextlib.suppress(Exception):
                    stream.close()
            raise DeviceError(f"cannot open the sound device: {exc}") from None
        self._streams = streams
        self.capture, self.playback = capture, playback
        parts = []
        if inp is not None:
            parts.append(f"input {inp[2]!r} at {inp[1]} Hz")
        if out is not None:
            parts.append(f"output {out[2]!r} at {out[1]} Hz")
        self.description = ", ".join(parts) or "no audio directions"
        self._seen_callbacks = 0
        self._progress_at = self._opened_at = self.clock()

    def _close_streams(self) -> None:
        self._generation += 1  # finished callbacks from here on are ours, not failures
        streams, self._streams = self._streams, []
        for stream in streams:
            with contextlib.suppress(Exception):  # a vanished device may fail any call
                stream.close()
        self.capture = self.playback = None

    def _rescan(self) -> None:
        """Make PortAudio enumerate devices again (only for the real sounddevice)."""
        if self.backend is not None or sd is None:
            return
        with contextlib.suppress(Exception):
            if getattr(sd, "_initialized", 0) > 0:
                sd._terminate()
        with contextlib.suppress(Exception):
            sd._initialize()

    # ------------------------------------------------------------------ health

    def _callbacks(self) -> int:
        return sum(d.callbacks for d in (self.capture, self.playback) if d is not None)

    def healthy(self) -> bool:
        """False if a stream failed, stopped on its own, or its callback stalled."""
        if self._failed or not self._streams:
            return False
        try:
            if not all(stream.active for stream in self._streams):
                return False
        except Exception:  # PortAudioError, or whatever a dying driver raises
            return False
        if self.stall_timeout is None:
            return True
        now, seen = self.clock(), self._callbacks()
        if seen != self._seen_callbacks:
            self._seen_callbacks, self._progress_at = seen, now
            return True
        # A stream is starting, not stalled, for its first START_TIMEOUT: PulseAudio's
        # ALSA plugin runs a callback or two, then nothing for about 1.5 s.
        starting = now - self._opened_at < START_TIMEOUT
        limit = max(self.stall_timeout, START_TIMEOUT) if starting else self.stall_timeout
        return now - self._progress_at <= limit

    def check(self) -> None:
        """Called by the source and sink each frame: recover a failed device, never raise."""
        if self.closed or not (self.want_capture or self.want_playback):
            return
        if self.route is not None and self.route.notes:
            for note in self.route.take_notes():
                self._say(note)
        if not self._streams:
            if self.clock() >= self._retry_at:
                self.recover()
            return
        if not self.healthy():
            self.recover()

    def recover(self) -> bool:
        """Close the streams and reopen on the default devices; True if audio runs again."""
        if self.closed:
            return False
        self._close_streams()
        self.input_device = self.output_device = None
        self._rescan()
        try:
            self._open()
        except DeviceError as exc:
            self.failures += 1
            self.last_error = str(exc)
            self._retry_at = self.clock() + self.retry_interval
            return False
        self.reopened += 1
        self.last_error = ""
        return True

    def _say(self, note: str) -> None:
        self.notes.append(note)
        if self.on_note is not None:
            try:
                self.on_note(note)
            except Exception:  # the user's display failing must not stop the call
                log.exception("the sound device note could not be shown")

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.route is not None:
                self.route.stop()
            self._close_streams()

    def stats(self) -> CardStats:
        """How the card has fared: reopenings, failures and each direction's buffer."""

        def of(direction: _Capture | _Playback | None) -> DirectionStats | None:
            if direction is None:
                return None
            ring, level = direction.ring, direction.level
            return DirectionStats(
                available=ring.available,
                overruns=ring.overruns,
                overrun_events=ring.overrun_events,
                underruns=ring.underruns,
                underrun_events=ring.underrun_events,
                discarded=ring.discarded,
                trimmed=level.trimmed,
                trims=level.trims,
                gaps=level.gaps,
                waiting=level.waiting,
                callbacks=direction.callbacks,
            )

        return CardStats(
            device=self.description,
            reopened=self.reopened,
            failures=self.failures,
            last_error=self.last_error,
            capture=of(self.capture),
            playback=of(self.playback),
            route=self.notes[-1] if self.notes else "",
        )


@dataclass(frozen=True, slots=True)
class DirectionStats:
    """One direction of a sound card: its ring buffer and level control, in samples."""

    available: int
    overruns: int
    overrun_events: int
    underruns: int
    underrun_events: int
    discarded: int
    trimmed: int  # dropped to bound latency (drift, stalls)
    trims: int
    gaps: int
    waiting: int  # silence while (re)filling to the target
    callbacks: int


@dataclass(frozen=True, slots=True)
class CardStats:
    device: str
    reopened: int
    failures: int
    last_error: str
    capture: DirectionStats | None
    playback: DirectionStats | None
    route: str = ""  # the last thing the sound server did to our streams, as said


# ---------------------------------------------------------------------- choosing


def open_audio(
    input: int | str | None = None,
    output: int | str | None = None,
    rate: int = 8000,
    *,
    backend: Any = None,
    **card_options: Any,
) -> tuple[Source, Sink, str]:
    """The sound card for a call, or silence and a null sink when there is none.

    Returns ``(source, sink, note)``; ``note`` is one line for the user.  A
    device that is named but missing falls back to the default (the note
    says so); no device at all falls back to :class:`SilenceSource` /
    :class:`NullSink`.  Never raises for a missing device and never blocks
    for long.
    """
    devices = list_devices(backend)
    has_input = any(d.max_input_channels > 0 for d in devices)
    has_output = any(d.max_output_channels > 0 for d in devices)
    if not has_input and not has_output:
        return SilenceSource(rate), NullSink(rate), NO_DEVICE_NOTE
    notes = []
    chosen: dict[Kind, int | None] = {"input": None, "output": None}
    wanted_devices: tuple[tuple[Kind, int | str | None, bool], ...] = (
        ("input", input, has_input),
        ("output", output, has_output),
    )
    for kind, wanted, present in wanted_devices:
        if not present:
            notes.append(
                "no input device: sending silence"
                if kind == "input"
                else "no output device: discarding what is heard"
            )
            continue
        try:
            chosen[kind] = find_device(wanted, kind, devices=devices).index
        except DeviceError as exc:
            notes.append(f"{exc}; using the default")
            with contextlib.suppress(DeviceError):
                chosen[kind] = find_device(None, kind, devices=devices).index
    try:
        card = SoundCard(
            chosen["input"],
            chosen["output"],
            rate=rate,
            capture=has_input,
            playback=has_output,
            backend=backend,
            **card_options,
        )
    except DeviceError as exc:
        note = f"{exc}: sending silence, discarding what is heard"
        return SilenceSource(rate), NullSink(rate), note
    return card.source, card.sink, "; ".join([*notes, card.description])


def on_note(end: Source | Sink, say: Callable[[str], None]) -> bool:
    """Have ``say`` called with what the sound server did to a card's streams (a headset
    unplugged mid-call, and back); False if ``end`` is no sound card."""
    card = getattr(end, "card", None)
    if not isinstance(card, SoundCard):
        return False
    card.on_note = say
    return True


def open_ringer(
    name: str | None,
    output: str | None,
    rate: int = 48000,
    *,
    backend: Any = None,
    **card_options: Any,
) -> tuple[Sink | None, str]:
    """A sink on the ringing device, or ``None`` to ring on the call's own output.

    ``None``, "default" or the same device as ``output`` ring on the call's
    speaker.  A named device that is missing or cannot open is said in the
    note (one line) and the call's speaker rings instead; never raises.
    """
    wanted = None if name in (None, "", "default") else name
    if wanted is None or wanted == output:
        return None, ""
    try:
        device = find_device(wanted, "output", backend=backend)
        card = SoundCard(
            None, device.index, rate=rate, capture=False, backend=backend, **card_options
        )
    except DeviceError as exc:
        return None, f"ringing device: {exc}; ringing on the speaker"
    return card.sink, ""
