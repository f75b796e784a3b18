"""Voice processing between the microphone and the encoder: echo cancellation,
noise suppression and automatic gain control (WebRTC's audio processing module).

Pipeline position::

    source -> gain/mute -> [VoiceProcessor: AEC3 -> NS -> AGC2] -> level -> encode
                               ^ far reference: what the speaker played last

Theory of operation
-------------------
The work is done by WebRTC's audio processing module through the
``pywebrtc-audio`` binding (AEC3, NS, AGC2: the code Chrome runs); this
module only feeds it and watches it.  Each frame of the microphone
(10 to 60 ms at the codec's rate) goes in with the frame the speaker was
given just before it, the echo reference; the module splits them into its
own 10 ms blocks.  AEC3 finds the speaker-to-microphone delay itself; we
also estimate it (:class:`DelayEstimator`, a cross-correlation of the two
signals over the last two seconds, redone every second while the far end
talks) so the handset can show it, and hand the estimate to AEC3 as its
delay hint, which keeps it converged when the delay drifts (a Bluetooth
headset that buffers more after a glitch, a USB card that resyncs).

ERLE (echo return loss enhancement) is how much quieter the microphone
signal is after the canceller, ``10 log10(P_mic / P_out)``, summed over the
frames in which the far end talked (the reference is above -50 dBFS) and
the microphone heard something; it is only an estimate during double talk,
when the near end's own voice counts as unremoved echo.  Without far-end
talk for a while it is ``None``: there is nothing to cancel.

The library is optional at run time: if it cannot be imported the stages
are off and :attr:`VoiceProcessor.note` says why, once; a call never fails
for it.
"""

from __future__ import annotations

import importlib
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .stats import VoiceProcessing
from .virtual import Samples

try:
    _webrtc: Any = importlib.import_module("pywebrtc_audio")
except Exception:  # ImportError, or an OSError from a broken wheel
    _webrtc = None

FAR_ACTIVE_DBFS = -50.0  # the reference is speech (or a tone) above this
ERLE_WINDOW_S = 1.0  # the ERLE figure covers about this much far-end talk
DELAY_WINDOW_S = 2.0  # cross-correlation window of the delay estimator
MAX_DELAY_MS = 500  # the estimator searches 0..MAX_DELAY_MS


def hears_room(source: object) -> bool:
    """True for a real microphone (a sound card): files and tones need no echo canceller."""
    return bool(getattr(source, "acoustic", False))


def available() -> bool:
    """True if the audio processing library can be loaded."""
    return _webrtc is not None


@dataclass(frozen=True, slots=True)
class VoiceSettings:
    """Which stages run; the defaults are what a laptop on speakers needs."""

    echo_cancellation: bool = True
    noise_suppression: bool = True
    gain_control: bool = True

    @property
    def any(self) -> bool:
        return self.echo_cancellation or self.noise_suppression or self.gain_control


OFF = VoiceSettings(False, False, False)
LAPTOP = VoiceSettings()  # every stage on: the default of an account


def _energy(x: npt.NDArray[np.float32]) -> float:
    return float(np.dot(x, x))


class DelayEstimator:
    """Speaker -> microphone delay by cross-correlation (PHAT-weighted), redone each second.

    Fed the far reference and the microphone each frame; keeps the last
    ``DELAY_WINDOW_S`` of both.  Once a second, if the far end was active in
    the window, it correlates them over lags 0..MAX_DELAY_MS and takes the
    peak if it stands clear of the rest (peak / mean > 6); the estimate is
    the median of the last three accepted peaks, so one bad second does not
    move it and a real drift moves it within two seconds.
    """

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.size = int(rate * DELAY_WINDOW_S)
        self.far = np.zeros(self.size, dtype=np.float32)
        self.mic = np.zeros(self.size, dtype=np.float32)
        self.filled = 0
        self.since = 0
        self.peaks: list[float] = []
        self.delay_ms: float | None = None
        self.max_lag = rate * MAX_DELAY_MS // 1000

    def feed(self, far: npt.NDArray[np.float32], mic: npt.NDArray[np.float32]) -> None:
        n = len(far)
        self.far = np.roll(self.far, -n)
        self.far[-n:] = far
        self.mic = np.roll(self.mic, -n)
        self.mic[-n:] = mic
        self.filled = min(self.size, self.filled + n)
        self.since += n
        if self.since >= self.rate and self.filled == self.size:
            self.since = 0
            self._estimate()

    def _estimate(self) -> None:
        far, mic = self.far, self.mic
        if _energy(far) / len(far) < (32768.0 * 10 ** (FAR_ACTIVE_DBFS / 20)) ** 2:
            return
        n = 1 << math.ceil(math.log2(2 * self.size))
        spectrum = np.fft.rfft(mic, n) * np.conj(np.fft.rfft(far, n))
        spectrum /= np.abs(spectrum) + 1e-9
        corr = np.abs(np.fft.irfft(spectrum, n)[: self.max_lag + 1])
        lag = int(np.argmax(corr))
        if corr[lag] < 6.0 * (float(np.mean(corr)) + 1e-12):
            return
        self.peaks = [*self.peaks[-2:], 1000.0 * lag / self.rate]
        self.delay_ms = float(np.median(self.peaks))


class VoiceProcessor:
    """AEC, NS and AGC on one call's microphone, with the speaker as the echo reference."""

    def __init__(self, rate: int, settings: VoiceSettings = VoiceSettings()) -> None:
        self.rate = rate
        self.settings = settings
        self.note = ""
        self._ap: Any = None
        if settings.any:
            if _webrtc is None:
                self.note = "voice processing is off: the pywebrtc-audio library is missing"
                self.settings = OFF
            else:
                self._ap = _webrtc.AudioProcessor(
                    sample_rate=rate,
                    echo_cancellation=settings.echo_cancellation,
                    noise_suppression=settings.noise_suppression,
                    auto_gain_control=settings.gain_control,
                    high_pass_filter=True,
                    ns_level=1,  # 12 dB: not too aggressive on speech
                    agc_max_gain_db=30.0,
                )
        self.delay = DelayEstimator(rate) if self.settings.echo_cancellation else None
        self._mic_energy = 0.0
        self._out_energy = 0.0
        self._active = 0  # samples of far-end talk in the ERLE sums
        self.erle_db: float | None = None
        self._quiet = 0  # samples since the far end last talked
        self.frames = 0
        self.cpu_s = 0.0

    @property
    def active(self) -> bool:
        return self._ap is not None

    def process(self, mic: Samples, far: Samples) -> Samples:
        """The microphone frame with echo, noise and level treated; same length and dtype."""
        if self._ap is None:
            return mic
        start = time.perf_counter()
        if len(far) != len(mic):
            far = np.resize(far, len(mic)) if len(far) else np.zeros_like(mic)
        out: Samples = self._ap.process(mic, far)
        self.cpu_s += time.perf_counter() - start
        self.frames += 1
        if self.delay is not None:
            treated = out.astype(np.float32)
            if self.settings.gain_control:  # the ERLE is the echo's loss, not the AGC's gain
                treated *= 10 ** (-self._gain() / 20)
            self._watch(mic.astype(np.float32), far.astype(np.float32), treated)
        return out

    def _gain(self) -> float:
        try:
            return float(self._ap.gain_db)
        except RuntimeError:  # no AGC
            return 0.0

    def _watch(
        self,
        mic: npt.NDArray[np.float32],
        far: npt.NDArray[np.float32],
        out: npt.NDArray[np.float32],
    ) -> None:
        assert self.delay is not None
        self.delay.feed(far, mic)
        if self.delay.delay_ms is not None:
            self._ap.stream_delay_ms = round(self.delay.delay_ms)
        n = len(far)
        far_on = _energy(far) / n >= (32768.0 * 10 ** (FAR_ACTIVE_DBFS / 20)) ** 2
        if not far_on:
            self._quiet += n
            if self._quiet > 3 * self.rate:
                self.erle_db = None
            return
        self._quiet = 0
        self._mic_energy += _energy(mic)
        self._out_energy += _energy(out)
        self._active += n
        if self._active >= ERLE_WINDOW_S * self.rate:
            ratio = (self._mic_energy + 1.0) / (self._out_energy + 1.0)
            self.erle_db = round(10.0 * math.log10(ratio), 1)
            self._mic_energy = self._out_energy = 0.0
            self._active = 0

    def stats(self) -> VoiceProcessing:
        gain: float | None = None
        if self._ap is not None and self.settings.gain_control:
            gain = round(self._gain(), 1)
        return VoiceProcessing(
            echo_cancellation=self.settings.echo_cancellation,
            noise_suppression=self.settings.noise_suppression,
            gain_control=self.settings.gain_control,
            erle_db=self.erle_db,
            echo_delay_ms=None if self.delay is None else self.delay.delay_ms,
            agc_gain_db=gain,
            cpu_us_per_frame=round(1e6 * self.cpu_s / self.frames, 1) if self.frames else 0.0,
        )
