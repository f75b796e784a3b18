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
  (Debian's libspeexdsp1 through ctypes, 300 and 150 ms filters) and none.
* **Double talk**: a second voice talks from 4 s on; PESQ (wide band) of
  what the far end receives against the clean near-end speech, beside the
  same stages fed the near end alone (no echo): AEC3, AEC3 with NS and AGC,
  SpeexDSP, SpeexDSP with its residual-echo suppressor, SpeexDSP then AEC3,
  none; with the echo as loud as the talker and 10 dB below; and the
  ceilings of an ideal canceller (see :func:`double_talk`).
* **Delay range**: ERLE of AEC3 with the device delay from 0 to 800 ms.
* **Noise suppression**: near-end speech with office noise (babble of five
  espeak-ng voices, keyboard clicks, a fan) at 10 dB SNR; PESQ with the
  stage off and on (and stronger), and the noise removed in speech pauses.
* **AGC**: the same speech at -40, -30, -20 and -10 dBFS; the spread of the
  output level over the last 5 s of 12.
* **CPU** of each stage alone (and all three), per 20 ms frame, and per
  call-second, on this machine.
* **Sound server** (tests/soundserver.py's PulseAudio, null sink, real
  PortAudio callbacks through ALSA's pulse plugin): the round trip a tone
  burst takes from ``sink.write`` to ``source.read`` through the sink's
  monitor (the latency the device path adds, both directions, at 10, 20 and
  60 ms frames), the underruns, overruns, gaps and trims of a 60 s call, and
  mouth-to-ear through real devices on an echo-test call (needs the PBX).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pywebrtc_audio
from pesq import pesq

from benchmarks.results import Result
from iaxphone.media.devices import SoundCard
from iaxphone.media.voice import VoiceProcessor, VoiceSettings
from tests import room
from tests.soundserver import DEVICE, SoundServer, paced
from tests.speech import speech

SCENARIO = "Voice processing (simulated room, 16 kHz, 20 ms frames)"
DEVICES = "Sound server (PulseAudio null sink, real PortAudio)"
NOTE = (
    "Room: far-end espeak-ng speech, 40 ms device delay, a 100 ms synthetic room impulse "
    "response at -6 dB, noise at -60 dBFS (tests/room.py). ERLE from 2 s to 12 s of far-end "
    "single talk. SpeexDSP runs Debian's libspeexdsp1 through ctypes. Double talk: the near "
    "talker from 4 s to 12 s over continuous far-end speech; each candidate scored twice with "
    "fresh state, on the double-talk microphone and on the near end alone through the same "
    "stages, PESQ-WB against the clean near end, time-aligned for the stage's own delay. "
    "The -60 dBFS noise floor alone costs the near end about 2 PESQ points (2.45); the "
    "ceilings show what cancelling the echo by 20 or 30 dB without touching the near end "
    "would score. Office noise: five espeak-ng voices babbling other sentences, key clicks "
    "at about seven a second, a fan's rush and 100 Hz hum (power 2:1:1), at 10 dB SNR."
)
DEVICE_NOTE = (
    "Round trip: a tone burst from sink.write until source.read returns it through the "
    "null sink's monitor, i.e. playback ring + PulseAudio + capture ring, both directions. "
    "Mouth-to-ear: an echo-test call (600) through the bundled PBX with the phone on real "
    "devices (recording the microphone sink's monitor, playing to the speaker sink), timed "
    "by a second card that plays bursts into the microphone sink and records the speaker's "
    "monitor; its own round trip, measured just before, is subtracted. So it is the whole "
    "path a voice takes from a microphone to an ear on this machine: the phone's capture "
    "device path, iaxphone both ways (the latency section's echo rows, 40 ms at 20 ms "
    "frames, without devices), the PBX, and the phone's playback device path. The cards "
    "run at 48 kHz (the null sinks' rate), as two half-duplex streams each."
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
    speex, speex150 = Speex(RATE, FRAME), Speex(RATE, FRAME, 150)
    candidates: list[tuple[str, Process]] = [
        ("WebRTC AEC3 (pywebrtc-audio)", _webrtc(AEC)),
        ("SpeexDSP (libspeexdsp1)", speex.process),
        ("SpeexDSP, 150 ms filter", speex150.process),
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
    speex150.close()
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


class SpeexResidual:
    """SpeexDSP's canceller followed by its preprocessor's residual-echo suppressor only."""

    SET_DENOISE, SET_ECHO_STATE = 0, 24

    def __init__(self, rate: int, frame: int, tail_ms: int = 150) -> None:
        self.echo = Speex(rate, frame, tail_ms)
        lib = self.lib = self.echo.lib
        lib.speex_preprocess_state_init.restype = ctypes.c_void_p
        lib.speex_preprocess_state_init.argtypes = [ctypes.c_int, ctypes.c_int]
        lib.speex_preprocess_ctl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
        lib.speex_preprocess_run.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        lib.speex_preprocess_state_destroy.argtypes = [ctypes.c_void_p]
        self.state = lib.speex_preprocess_state_init(frame, rate)
        off = ctypes.c_int(0)
        lib.speex_preprocess_ctl(self.state, self.SET_DENOISE, ctypes.byref(off))
        lib.speex_preprocess_ctl(self.state, self.SET_ECHO_STATE, ctypes.c_void_p(self.echo.state))

    def process(self, mic: Int16, far: Int16) -> Int16:
        out = np.ascontiguousarray(self.echo.process(mic, far))
        self.lib.speex_preprocess_run(self.state, out.ctypes.data)
        return out

    def close(self) -> None:
        self.lib.speex_preprocess_state_destroy(self.state)
        self.echo.close()


def _chain(*stages: Process) -> Process:
    def run(mic: Int16, far: Int16) -> Int16:
        for stage in stages:
            mic = stage(mic, far)
        return mic

    return run


DT_START = 4  # seconds of far-end single talk (AEC convergence) before the near end talks


def _double_talk_room(near_dbfs: float) -> tuple[Int16, Int16, npt.NDArray[np.float64]]:
    """(microphone in double talk, microphone with the near end alone, clean near end)."""
    far = _speech(FAR, 12)
    near = np.zeros(len(far))
    near[DT_START * RATE :] = _at(_speech(NEAR, 12 - DT_START), near_dbfs)
    both = room.microphone(far, RATE, delay_ms=40, near=near)
    alone = room.microphone(np.zeros(len(far)), RATE, delay_ms=40, near=near)
    return both, alone, near


def _pesq(clean: npt.NDArray[np.float64], out: npt.ArrayLike, shift: int = 0) -> float:
    """PESQ-WB of ``out`` (advanced by ``shift`` samples) against ``clean``, from DT_START on."""
    o = np.asarray(out, dtype=np.float64)[DT_START * RATE + shift :]
    c = clean[DT_START * RATE :]
    n = min(len(o), len(c))
    return float(pesq(RATE, c[:n], o[:n], "wb"))


def _delay(clean: npt.NDArray[np.float64], out: npt.ArrayLike) -> int:
    """The lag (samples, 0..20 ms) at which ``out`` matches ``clean`` best."""
    o = np.asarray(out, dtype=np.float64)
    c = clean[: len(o)]
    lags = range(RATE // 50)
    return max(lags, key=lambda k: float(np.dot(o[k:], c[: len(o) - k])))


def _dt_frames_db(
    clean: npt.NDArray[np.float64], out: npt.ArrayLike, ref: npt.ArrayLike, shift: int
) -> float:
    """Output level minus near-end-alone output level (dB) over the 100 ms frames in which
    the near end talks: negative when the canceller gates the near end in double talk."""
    o = np.asarray(out, dtype=np.float64)[shift:]
    r = np.asarray(ref, dtype=np.float64)[shift:]
    size, rows = RATE // 10, []
    for i in range(DT_START * 10, min(len(o), len(r)) // size):
        span = slice(i * size, (i + 1) * size)
        if float(np.mean(clean[span] ** 2)) > 1e4:  # above about -50 dBFS
            rows.append(10 * np.log10((np.mean(o[span] ** 2) + 1) / (np.mean(r[span] ** 2) + 1)))
    return float(np.median(rows))


def double_talk() -> list[Result]:
    """Both talk from 4 s to 12 s; the near end as the far end receives it, against alone.

    Every candidate runs twice with fresh state: on the double-talk microphone,
    and on the near end alone (no echo, a silent reference) through the same
    stages; both are scored by PESQ-WB against the clean near end.  The echo is
    about as loud as the near talker at the microphone (0 dB), the hard laptop
    case; a second set has the talker 10 dB louder.  Ceilings: the echo removed
    by exactly 20 or 30 dB and the near end untouched (what a perfect linear
    canceller of that depth would score), which shows what the target asks.
    """
    results = []
    for near_dbfs in (-26.0, -16.0):
        both, alone, near = _double_talk_room(near_dbfs)
        ratio = "echo as loud as the talker" if near_dbfs < -20 else "talker 10 dB above echo"
        speex_stages: list[Speex | SpeexResidual] = []

        def speex(
            residual: bool = False, opened: list[Speex | SpeexResidual] = speex_stages
        ) -> Process:
            stage = SpeexResidual(RATE, FRAME) if residual else Speex(RATE, FRAME, 150)
            opened.append(stage)
            return stage.process

        candidates: list[tuple[str, Callable[[], Process]]] = [
            ("WebRTC AEC3", lambda: _webrtc(AEC)),
            ("WebRTC AEC3 + NS + AGC (as shipped)", lambda: _webrtc(ALL)),
            ("SpeexDSP, 150 ms filter", speex),
            ("SpeexDSP + its residual-echo suppressor", lambda: speex(True)),
            ("SpeexDSP then AEC3", lambda: _chain(speex(), _webrtc(AEC))),
            ("off", lambda: lambda m, f: m),
        ]
        if near_dbfs > -20:
            candidates = [c for c in candidates if c[0] in ("WebRTC AEC3", "SpeexDSP + its "
                          "residual-echo suppressor", "off")]  # fmt: skip
        for name, make in candidates:
            out = _run(make(), both, _speech(FAR, 12))
            ref = _run(make(), alone, np.zeros(len(both)))
            shift = _delay(near, ref)
            score, base = _pesq(near, out, shift), _pesq(near, ref, shift)
            label = f"double talk ({ratio}), {name}"
            judged = name != "off"
            results += [
                Result(SCENARIO, f"{label}: PESQ-WB both talking / near end alone",
                       score, f"/ {base:.2f}"),
                Result(SCENARIO, f"{label}: PESQ below near end alone", base - score, "",
                       "<= 0.3" if judged else "", (base - score <= 0.3) if judged else None),
            ]  # fmt: skip
            if name == "WebRTC AEC3" and near_dbfs < -20:
                results += [
                    Result(SCENARIO, f"{label}: its output delay (PESQ aligned for it)",
                           1000 * shift / RATE, "ms"),
                    Result(SCENARIO, f"{label}: output level in double talk, against alone",
                           _dt_frames_db(near, out, ref, shift), "dB"),
                ]  # fmt: skip
                plain = pywebrtc_audio.AudioProcessor(RATE, echo_cancellation=True)
                dt_plain = _pesq(near, _run(plain.process, both, _speech(FAR, 12)), shift)
                results.append(  # ours hands AEC3 its delay estimate (40 ms) as a hint
                    Result(SCENARIO, f"{label}, without our delay hint: PESQ-WB", dt_plain, "")
                )
        for stage in speex_stages:
            stage.close()
        if near_dbfs < -20:
            echo = room.echo(_speech(FAR, 12), RATE, 40, room.rir(RATE, 100))
            for depth in (20, 30):
                ideal = alone.astype(np.float64) + echo * 10 ** (-depth / 20)
                results.append(
                    Result(SCENARIO, f"double talk ({ratio}), ceiling: echo {depth} dB down, "
                           "near end untouched: PESQ-WB", _pesq(near, ideal), "")
                )  # fmt: skip
    return results


BABBLE = (  # what colleagues say across the room: other words than the talker's
    ("en+f2", ("The meeting moved to the small room on the third floor.",)),
    ("en+m1", ("Could you send me the invoice before lunch, please?",)),
    ("en+f4", ("I think the printer is out of paper again.",)),
    ("en-us", ("We should order more coffee for the kitchen.",)),
    ("en+m7", ("The new laptops arrive on Thursday afternoon.",)),
)


def _babble(n: int) -> npt.NDArray[np.float64]:
    """Five espeak-ng voices talking at once, each at the same level, each starting elsewhere."""
    mix = np.zeros(n)
    for k, (voice, text) in enumerate(BABBLE):
        s = speech(RATE, voice, text).astype(np.float64)
        s = np.roll(np.tile(s, 1 + n // len(s))[:n], k * RATE * 7 // 10)
        mix += s / np.std(s)
    return mix / np.std(mix)


def _keyboard(n: int, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    """Typing: about seven key clicks a second, each a 5 ms burst with a fast decay."""
    clicks = np.zeros(n)
    t = np.arange(RATE * 5 // 1000)
    shape = np.exp(-t / (RATE * 0.0008)) * rng.normal(0, 1, (1, len(t)))[0]
    at = 0
    while at < n - len(t):
        click = shape * rng.uniform(0.4, 1.0) * rng.choice((-1, 1))
        clicks[at : at + len(t)] += click
        at += int(rng.exponential(RATE / 7)) + RATE // 40
    return clicks / np.std(clicks)


def _fan(n: int, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    """A computer fan: brown-ish broadband rush plus a 100 Hz hum and its harmonics."""
    white = np.fft.rfft(rng.normal(0, 1, n))
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    rush = np.fft.irfft(white / np.maximum(freqs, 40.0), n)
    t = np.arange(n) / RATE
    hum = sum(np.sin(2 * np.pi * 100 * h * t) / h for h in (1, 2, 3, 5))
    rush, hum = rush / np.std(rush), hum / np.std(hum)
    return rush + 0.5 * hum


def _office_noise(n: int, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    """An open-plan office: babble, keyboard clicks and a fan, babble loudest (power 2:1:1)."""
    return np.sqrt(2) * _babble(n) + _keyboard(n, rng) + _fan(n, rng)


def _pause_level_db(near: npt.NDArray[np.float64], x: npt.ArrayLike) -> float:
    """Level (dBFS) of ``x`` in the 20 ms frames where the talker is silent."""
    y = np.asarray(x, dtype=np.float64)
    quiet = [
        float(np.mean(y[i : i + FRAME] ** 2))
        for i in range(2 * RATE, len(y) - FRAME, FRAME)
        if float(np.max(np.abs(near[i : i + FRAME]))) < 30
    ]
    return float(10 * np.log10(np.mean(quiet) / 32768**2))


def noise_suppression() -> list[Result]:
    """Near-end speech in office noise at 10 dB SNR, the noise suppressor off and on."""
    rng = np.random.default_rng(11)
    near = _at(_speech(NEAR, 10), -26)
    noise = _office_noise(len(near), rng)
    speech_power = float(np.mean(near[np.abs(near) > 100] ** 2))
    noise *= np.sqrt(speech_power / 10 ** (10 / 10) / float(np.mean(noise**2)))
    noisy = _int16(near + noise)
    results = []
    pauses: dict[str, float] = {}
    for name, process in (("off", lambda m, f: m), ("on", _webrtc(NS))):
        out = _run(process, noisy, np.zeros(len(noisy)))
        n = len(out)
        score = float(pesq(RATE, near[2 * RATE : n], out[2 * RATE :].astype(np.float64), "wb"))
        results.append(
            Result(SCENARIO, f"office noise at 10 dB SNR, PESQ-WB, NS {name}", score, "")
        )
        pauses[name] = _pause_level_db(near, out)
    for level, db in ((2, 18), (3, 21)):  # stronger than ours (12 dB), for the README's tuning
        stronger = pywebrtc_audio.AudioProcessor(RATE, noise_suppression=True, ns_level=level)
        out = _run(stronger.process, noisy, np.zeros(len(noisy)))
        score = float(pesq(RATE, near[2 * RATE : len(out)], out[2 * RATE :].astype(float), "wb"))
        results.append(Result(SCENARIO, f"office noise at 10 dB SNR, PESQ-WB, NS at {db} dB",
                              score, f"({pauses['off'] - _pause_level_db(near, out):.1f} dB "
                              "removed in pauses)"))  # fmt: skip
    results.append(
        Result(SCENARIO, "office noise at 10 dB SNR: noise removed in the talker's pauses",
               pauses["off"] - pauses["on"], "dB")
    )  # fmt: skip
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
            server.defaults("speaker", "microphone.monitor")
            results += _mouth_to_ear(Path(folder))
        finally:
            server.stop()
    return results


RIG_PCMS = """\
pcm.mouth {{ type pulse device microphone hint {{ show on description mouth }} }}
pcm.ear {{ type pulse device speaker.monitor hint {{ show on description ear }} }}
pcm.mouthback {{ type pulse device microphone.monitor hint {{ show on description back }} }}
"""


def _bursts(
    rig: SoundCard, frame_ms: int, seconds: float, during: Callable[[], None] | None = None
) -> float:
    """Median delay (ms) from a burst written to the rig's output until its input hears it."""
    rate, size, period = 8000, 8000 * frame_ms // 1000, 8000
    burst = _int16(8000 * np.sin(2 * np.pi * 1000 * np.arange(800) / rate))
    heard: list[Int16] = []
    starts = list(range(3 * rate, int(seconds - 1) * rate, period))

    def step(i: int) -> None:
        position = i * size
        out = np.zeros(size, dtype=np.int16)
        for start in starts:
            lo, hi = max(start, position), min(start + len(burst), position + size)
            if lo < hi:
                out[lo - position : hi - position] = burst[lo - start : hi - start]
        rig.sink.write(out)
        heard.append(rig.source.read(size))

    paced(frame_ms, seconds, step)
    signal = np.abs(np.concatenate(heard).astype(np.float64))
    delays = []
    for start in starts:
        loud = np.nonzero(signal[start : start + period] > 2000)[0]
        if len(loud):
            delays.append(1000 * loud[0] / rate)
    return float(np.median(delays)) if delays else float("nan")


REPEATS = 3  # each card's device path settles within about +-20 ms: a few runs


def _one_mouth_to_ear(frame_ms: int) -> tuple[float, float]:
    """(what the rig heard after, the rig's own round trip), in ms: one call."""
    import asyncio  # noqa: PLC0415

    from benchmarks.latency import CONFIG, options  # noqa: PLC0415
    from benchmarks.results import PBX  # noqa: PLC0415
    from iaxphone.aio.audio import CallAudio  # noqa: PLC0415
    from iaxphone.aio.client import IaxClient  # noqa: PLC0415

    back = SoundCard("mouthback", "mouth", rate=8000, native_rate=48000, watch_route=False)
    try:
        rig_ms = _bursts(back, frame_ms, 10.0)
    finally:
        back.close()
    phone = SoundCard(DEVICE, DEVICE, rate=8000, native_rate=48000, watch_route=False)
    rig = SoundCard("ear", "mouth", rate=8000, native_rate=48000, watch_route=False)

    async def call() -> float:
        async with IaxClient(("127.0.0.1", 0), CONFIG) as client:
            handle = await client.dial(PBX, options("6001", "600"))
            await handle.wait_answered(timeout=10)
            audio = CallAudio(handle, phone.source, phone.sink, frame_ms=frame_ms)
            audio.start()
            heard = await asyncio.to_thread(_bursts, rig, frame_ms, 14.0)
            await audio.stop()
            await handle.hangup()
        return heard

    try:
        return asyncio.run(call()), rig_ms
    finally:
        rig.close()
        phone.close()


def _mouth_to_ear(folder: Path) -> list[Result]:
    """An echo-test call (600) through the PBX on real devices, timed by a second card.

    The phone's card records the ``microphone`` sink's monitor and plays to
    ``speaker``; a measuring card (the rig, ALSA PCMs ``mouth`` and ``ear``
    declared in an asoundrc of its own) plays tone bursts into ``microphone``
    and records ``speaker``'s monitor.  What the rig hears minus the rig's own
    round trip (measured just before, ``mouth`` back through
    ``microphone.monitor``) is mouth-to-ear: the phone's capture device path,
    iaxphone both ways, the PBX's echo, and the phone's playback device path.
    """
    from tests.soundserver import reinitialise_portaudio  # noqa: PLC0415

    config_home = folder / "rig-config"
    (config_home / "alsa").mkdir(parents=True, exist_ok=True)
    (config_home / "alsa" / "asoundrc").write_text(RIG_PCMS.format())
    before = os.environ.get("XDG_CONFIG_HOME")
    os.environ["XDG_CONFIG_HOME"] = str(config_home)
    reinitialise_portaudio()
    results = []
    try:
        for frame_ms in (20, 60):
            runs = [_one_mouth_to_ear(frame_ms) for _ in range(REPEATS)]
            totals = [total - rig for total, rig in runs]
            label = f"mouth-to-ear, echo test through the PBX, {frame_ms} ms frames"
            results += [
                Result(DEVICES, f"{label}: through real devices (median of {REPEATS})",
                       float(np.median(totals)), f"ms (runs {min(totals):.0f}-{max(totals):.0f})"),
                Result(DEVICES, f"{label}: measuring card's own round trip (subtracted)",
                       float(np.median([rig for _, rig in runs])), "ms"),
            ]  # fmt: skip
    finally:
        if before is None:
            os.environ.pop("XDG_CONFIG_HOME", None)
        else:
            os.environ["XDG_CONFIG_HOME"] = before
        reinitialise_portaudio()
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
        paced(frame_ms, 13.0, step)
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
        paced(20, seconds, lambda i: (card.sink.write(tone), card.source.read(160)))
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
