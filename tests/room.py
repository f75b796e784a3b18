"""A simulated room for echo tests: far-end speech through a loudspeaker, a decaying
room impulse response and a microphone that also hears noise and the near talker."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Float = npt.NDArray[np.float64]


def rir(rate: int, length_ms: int = 100, gain_db: float = -6.0, seed: int = 7) -> Float:
    """A synthetic room impulse response: noise under an exponential decay (60 dB over length)."""
    rng = np.random.default_rng(seed)
    t = np.arange(rate * length_ms // 1000) / rate
    taps = rng.normal(0.0, 1.0, len(t)) * 10 ** (-3.0 * t / (length_ms / 1000))
    taps[0] = 3.0 * np.abs(taps).max()  # the direct path
    return taps * 10 ** (gain_db / 20) / np.sqrt(np.dot(taps, taps))


def echo(far: npt.ArrayLike, rate: int, delay_ms: float, response: Float) -> Float:
    """``far`` delayed by ``delay_ms`` (device and buffers) and played into ``response``."""
    x = np.asarray(far, dtype=np.float64)
    delay = int(rate * delay_ms / 1000)
    return np.convolve(np.concatenate((np.zeros(delay), x)), response)[: len(x)]


def microphone(
    far: npt.ArrayLike,
    rate: int,
    *,
    delay_ms: float = 40.0,
    length_ms: int = 100,
    near: npt.ArrayLike | None = None,
    noise_dbfs: float = -60.0,
    seed: int = 3,
) -> npt.NDArray[np.int16]:
    """What a laptop's microphone hears: the echo of ``far``, ``near`` and white noise."""
    x = echo(far, rate, delay_ms, rir(rate, length_ms))
    if near is not None:
        n = np.asarray(near, dtype=np.float64)[: len(x)]
        x[: len(n)] += n
    rng = np.random.default_rng(seed)
    x += rng.normal(0.0, 32768.0 * 10 ** (noise_dbfs / 20), len(x))
    return np.clip(np.rint(x), -32768, 32767).astype(np.int16)


def frames(signal: npt.NDArray[np.int16], size: int) -> list[npt.NDArray[np.int16]]:
    return [signal[i : i + size] for i in range(0, len(signal) - size + 1, size)]


def erle_db(mic: npt.ArrayLike, out: npt.ArrayLike) -> float:
    m = np.asarray(mic, dtype=np.float64)
    o = np.asarray(out, dtype=np.float64)[: len(m)]
    return float(10 * np.log10((np.dot(m, m) + 1.0) / (np.dot(o, o) + 1.0)))
