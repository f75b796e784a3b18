"""The benchmarks' own measuring tools measure what they claim (synthetic signals, no PBX)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from benchmarks.latency import BurstSource, OnsetDetector
from benchmarks.live_quality import aligned, lag_of
from benchmarks.quality import write_corpus
from tests.require import unavailable
from tests.speech import have_espeak

RATE = 8000


def test_a_burst_is_found_where_it_starts_after_a_pause() -> None:
    detector = OnsetDetector(RATE)
    signal = np.zeros(RATE, dtype=np.int16)
    signal[1000:1800] = 8000  # a burst ...
    signal[1900:1950] = 8000  # ... a click 12 ms later is not a new burst (no pause) ...
    signal[5000:5100] = -8000  # ... one after 400 ms of quiet is
    for start in range(0, RATE, 160):  # fed in 20 ms blocks, as a sink sees it
        detector.feed(signal[start : start + 160], 10.0 + start / RATE)
    assert detector.onsets == [10.0 + 1000 / RATE, 10.0 + 5000 / RATE]


def test_the_burst_source_notes_when_each_burst_was_captured() -> None:
    source = BurstSource(RATE)
    blocks = [source.read(160) for _ in range(60)]  # 1.2 s: bursts at 0, 0.5 and 1.0 s
    assert len(source.captured) == 3
    heard = OnsetDetector(RATE)
    for index, block in enumerate(blocks):
        heard.feed(block, index * 160 / RATE)
    first_samples = [round(t * RATE) for t in heard.onsets]
    assert first_samples == [0, 4000, 8000]
    for captured, sent in source.captured:
        assert 0 < sent - captured <= 160 / RATE + 1e-9  # captured in the frame before sending


def test_the_lag_of_a_delayed_copy_is_found_and_cut_out() -> None:
    rng = np.random.default_rng(1)
    reference = (rng.normal(0, 3000, RATE)).astype(np.int16)
    heard = np.concatenate((np.zeros(737, dtype=np.int16), reference // 2, np.zeros(99, np.int16)))
    assert lag_of(reference, heard) == 737
    cut = aligned(reference, heard)
    assert len(cut) == len(reference)
    assert np.array_equal(cut, reference // 2)
    short = aligned(reference, heard[: 737 + 100])  # the echo stopped early: padded with zeros
    assert len(short) == len(reference) and not short[200:].any()


def test_the_corpus_is_written_as_wav_files(tmp_path: Path) -> None:
    if not have_espeak():
        unavailable("espeak-ng is not installed (make system)")
    written = write_corpus(tmp_path)
    assert sorted(p.name for p in written) == [
        "speech-16k.wav",
        "speech-8k.wav",
        "tone-1khz-16k.wav",
        "tone-1khz-8k.wav",
    ]
    for path in written:
        with wave.open(str(path)) as wav:
            rate = 16000 if "16k" in path.name else 8000
            assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (rate, 1, 2)
            samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
            seconds = len(samples) / rate
            assert (seconds > 8) if path.name.startswith("speech") else (seconds == 2)
            assert np.abs(samples).max() > 3000
