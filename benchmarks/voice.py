"""Voice processing: echo cancellation, noise suppression, AGC; and the sound server's latency.

Method
------
The room is simulated (tests/room.py): far-end espeak-ng speech delayed by
40 ms (device and buffers), played into a 100 ms room impulse response at
-6 dB (exponential decay, a direct path), plus white noise at -60 dBFS.
Every candidate gets the same microphone and reference, 20 ms frames at
16 kHz (8 kHz where said):

* **ERLE** on far-end single talk, from 2 s (after convergence) to the end
  (12 s), for WebRTC AEC3 (pywebrtc-audio), SpeexDSP's echo canceller
  (Debian's libspeexdsp1 through ctypes, 300 ms filter) and none.
* **Double talk**: a second voice talks from 4 s on; PESQ (wide band) of
  what the far end receives against the clean near-end speech, beside the
  same processor fed the near end alone (no echo).
* **Delay range**: ERLE of AEC3 with the device delay from 0 to 800 ms.
* **Noise suppression**: near-end speech with office noise (pink noise plus
  babble of reversed speech) at 10 dB SNR; PESQ with the stage off and on.
* **AGC**: the same speech at -40, -30, -20 and -10 dBFS; the spread of the
  output level over the last 5 s of 12.
* **CPU** of each stage alone (and all three), per 20 ms frame, and per
  call-second, on this machine.
* **Sound server** (tests/soundserver.py's PulseAudio, null sink, real
  PortAudio callbacks through ALSA's pulse plugin): the round trip a tone
  burst takes from ``sink.write`` to ``source.read`` through the sink's
  monitor (the latency the device path adds, both directions, at 10, 20 and
  60 ms frames), and the underruns, overruns, gaps and trims of a 60 s call.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
from pesq import pesq

from benchmarks.results import Result
from iaxphone.media.devices import SoundCard
from iaxphone.media.voice import VoiceProcessor, VoiceSettings
from tests import room
from tests.soundserver import DEVICE, SoundServer
from tests.speech import speech

SCENARIO = "Voice processing (simulated room, 16 kHz, 20 ms frames)"
DEVICES = "Sound server (PulseAudio null sink, real PortAudio)"
NOTE = (
    "Room: far-end espeak-ng speech, 40 ms device delay, a 100 ms synthetic room impulse "
    "response at -6 dB, noise at -60 dBFS (tests/room.py). ERLE from 2 s to 12 s of far-end "
    "single talk. SpeexDSP runs Debian's libspeexdsp1 (300 ms filter) through ctypes. "
    "Double talk: PESQ-WB of the near end as the far end receives it, against the near end "
    "alone through the same processor. The noise is synthetic (pink noise and reversed-speech "
    "babble), no recording."
)
DEVICE_NOTE = (
    "Round trip: a tone burst from sink.write until source.read returns it through the "
    "null sink's monitor, i.e. playback ring + PulseAudio + capture ring, both directions "
    "(mouth-to-ear through real devices adds about half of it per direction on top of "
    "the latency benchmark's figures). The card runs at 48 kHz (the null sinks' rate)."
)

Int16 = npt.NDArray[np.int16]
RATE = 16000
FRAME = RATE // 50
FAR = "en"
NEAR = "en+m3"


def _speech(voice: str, seconds: int, rate: int = RATE) -> npt.NDArray[np.float64]:
    s = speech(rate, voice).astype(np.float64)
    return np.tile(s, 1 + seconds * rate // len(s))[: seconds * rate]


def _at(signal: npt.NDArray[np.float64], dbfs: float) -> npt.NDArray[np.float64]:
    active = signal[np.abs(signal) > 100]
    rms = float(np.sqrt(np.mean(active**2)))
    return signal * (32768 * 10 ** (dbfs / 20) / rms)


def _int16(x: npt.ArrayLike) -> Int16:
    return np.clip(np.rint(np.asarray(x, dtype=np.float64)), -32768, 32767).astype(np.int16)


class Speex:
    """SpeexDSP's echo canceller (libspeexdsp1) through ctypes."""

    SET_SAMPLING_RATE = 24

    def __init__(self, rate: int, frame: int, tail_ms: int = 300) -> None:
        name = ctypes.util.find_library("speexdsp") or "libspeexdsp.so.1"
        self.lib = ctypes.CDLL(name)
        self.lib.speex_echo_state_init.restype = ctypes.c_void_p
        self.lib.speex_echo_state_init.argtypes = [ctypes.c_int, ctypes.c_int]
        self.lib.speex_echo_cancellation.argtypes = [ctypes.c_void_p] + [ctypes.c_void_p] * 3
        self.lib.speex_echo_ctl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
        self.lib.speex_echo_state_destroy.argtypes = [ctypes.c_void_p]
        self.state = self.lib.speex_echo_state_init(frame, rate * tail_ms // 1000)
        value = ctypes.c_int(rate)
        self.lib.speex_echo_ctl(self.state, self.SET_SAMPLING_RATE, ctypes.byref(value))

    def process(self, mic: Int16, far: Int16) -> Int16:
        mic, far = np.ascontiguousarray(mic), np.ascontiguousarray(far)
        out = np.empty_like(mic)
        self.lib.speex_echo_cancellation(
            self.state, mic.ctypes.data, far.ctypes.data, out.ctypes.data
        )
        return out

    def close(self) -> None:
        self.lib.speex_echo_state_destroy(self.state)


Process = Callable[[Int16, Int16], Int16]


def _run(process: Process, mic: Int16, far: npt.ArrayLike) -> Int16:
    reference = _int16(far)
    out = [
        process(m, f)
        for m, f in zip(room.frames(mic, FRAME), room.frames(reference, FRAME), strict=True)
    ]
    return np.concatenate(out)


def _webrtc(settings: VoiceSettings, rate: int = RATE) -> Process:
    return VoiceProcessor(rate, settings).process


AEC = VoiceSettings(True, False, False)
NS = VoiceSettings(False, True, False)
AGC = VoiceSettings(False, False, True)
ALL = VoiceSettings(True, True, True)


def echo_figures() -> list[Result]:
    results = []
    far = _speech(FAR, 12)
    mic = room.microphone(far, RATE, delay_ms=40, length_ms=100)
    after = 2 * RATE
    speex = Speex(RATE, FRAME)
    candidates: list[tuple[str, Process]] = [
        ("WebRTC AEC3 (pywebrtc-audio)", _webrtc(AEC)),
        ("SpeexDSP (libspeexdsp1)", speex.process),
        ("off", lambda m, f: m),
    ]
    for name, process in candidates:
        out = _run(process, mic, far)
        erle = room.erle_db(mic[after : len(out)], out[after:])
        target = ">= 30 dB" if name != "off" else ""
        met = erle >= 30 if name != "off" else None
        results.append(
            Result(SCENARIO, f"ERLE, far-end single talk, {name}", erle, "dB", target, met)
        )
    speex.close()
    far8 = _speech(FAR, 12, 8000)
    mic8 = room.microphone(far8, 8000, delay_ms=40, length_ms=100)
    at8 = VoiceProcessor(8000, AEC)  # one processor for the whole call
    pairs = zip(room.frames(mic8, 160), room.frames(_int16(far8), 160), strict=True)
    out8 = np.concatenate([at8.process(m, f) for m, f in pairs])
    erle8 = room.erle_db(mic8[16000 : len(out8)], out8[16000:])
    results.append(
        Result(SCENARIO, "ERLE, WebRTC AEC3 at 8 kHz (G.711)", erle8, "dB", ">= 30 dB", erle8 >= 30)
    )
    out_all = _run(_webrtc(ALL), mic, far)
    results.append(
        Result(SCENARIO, "ERLE, WebRTC AEC3 + NS + AGC (what the far end hears, AGC gain in it)",
               room.erle_db(mic[after : len(out_all)], out_all[after:]), "dB")
    )  # fmt: skip
    for delay in (0, 100, 200, 300, 400, 500, 600, 800):
        m = room.microphone(far, RATE, delay_ms=delay, length_ms=100)
        o = _run(_webrtc(AEC), m, far)
        results.append(
            Result(SCENARIO, f"ERLE, AEC3, device delay {delay} ms",
                   room.erle_db(m[3 * RATE : len(o)], o[3 * RATE :]), "dB")
        )  # fmt: skip
    return results


def double_talk() -> list[Result]:
    results = []
    far = _speech(FAR, 12)
    near = np.zeros(len(far))
    near[4 * RATE :] = _at(_speech(NEAR, 8), -26)
    mic = room.microphone(far, RATE, delay_ms=40, near=near)
    alone = room.microphone(np.zeros(len(far)), RATE, delay_ms=40, near=near)
    clean = near[4 * RATE :]
    speex_dt, speex_alone = Speex(RATE, FRAME), Speex(RATE, FRAME)
    for name, both, single in (
        ("WebRTC AEC3", _webrtc(AEC), _webrtc(AEC)),
        ("SpeexDSP", speex_dt.process, speex_alone.process),
        ("off", lambda m, f: m, lambda m, f: m),
    ):
        out = _run(both, mic, far)[4 * RATE :]
        ref = _run(single, alone, np.zeros(len(far)))[4 * RATE :]
        n = min(len(out), len(clean), len(ref))
        score = float(pesq(RATE, clean[:n], out[:n].astype(np.float64), "wb"))
        base = float(pesq(RATE, clean[:n], ref[:n].astype(np.float64), "wb"))
        results.append(Result(SCENARIO, f"double talk PESQ-WB, {name}", score, "", ""))
        judged = name != "off"
        results.append(
            Result(SCENARIO, f"double talk, {name}: PESQ below near end alone", base - score, "",
                   "<= 0.3" if judged else "", (base - score <= 0.3) if judged else None)
        )  # fmt: skip
    speex_dt.close()
    speex_alone.close()
    return results


def _office_noise(n: int, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    white = np.fft.rfft(rng.normal(0, 1, n))
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    pink = np.fft.irfft(white / np.sqrt(np.maximum(freqs, 20.0)), n)
    babble = sum(np.roll(_speech(v, n // RATE + 1)[:n][::-1], k * RATE // 3)
                 for k, v in enumerate(("en", "en+m3", "en+f2", "en+m1")))  # fmt: skip
    pink /= np.std(pink)
    babble = babble / np.std(babble)
    return pink + babble


def noise_suppression() -> list[Result]:
    rng = np.random.default_rng(11)
    near = _at(_speech(NEAR, 10), -26)
    noise = _office_noise(len(near), rng)
    speech_power = float(np.mean(near[np.abs(near) > 100] ** 2))
    noise *= np.sqrt(speech_power / 10 ** (10 / 10) / float(np.mean(noise**2)))
    noisy = _int16(near + noise)
    results = []
    for name, process in (("off", lambda m, f: m), ("on", _webrtc(NS))):
        out = _run(process, noisy, np.zeros(len(noisy)))
        n = len(out)
        score = float(pesq(RATE, near[2 * RATE : n], out[2 * RATE :].astype(np.float64), "wb"))
        results.append(Result(SCENARIO, f"noise at 10 dB SNR, PESQ-WB, NS {name}", score, ""))
    return results


def gain_control() -> list[Result]:
    levels = []
    results = []
    for dbfs in (-40, -30, -20, -10):
        talker = _int16(_at(_speech(NEAR, 12), dbfs))
        out = _run(_webrtc(AGC), talker, np.zeros(len(talker))).astype(np.float64)
        tail = out[7 * RATE :]
        level = 20 * np.log10(np.sqrt(np.mean(tail[np.abs(tail) > 30] ** 2)) / 32768)
        levels.append(level)
        results.append(Result(SCENARIO, f"AGC output level, talker at {dbfs} dBFS", level, "dBFS"))
    spread = max(levels) - min(levels)
    results.append(Result(SCENARIO, "AGC output level spread (input spread 30 dB)", spread, "dB",
                          "<= 6 dB", spread <= 6))  # fmt: skip
    return results


def cpu() -> list[Result]:
    results = []
    far = _speech(FAR, 10)
    mic = room.microphone(far, RATE)
    frames = len(mic) // FRAME
    for name, settings in (("AEC", AEC), ("NS", NS), ("AGC", AGC), ("AEC + NS + AGC", ALL)):
        processor = VoiceProcessor(RATE, settings)
        start = time.process_time()
        _run(processor.process, mic, far)
        per_frame = (time.process_time() - start) / frames * 1e6
        results.append(Result(SCENARIO, f"CPU per 20 ms frame, {name}", per_frame, "µs"))
        results.append(
            Result(SCENARIO, f"CPU per call-second, {name}", per_frame * 50 / 1000, "ms",
                   "< 20 ms (2 %)" if name.startswith("AEC +") else "",
                   per_frame * 50 / 1000 < 20 if name.startswith("AEC +") else None)
        )  # fmt: skip
    speex = Speex(RATE, FRAME)
    start = time.process_time()
    _run(speex.process, mic, far)
    per_frame = (time.process_time() - start) / frames * 1e6
    speex.close()
    results.append(Result(SCENARIO, "CPU per 20 ms frame, SpeexDSP AEC", per_frame, "µs"))
    return results


def _paced(frame_ms: int, seconds: float, step: Callable[[int], None]) -> None:
    start = time.monotonic()
    for i in range(int(seconds * 1000 / frame_ms)):
        step(i)
        delay = start + (i + 1) * frame_ms / 1000 - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def devices() -> list[Result]:
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as folder:
        server = SoundServer(Path(folder))
        server.start()
        try:
            server.defaults("speaker", "speaker.monitor")
            for frame_ms in (10, 20, 60):
                results.append(_round_trip(frame_ms))
            results += _long_call(60.0)
        finally:
            server.stop()
    return results


def _round_trip(frame_ms: int) -> Result:
    rate, size = 8000, 8000 * frame_ms // 1000
    card = SoundCard(DEVICE, DEVICE, rate=rate, native_rate=48000)
    burst = _int16(8000 * np.sin(2 * np.pi * 1000 * np.arange(800) / rate))
    sent_at: list[int] = []
    heard: list[Int16] = []
    period = 8000  # one burst a second

    def step(i: int) -> None:
        position = i * size
        out = np.zeros(size, dtype=np.int16)
        for start in range(3 * rate, 12 * rate, period):  # after the 1.5 s stream start
            lo, hi = max(start, position), min(start + len(burst), position + size)
            if lo < hi:
                out[lo - position : hi - position] = burst[lo - start : hi - start]
                if lo == start:
                    sent_at.append(start)
        card.sink.write(out)
        heard.append(card.source.read(size))

    try:
        _paced(frame_ms, 13.0, step)
    finally:
        card.close()
    signal = np.abs(np.concatenate(heard).astype(np.float64))
    delays = []
    for start in sent_at:
        window = signal[start : start + period]
        loud = np.nonzero(window > 2000)[0]
        if len(loud):
            delays.append(1000 * loud[0] / rate)
    value = float(np.median(delays)) if delays else float("nan")
    return Result(
        DEVICES, f"round trip sink.write -> source.read, {frame_ms} ms frames", value, "ms"
    )


def _long_call(seconds: float) -> list[Result]:
    card = SoundCard(DEVICE, DEVICE, rate=8000, native_rate=48000)
    tone = _int16(4000 * np.sin(2 * np.pi * 440 * np.arange(160) / 8000))
    try:
        _paced(20, seconds, lambda i: (card.sink.write(tone), card.source.read(160)))
        stats = card.stats()
        capture, playback = card.capture, card.playback
    finally:
        card.close()
    assert stats.capture is not None and stats.playback is not None
    assert capture is not None and playback is not None
    label = f"{seconds:.0f} s call, 20 ms frames"
    return [
        Result(DEVICES, f"{label}: PortAudio output underflows", playback.underflows, "", "0",
               playback.underflows == 0),
        Result(DEVICES, f"{label}: PortAudio input overflows", capture.overflows, "", "0",
               capture.overflows == 0),
        Result(DEVICES, f"{label}: playback ring ran dry (gaps)", stats.playback.gaps, ""),
        Result(DEVICES, f"{label}: capture ring ran dry (gaps)", stats.capture.gaps, ""),
        Result(DEVICES, f"{label}: trims to bound latency (both rings)",
               stats.playback.trims + stats.capture.trims, ""),
        Result(DEVICES, f"{label}: device reopened", stats.reopened, "", "0", stats.reopened == 0),
    ]  # fmt: skip


def run() -> list[Result]:
    return echo_figures() + double_talk() + noise_suppression() + gain_control() + cpu() + devices()


if __name__ == "__main__":
    for result in run():
        print(result.row())
