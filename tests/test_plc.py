"""Pitch-based concealment (G.711 Appendix I style) against zero-fill."""

from __future__ import annotations

import random

import numpy as np
import numpy.typing as npt
import pytest
from pesq import pesq

from iaxphone.media import plc as plc_module
from iaxphone.media.plc import PitchConcealer
from tests.require import unavailable
from tests.speech import have_espeak, speech

FRAME = 160


def run_with_loss(
    signal: npt.NDArray[np.int16], lost: list[bool], rate: int = 8000
) -> tuple[np.ndarray, np.ndarray]:
    frame = FRAME * rate // 8000
    plc = PitchConcealer(rate)
    concealed, zero_filled = signal.copy(), signal.copy()
    for i, is_lost in enumerate(lost):
        part = slice(i * frame, (i + 1) * frame)
        if is_lost:
            concealed[part] = plc.conceal(frame)
            zero_filled[part] = 0
        else:
            concealed[part] = plc.good(signal[part])
    return concealed, zero_filled


@pytest.mark.parametrize(("loss", "gain"), [(0.05, 0.12), (0.10, 0.25), (0.20, 0.15)])
def test_concealment_beats_zero_fill_on_speech(loss: float, gain: float) -> None:
    if not have_espeak():
        unavailable("espeak-ng is not installed (make system)")
    x = speech(8000)
    frames = len(x) // FRAME
    x = x[: frames * FRAME]
    rng = random.Random(3)
    lost = [i > 0 and rng.random() < loss for i in range(frames)]
    concealed, zero_filled = run_with_loss(x, lost)
    score_plc = pesq(8000, x, concealed, "nb")
    score_zero = pesq(8000, x, zero_filled, "nb")
    assert score_plc >= score_zero + gain, (score_plc, score_zero)


def test_with_the_following_frame_the_gap_is_interpolated() -> None:
    """A glide (pitch falling through the gap): both sides known beats extrapolation."""
    t = np.arange(8000) / 8000
    phase = 2 * np.pi * np.cumsum(220 - 60 * t) / 8000  # 220 Hz falling 60 Hz per second
    glide = (8000 * np.sin(phase + 0.4 * np.sin(2 * np.pi * 3 * t))).astype(np.int16)
    truth, following = glide[1600:1760].astype(float), glide[1760:1920]

    def conceal(with_following: bool) -> npt.NDArray[np.int16]:
        plc = PitchConcealer(8000)
        for i in range(10):
            plc.good(glide[i * FRAME : (i + 1) * FRAME])
        out = plc.conceal(FRAME, following if with_following else None)
        after = plc.good(following)
        if with_following:
            assert np.array_equal(after, following), "nothing left to blend on return"
        return out

    def snr(guess: npt.NDArray[np.int16]) -> float:
        error = max(float(np.sum((truth - guess.astype(float)) ** 2)), 1e-9)
        return float(10 * np.log10(np.sum(truth**2) / error))

    interpolated, extrapolated = conceal(True), conceal(False)
    assert snr(interpolated) > snr(extrapolated) + 3, (snr(interpolated), snr(extrapolated))
    join = abs(float(interpolated[-1]) - float(following[0]))
    natural = np.abs(np.diff(glide.astype(float))).max()
    assert join <= 1.5 * natural, "ends where the following frame begins"


def test_interpolation_beats_extrapolation_on_speech() -> None:
    if not have_espeak():
        unavailable("espeak-ng is not installed (make system)")
    x = speech(8000)
    frames = len(x) // FRAME
    x = x[: frames * FRAME]
    rng = random.Random(5)
    lost = [0 < i < frames - 1 and rng.random() < 0.05 for i in range(frames)]
    scores = []
    for interpolate in (False, True):
        plc = PitchConcealer(8000)
        out = x.copy()
        for i, is_lost in enumerate(lost):
            part = slice(i * FRAME, (i + 1) * FRAME)
            if is_lost:
                after = x[(i + 1) * FRAME : (i + 2) * FRAME]
                following = after if interpolate and not lost[i + 1] else None
                out[part] = plc.conceal(FRAME, following)
            else:
                out[part] = plc.good(x[part])
        scores.append(pesq(8000, x, out, "nb"))
    assert scores[1] >= scores[0] + 0.15, scores


def test_a_periodic_signal_is_continued_in_phase() -> None:
    t = np.arange(8000) / 8000
    tone = (8000 * np.sin(2 * np.pi * 200 * t)).astype(np.int16)  # 40-sample period
    plc = PitchConcealer(8000)
    for i in range(10):
        plc.good(tone[i * FRAME : (i + 1) * FRAME])
    assert plc.find_pitch() == 40
    guess = plc.conceal(80).astype(float)  # the first 10 ms, before any fading
    truth = tone[1600:1680].astype(float)
    error = max(float(np.sum((truth - guess) ** 2)), 1e-9)
    snr = 10 * np.log10(np.sum(truth**2) / error)
    assert snr > 20


def test_long_loss_fades_to_silence_by_60_ms() -> None:
    t = np.arange(4000) / 8000
    tone = (8000 * np.sin(2 * np.pi * 150 * t)).astype(np.int16)
    plc = PitchConcealer(8000)
    for i in range(10):
        plc.good(tone[i * FRAME : (i + 1) * FRAME])
    out = np.concatenate([plc.conceal(FRAME) for _ in range(4)]).astype(float)
    first_10ms, third_frame = np.abs(out[:80]).max(), np.abs(out[320:480]).max()
    assert first_10ms > 7000
    assert np.all(out[480:] == 0)  # 60 ms and after
    assert third_frame < 0.6 * first_10ms


def test_return_after_loss_has_no_click() -> None:
    t = np.arange(8000) / 8000
    tone = (8000 * np.sin(2 * np.pi * 180 * t + 0.3)).astype(np.int16)
    lost = [i in (5, 6) for i in range(12)]
    concealed, zero_filled = run_with_loss(tone[: 12 * FRAME], lost)
    step = np.abs(np.diff(concealed.astype(float)))
    natural = np.abs(np.diff(tone.astype(float))).max()
    assert step.max() <= 1.5 * natural
    assert np.abs(np.diff(zero_filled.astype(float))).max() > 1.5 * natural  # zero-fill does click


def test_wideband_concealment_scales_the_pitch_range() -> None:
    t = np.arange(16000) / 16000
    tone = (8000 * np.sin(2 * np.pi * 200 * t)).astype(np.int16)  # 80 samples at 16 kHz
    plc = PitchConcealer(16000)
    for i in range(10):
        plc.good(tone[i * 320 : (i + 1) * 320])
    assert plc.find_pitch() == 80
    assert len(plc.conceal(320)) == 320


def harmonics(phase: npt.NDArray[np.float64]) -> npt.NDArray[np.int16]:
    """A voiced-like wave: fundamental and two harmonics."""
    wave = 4000 * np.sin(phase) + 2500 * np.sin(2 * phase + 1) + 1500 * np.sin(3 * phase + 2)
    return wave.astype(np.int16)


def snr_db(truth: npt.NDArray[np.int16], guess: npt.NDArray[np.int16]) -> float:
    t, g = truth.astype(float), guess.astype(float)
    return float(10 * np.log10(np.sum(t**2) / max(float(np.sum((t - g) ** 2)), 1e-9)))


def test_pitch_search_finds_a_high_voice_not_its_octave() -> None:
    """230 Hz (a female voice): 34.8 samples, below Appendix I's 40-sample floor."""
    voice = harmonics(2 * np.pi * 230 * np.arange(8000) / 8000)
    plc = PitchConcealer(8000)
    for i in range(10):
        plc.good(voice[i * FRAME : (i + 1) * FRAME])
    assert plc.find_pitch() == 35  # not 70: one period repeated, not two


def test_correlations_match_the_definition() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=300)
    target = x[-80:]
    scores = plc_module._correlations(x, target, 50, 140)
    for k, s in enumerate(range(50, 141)):
        window = x[s : s + 80]
        expected = window @ target / np.sqrt((window @ window) * (target @ target))
        assert scores[k] == pytest.approx(expected, abs=1e-9)


def test_the_gap_meets_the_following_frame_in_phase(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pitch falling 120 Hz/s with vibrato: bending the glide to meet the next frame's phase
    beats plain repetition of both sides, which cross-fade out of phase."""
    t = np.arange(8000) / 8000
    glide = harmonics(2 * np.pi * np.cumsum(180 - 120 * t) / 8000 + 0.4 * np.sin(6 * np.pi * t))

    def mean_snr() -> float:
        scores = []
        for start in range(1600, 6400, FRAME):
            plc = PitchConcealer(8000)
            for i in range(start // FRAME - 10, start // FRAME):
                plc.good(glide[i * FRAME : (i + 1) * FRAME])
            out = plc.conceal(FRAME, glide[start + FRAME : start + 2 * FRAME])
            scores.append(snr_db(glide[start : start + FRAME], out))
        return float(np.mean(scores))

    met = mean_snr()
    monkeypatch.setattr(plc_module, "MAX_WARP", 0.0)  # never bend: repeat each side as it is
    unbent = mean_snr()
    assert met >= 20, met
    assert met >= unbent + 3, (met, unbent)


def test_wideband_interpolation() -> None:
    t = np.arange(16000) / 16000
    voice = harmonics(2 * np.pi * 170 * t)
    plc = PitchConcealer(16000)
    for i in range(10):
        plc.good(voice[i * 320 : (i + 1) * 320])
    following = voice[3520:3840]
    out = plc.conceal(320, following)
    assert len(out) == 320
    assert snr_db(voice[3200:3520], out) > 20
    assert np.array_equal(plc.good(following), following)
