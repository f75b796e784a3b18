"""Call statistics: RFC 3550 jitter, levels, E-model MOS."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest

from iaxphone.media.jitterbuffer import JitterStats
from iaxphone.media.stats import (
    CallStats,
    Level,
    Loss,
    ReceiveStats,
    level_dbfs,
    mos_estimate,
)
from iaxphone.wire.constants import Format


def test_rfc3550_jitter_is_zero_for_a_steady_stream_and_tracks_spread() -> None:
    steady = ReceiveStats()
    for i in range(500):
        steady.arrived(i * 20, i * 0.020 + 0.030, 160)
    assert steady.jitter_ms == pytest.approx(0.0, abs=1e-6)
    rng = random.Random(5)
    jittery = ReceiveStats()
    for i in range(5000):
        jittery.arrived(i * 20, i * 0.020 + rng.uniform(0, 0.040), 160)
    # Uniform 0-40 ms transit: E|D| = 40/3 ms, to which the estimator converges.
    assert 10.0 < jittery.jitter_ms < 17.0
    assert jittery.packets == 5000 and jittery.bytes == 5000 * 160


def test_levels_in_dbfs() -> None:
    full = np.full(160, 32767, dtype=np.int16)
    peak, rms = level_dbfs(full)
    assert peak == pytest.approx(0.0, abs=0.01) and rms == pytest.approx(0.0, abs=0.01)
    t = np.arange(160) / 8000
    half_sine = (16384 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
    peak, rms = level_dbfs(half_sine)
    assert peak == pytest.approx(-6.02, abs=0.1) and rms == pytest.approx(-9.03, abs=0.2)
    assert level_dbfs(np.zeros(160, dtype=np.int16)) == (-120.0, -120.0)


def test_mos_follows_delay_loss_and_codec() -> None:
    clean = mos_estimate(40, 0.0, Format.ULAW)
    assert 4.3 <= clean <= 4.5
    assert mos_estimate(40, 0.05, Format.ULAW) < clean - 0.5
    assert mos_estimate(400, 0.0, Format.ULAW) < clean - 0.5
    assert mos_estimate(40, 0.0, Format.G729) < clean
    assert mos_estimate(40, 0.0, Format.GSM) < mos_estimate(40, 0.0, Format.G729)
    assert mos_estimate(40, 1.0, Format.ULAW) >= 1.0


def test_snapshot_is_a_frozen_value_of_the_counters() -> None:
    stats = CallStats(codec=Format.ULAW, sent_packets=3, rtt_ms=40.04)
    jitter = JitterStats(played=95, lost=5, target_ms=40.04, delay_ms=41.26)
    snap = stats.snapshot(jitter)
    assert snap.codec == "ulaw" and snap.traffic.packets_sent == 3
    assert snap.loss == Loss(lost=5, percent=5.0)
    assert snap.jitter_buffer.target_ms == 40.0 and snap.jitter_buffer.delay_ms == 41.3
    assert snap.rtt_ms == 40.04 and snap.far_end is None
    assert snap.mos == mos_estimate(20.02 + 0.0 + 20, 0.05, Format.ULAW)
    assert snap.mic == Level() and snap.speaker == Level()  # nothing through yet: -120 dBFS
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.mos = 1.0  # type: ignore[misc]
    stats.sent_packets += 1  # the counters run on; the snapshot does not
    assert snap.traffic.packets_sent == 3 and stats.snapshot(jitter).traffic.packets_sent == 4


def test_no_codec_yet_is_none_not_a_name() -> None:
    assert CallStats().snapshot(JitterStats()).codec is None


def test_levels_over_the_whole_call_outlast_a_silent_end() -> None:
    stats = CallStats(codec=Format.ULAW)
    t = np.arange(160) / 8000.0
    tone = (0.5 * 32767 * np.sin(2 * np.pi * 400 * t)).astype(np.int16)  # -9 dBFS RMS
    for _ in range(120):  # 2.4 s of tone (folded every 50 frames, and the rest when read)
        stats.speaker.show(tone)
    for _ in range(60):  # then the far end hangs up: 1.2 s of silence
        stats.speaker.show(np.zeros(160, dtype=np.int16))
    snap = stats.snapshot(JitterStats())
    assert snap.speaker.rms_dbfs == -120.0  # the last frame: silence
    # The call's RMS: the tone's energy over 2/3 of the samples, 10*log10(2/3) below -9 dB.
    assert snap.speaker.call_rms_dbfs == pytest.approx(-9.03 - 1.76, abs=0.1)
    assert snap.speaker.call_peak_dbfs == pytest.approx(-6.0, abs=0.1)
    assert snap.mic.call_rms_dbfs == -120.0  # nothing went out


def test_round_trips_are_averaged_over_the_call_and_keep_fractions_of_a_ms() -> None:
    stats = CallStats(codec=Format.ULAW)
    assert stats.snapshot(JitterStats()).rtt_mean_ms is None
    for rtt in (0.25, 0.5, 0.15):  # loopback: well under a millisecond
        stats.round_trip(rtt)
    snap = stats.snapshot(JitterStats())
    assert (snap.rtt_ms, snap.rtt_mean_ms, snap.rtt_samples) == (0.15, 0.3, 3)
