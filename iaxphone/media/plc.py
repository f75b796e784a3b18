"""Packet-loss concealment for PCM codecs, after ITU-T G.711 Appendix I.

Pipeline position::

    auplay <- aubuf <- [decode + plc] <- jbuf <- network

Theory of operation
-------------------
Every good frame passes through :meth:`PitchConcealer.good`, which keeps
the last 48.75 ms of output as history.  When a frame is missing,
:meth:`PitchConcealer.conceal` synthesises it.

*Pitch.*  On the first missing frame the pitch period is found by
normalised cross-correlation of the last 10 ms of history against the
history 4 to 15 ms earlier (66-250 Hz), all lags in one ``np.correlate``.
A multiple of the period correlates about as well as the period itself,
so the shortest lag whose correlation peak is within 0.03 of the best is
taken.  Both choices keep the repeated stretch as close to the gap as
possible: on espeak speech at 5 % loss a 20 ms window costs 0.05 PESQ, a
200 Hz limit (female voices then repeat two periods) 0.03.

*Extrapolation* (G.711 Appendix I), when nothing after the gap is known:

1. The last pitch period is repeated.  Its last quarter period is
   blended with the quarter before the period, so it wraps round without
   a click.
2. After 10 ms the repetition widens to the last two, after 20 ms to the
   last three pitch periods (one period repeated too long sounds buzzy),
   and the signal fades by 20 % per 10 ms from 10 ms on: silence after
   60 ms.
3. On the first good frame after a loss, its beginning is overlap-added
   with the continued synthetic signal over a quarter period plus 4 ms
   for every 10 ms lost (at most 10 ms), so the return is smooth too.

*Interpolation* (beyond Appendix I).  A jitter buffer holding more than a
frame usually has the frame *after* the gap already; the caller passes it
(``following``) and the gap is filled from both sides, ending exactly
where the real signal resumes (no overlap-add on return):

1. ``before`` is the last pitch period of history (wrap blended as
   above), ``after`` the first period of the following frame, its length
   searched within -20/+25 % of ``before``'s (the same voice, not an
   octave away; its start blended from the samples after it).
2. *Meeting in phase.*  ``after`` is matched against ``before`` repeated,
   at every phase: where in ``before``'s cycle the following frame
   begins.  At the natural pace (the period gliding from one length to the
   other) the gap holds some number of periods; the phase reached at its
   end rarely matches.  Of the phases that match about as well as the
   best (0.05), the one needing the least change of pitch is chosen, and
   the glide is bent just enough to arrive there, by at most 5 % (more is
   audible: PESQ drops).  If no phase is that near, the periods are
   repeated unbent.
3. Both cycles are read along that common phase track (``after`` backward
   from the following frame) and cross-faded with a raised cosine over
   the whole gap.  In phase, the cross-fade adds rather than cancels.

On espeak speech at 5 % random loss (benchmarks/quality.py, 5 seeds)
interpolation scores 3.63 PESQ, the same losses extrapolated 3.22; the
codec alone scores 4.18 and zero-fill 2.87.  Only for stateless decoders:
the following frame is decoded twice.

*Cost.*  About 90 us per interpolated and 45 us per extrapolated 20 ms
frame at 8 kHz (numpy, one core); good frames cost a copy.

Sample counts scale with the rate (8 kHz for G.711/GSM/G.729, 16 kHz for
G.722).  Codecs with their own concealment (Opus) use that instead.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Int16Array = npt.NDArray[np.int16]
FloatArray = npt.NDArray[np.float64]

PITCH_SLACK = 0.03  # a shorter lag within this much correlation of the best wins (no multiples)
PHASE_SLACK = 0.05  # phase candidates within this much of the best match: take the least warp
MAX_WARP = 0.05  # interpolation bends the pitch by at most 5 % to meet the next frame in phase


def _correlations(x: FloatArray, target: FloatArray, first: int, last: int) -> FloatArray:
    """Normalised cross-correlation of ``target`` with ``x[s : s + len(target)]``, s = first..last.

    Whole-array operations only (no Python loop over lags): about 5 us for 90 lags.
    Silent candidates score 0; a silent target scores 0 everywhere.
    """
    n = len(target)
    segment = x[first : last + n]
    dots = np.correlate(segment, target, "valid")
    running = np.cumsum(segment * segment)
    energy = running[n - 1 :].copy()
    energy[1:] -= running[:-n]
    target_energy = float(target @ target)
    if target_energy <= 0.0:
        return np.zeros(len(dots))
    scores: FloatArray = dots / np.sqrt(np.maximum(energy, 1e-9) * target_energy)
    return scores


def _cycle_at(cycle: FloatArray, position: FloatArray) -> FloatArray:
    """``cycle`` (one period) read at fractional ``position`` (linear interpolation, wrapping)."""
    length = len(cycle)
    wrapped = np.append(cycle, cycle[0])
    out: FloatArray = np.interp(position % length, np.arange(length + 1.0), wrapped)
    return out


class PitchConcealer:
    def __init__(self, rate: int = 8000) -> None:
        self.scale = max(1, rate // 8000)
        s = self.scale
        self.rate = rate
        self.history_len = 390 * s
        self.pitch_min = 32 * s  # 250 Hz
        self.pitch_max = 120 * s  # 66.7 Hz
        self.corr_len = 80 * s  # 10 ms: the pitch of the last moments, not an average
        self.ten_ms = 80 * s
        self.history: FloatArray = np.zeros(self.history_len)
        self.erased = 0  # samples concealed in the current loss
        self.pitch = self.pitch_max
        self.pitch_buffer: FloatArray = np.zeros(0)
        self.position = 0  # read position within the used pitch periods
        self.periods = 1
        self._axes: dict[int, tuple[FloatArray, FloatArray]] = {}

    # ------------------------------------------------------------------ helpers

    def _remember(self, samples: FloatArray) -> None:
        if len(samples) >= self.history_len:
            self.history = samples[-self.history_len :].copy()
        else:
            self.history = np.concatenate((self.history[len(samples) :], samples))

    def find_pitch(self) -> int:
        """Pitch period in samples, by normalised cross-correlation of the history.

        The last ``corr_len`` samples against the history ``pitch_min`` to
        ``pitch_max`` earlier.  A multiple of the period correlates about as
        well as the period itself, so of the correlation peaks within
        ``PITCH_SLACK`` of the best the shortest lag is taken: repeating one
        period stays closest to the signal at the gap.
        """
        h = self.history
        start = len(h) - self.corr_len  # where the target begins; lag L reads from start - L
        scores = _correlations(h, h[start:], start - self.pitch_max, start - self.pitch_min)
        by_lag = scores[::-1]  # index 0 is pitch_min
        peak = np.empty(len(by_lag), dtype=bool)
        peak[1:-1] = (by_lag[1:-1] >= by_lag[:-2]) & (by_lag[1:-1] >= by_lag[2:])
        peak[0] = peak[-1] = False
        candidates = peak & (by_lag >= by_lag.max() - PITCH_SLACK)
        if not candidates.any():  # the best is at an end of the range
            return self.pitch_min + int(np.argmax(by_lag))
        return self.pitch_min + int(np.argmax(candidates))

    def _synthesise(self, count: int) -> FloatArray:
        """The next ``count`` samples of the repeated pitch periods (no fading)."""
        used = self.pitch * self.periods
        start = len(self.pitch_buffer) - used
        index = start + (self.position + np.arange(count)) % used
        self.position += count
        return self.pitch_buffer[index]

    # ------------------------------------------------------------------ API

    def good(self, frame: Int16Array) -> Int16Array:
        """A frame that arrived; returns it, smoothed into the concealment that preceded it."""
        samples = frame.astype(np.float64)
        if not self.erased:  # the common case: remember it, pass it on untouched
            self._remember(samples)
            return frame
        four_ms = self.ten_ms * 4 // 10
        extra = min(max(0, self.erased - self.ten_ms) // self.ten_ms * four_ms, self.ten_ms)
        length = min(len(samples), self.pitch // 4 + extra)
        if length > 0:
            gain = self._gain(self.erased, length)
            continuation = self._synthesise(length) * gain
            ramp = np.linspace(0.0, 1.0, length, endpoint=False)
            samples[:length] = continuation * (1.0 - ramp) + samples[:length] * ramp
        self.erased = 0
        self._remember(samples)
        return np.clip(np.rint(samples), -32768, 32767).astype(np.int16)

    def conceal(self, count: int, following: Int16Array | None = None) -> Int16Array:
        """Synthesise ``count`` samples for a missing frame.

        ``following`` is the decoded frame that will play right after this
        one, when it is already here: the gap is then interpolated.
        """
        if following is not None and len(following) >= 2 * self.pitch_min:
            return self._interpolate(count, following.astype(np.float64))
        return self._extrapolate(count)

    def _interpolate(self, count: int, following: FloatArray) -> Int16Array:
        h = self.history
        # Mid-loss the history is the faded extrapolation, already periodic in self.pitch.
        p1 = self.find_pitch() if self.erased == 0 else self.pitch
        p2 = self._leading_pitch(following, p1)
        # The last period before the gap, its end blended into the samples before it
        # so that repeating it does not click where it wraps round.
        before = h[-p1:].copy()
        quarter = p1 // 4
        ramp = np.arange(quarter) / quarter
        before[p1 - quarter :] += (h[-p1 - quarter : -p1] - before[p1 - quarter :]) * ramp
        # The first period after it, its start blended from the samples after it.
        after = following[:p2].copy()
        quarter = min(p2 // 4, len(following) - p2)
        ramp = np.arange(quarter) / quarter
        after[:quarter] += (following[p2 : p2 + quarter] - after[:quarter]) * (1.0 - ramp)

        t, weight = self._gap_axis(count)
        natural = count * (1.0 / p1 + 1.0 / p2) / 2  # periods played if it glides p1 -> p2
        meeting = self._phase_meeting(before, following[:p2], natural)
        if meeting is None:  # meeting in phase would bend the pitch audibly: plain repeats
            forward = _cycle_at(before, t)
            backward = _cycle_at(after, t - count)
        else:
            periods, offset = meeting
            glide = (1.0 / p2 - 1.0 / p1) * t * t / (2 * count)
            phase = t / p1 + glide + (periods - natural) * t / count  # in periods of p1
            forward = _cycle_at(before, phase * p1)
            backward = _cycle_at(after, (phase - offset) * p2)
        out = forward + (backward - forward) * weight
        self.erased = 0  # the following frame continues this signal: no blend on return
        self._remember(out)
        return np.clip(np.rint(out), -32768, 32767).astype(np.int16)

    def _gap_axis(self, count: int) -> tuple[FloatArray, FloatArray]:
        """Sample times 0..count-1 and the raised-cosine cross-fade over them (cached)."""
        axis = self._axes.get(count)
        if axis is None:
            t = np.arange(count, dtype=np.float64)
            axis = self._axes[count] = (t, 0.5 - 0.5 * np.cos(np.pi * t / count))
        return axis

    def _leading_pitch(self, frame: FloatArray, near: int) -> int:
        """Pitch period at the start of ``frame``, within -20 % / +25 % of ``near``."""
        shortest = max(self.pitch_min, near * 4 // 5)
        longest = min(self.pitch_max, near * 5 // 4 + 1, len(frame) - self.pitch_min)
        if longest < shortest:
            return max(1, min(near, len(frame) - self.pitch_min))
        head = frame[: len(frame) - longest]
        scores = _correlations(frame, head, shortest, longest)
        return shortest + int(np.argmax(scores))

    def _phase_meeting(
        self, before: FloatArray, start: FloatArray, natural: float
    ) -> tuple[float, float] | None:
        """How many periods of ``before`` to play so the gap ends in phase with ``start``.

        ``start`` (the following frame's first period) is matched against
        ``before`` repeated, at every phase; of the phases that match about
        as well as the best, the one needing the least change of pitch
        (``natural`` periods fit the gap at the natural pace) wins.  Returns the
        periods to play and the phase (in periods of ``before``) at which
        ``start`` begins, or None if meeting it would bend the pitch by more
        than ``MAX_WARP``.
        """
        p1 = len(before)
        repeated = np.tile(before, -(-(p1 + len(start)) // p1))
        scores = _correlations(repeated, start, 0, p1 - 1)
        offsets = np.arange(p1) / p1
        meetings = offsets + np.round(natural - offsets)
        meetings[meetings <= 0.0] += 1.0
        bends = np.abs(meetings / natural - 1.0)
        bends[scores < scores.max() - PHASE_SLACK] = np.inf
        best = int(np.argmin(bends))
        if bends[best] > MAX_WARP:
            return None
        return float(meetings[best]), float(offsets[best])

    def _extrapolate(self, count: int) -> Int16Array:
        if self.erased == 0:
            self.pitch = self.find_pitch()
            self.pitch_buffer = self.history[-3 * self.pitch :].copy()
            self.periods = 1
            self.position = 0
            quarter = self.pitch // 4
            # Blend the start of the repeated period into the real signal's end.
            last = self.pitch_buffer[-quarter:].copy()
            before = self.pitch_buffer[-self.pitch - quarter : -self.pitch]
            ramp = np.linspace(0.0, 1.0, quarter, endpoint=False)
            self.pitch_buffer[-quarter:] = last * (1.0 - ramp) + before * ramp
        pieces = []
        done = 0
        while done < count:
            elapsed = self.erased + done
            periods = 1 + min(2, elapsed // self.ten_ms)
            if periods != self.periods:
                # Widen the repeated stretch without jumping: keep reading the same sample.
                old_used = self.pitch * self.periods
                index = len(self.pitch_buffer) - old_used + self.position % old_used
                self.periods = periods
                self.position = index - (len(self.pitch_buffer) - self.pitch * periods)
            # Up to the next 10 ms boundary, where the number of periods may change.
            step = min(count - done, self.ten_ms - elapsed % self.ten_ms)
            pieces.append(self._synthesise(step))
            done += step
        out = np.concatenate(pieces)
        out *= self._gain(self.erased, count)
        self.erased += count
        self._remember(out)
        return np.clip(np.rint(out), -32768, 32767).astype(np.int16)

    def _gain(self, start: int, count: int) -> FloatArray:
        """Fade: 1.0 for the first 10 ms, then -20 % per 10 ms, silent from 60 ms."""
        elapsed = np.arange(start, start + count, dtype=np.float64)
        gain = 1.0 - 0.2 * np.maximum(0.0, elapsed - self.ten_ms) / self.ten_ms
        return np.clip(gain, 0.0, 1.0)
