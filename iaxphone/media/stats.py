"""Live call statistics: RFC 3550 jitter, loss, levels and an E-model MOS.

Theory of operation
-------------------
:class:`ReceiveStats` sees every voice frame as it arrives (sender
timestamp, arrival time) and keeps the RFC 3550 interarrival jitter,
``J += (|D| - J) / 16`` where ``D`` is the change in relative transit
between consecutive packets, in milliseconds.

:func:`mos_estimate` is the ITU-T G.107 E-model reduced to what a phone
can know: the transmission rating ``R = 93.2 - Id - Ie_eff`` with the delay
impairment ``Id`` from the one-way delay (network + jitter buffer + codec
frame) and the effective equipment impairment ``Ie_eff`` from the codec's
``Ie``/``Bpl`` (G.113 Appendix I) and the packet loss seen after the jitter
buffer; then G.107's R-to-MOS mapping.  Wideband codecs are rated on the
narrowband scale (their benefit is not counted), which keeps the numbers
comparable between calls.

:class:`CallStats` keeps the running counters of one call's media;
:meth:`CallStats.snapshot` freezes them, with the jitter buffer's, into a
:class:`MediaStats` value: what the handset graphs, the command's status
line and the ``--stats`` JSON read (the JSON through
:func:`iaxphone.callrecord.media_fields`, the one place that names its keys).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from iaxphone.wire.constants import Format
from iaxphone.wire.report import ReceiverReport

from .jitterbuffer import JitterStats

# ITU-T G.113 Appendix I: equipment impairment Ie and packet-loss robustness
# Bpl, with packet-loss concealment where the codec has it.
CODEC_IMPAIRMENT: dict[int, tuple[float, float]] = {
    Format.ULAW: (0.0, 25.1),
    Format.ALAW: (0.0, 25.1),
    Format.G722: (0.0, 25.1),
    Format.GSM: (20.0, 10.0),
    Format.G729: (11.0, 19.0),
    Format.OPUS: (0.0, 20.0),
}


def r_to_mos(r: float) -> float:
    if r <= 0:
        return 1.0
    if r >= 100:
        return 4.5
    return 1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6


def mos_estimate(
    one_way_delay_ms: float, loss_fraction: float, codec: int, burst_ratio: float = 1.0
) -> float:
    """E-model MOS (G.107, simplified) for a one-way delay, a loss fraction and a codec."""
    d = max(0.0, one_way_delay_ms)
    delay_impairment = 0.024 * d + (0.11 * (d - 177.3) if d > 177.3 else 0.0)
    ie, bpl = CODEC_IMPAIRMENT.get(codec, (0.0, 25.1))
    ppl = 100.0 * min(max(loss_fraction, 0.0), 1.0)
    ie_eff = ie + (95.0 - ie) * ppl / (ppl / max(burst_ratio, 1e-6) + bpl)
    return round(r_to_mos(93.2 - delay_impairment - ie_eff), 2)


def level_dbfs(samples: npt.NDArray[np.int16]) -> tuple[float, float]:
    """(peak, RMS) level of a block in dBFS; -120 for digital silence."""
    if len(samples) == 0:
        return -120.0, -120.0
    x = samples.astype(np.float32)
    peak = float(np.abs(x).max()) / 32768.0
    rms = math.sqrt(float(np.dot(x, x)) / len(x)) / 32768.0
    return _db(peak), _db(rms)


def _db(value: float) -> float:
    return max(-120.0, 20.0 * math.log10(value)) if value > 0 else -120.0


@dataclass(slots=True)
class ReceiveStats:
    """Arrival-side counters and the RFC 3550 jitter estimate."""

    packets: int = 0
    bytes: int = 0
    jitter_ms: float = 0.0
    _last_transit: float | None = None

    def arrived(self, timestamp_ms: int, arrival: float, size: int) -> None:
        self.packets += 1
        self.bytes += size
        transit = arrival * 1000.0 - timestamp_ms
        if self._last_transit is not None:
            d = abs(transit - self._last_transit)
            self.jitter_ms += (d - self.jitter_ms) / 16.0
        self._last_transit = transit

    def reset_transit(self) -> None:
        """After a timestamp resync the transit jumps; do not count that as jitter."""
        self._last_transit = None


FOLD_FRAMES = 50  # frames kept before they are added to the call's totals (1 s of 20 ms)


class LevelMeter:
    """One direction's level: of the last frame, and over the whole call.

    Frames go by 50 times a second per call and the level is looked at ten
    times a second at most (graphs, status lines), so :meth:`show` only
    keeps the frame; the last frame's peak and RMS are computed on the
    first read after.  For the whole call's level the frames are kept in a
    list and folded into a running sum of squares, sample count and peak
    every :data:`FOLD_FRAMES` frames (one vectorised pass over a second of
    samples, far cheaper than a pass per frame) and when read.
    """

    __slots__ = ("_energy", "_frame", "_levels", "_peak", "_pending", "_samples")

    def __init__(self) -> None:
        self._frame: npt.NDArray[np.int16] | None = None
        self._levels = (-120.0, -120.0)
        self._pending: list[npt.NDArray[np.int16]] = []
        self._energy = 0.0
        self._samples = 0
        self._peak = 0

    def show(self, frame: npt.NDArray[np.int16]) -> None:
        self._frame = frame
        self._pending.append(frame)
        if len(self._pending) >= FOLD_FRAMES:
            self._fold()

    def _fold(self) -> None:
        if not self._pending:
            return
        block = np.concatenate(self._pending)
        self._pending = []
        if block.size:
            x = block.astype(np.float32)
            self._energy += float(np.dot(x, x))
            self._samples += block.size
            self._peak = max(self._peak, int(np.abs(block.astype(np.int32)).max()))

    def _read(self) -> tuple[float, float]:
        if self._frame is not None:
            self._levels = level_dbfs(self._frame)
            self._frame = None
        return self._levels

    @property
    def peak_dbfs(self) -> float:
        return self._read()[0]

    @property
    def rms_dbfs(self) -> float:
        return self._read()[1]

    def call_levels(self) -> tuple[float, float]:
        """(peak, RMS) in dBFS of everything shown so far; -120 for none or silence."""
        self._fold()
        if not self._samples:
            return -120.0, -120.0
        rms = math.sqrt(self._energy / self._samples) / 32768.0
        return _db(self._peak / 32768.0), _db(rms)


@dataclass(frozen=True, slots=True)
class Level:
    """One direction's level: of the last frame (live meters), and over the call so far."""

    peak_dbfs: float = -120.0  # the last frame's
    rms_dbfs: float = -120.0
    call_peak_dbfs: float = -120.0  # the loudest sample since the call started
    call_rms_dbfs: float = -120.0  # the RMS of every sample since the call started


@dataclass(frozen=True, slots=True)
class Traffic:
    packets_sent: int = 0
    bytes_sent: int = 0
    packets_received: int = 0
    bytes_received: int = 0


@dataclass(frozen=True, slots=True)
class Loss:
    """What went missing on the way in, as the jitter buffer saw it."""

    lost: int = 0
    late: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    percent: float = 0.0  # lost / (played + lost)
    concealed_ms: int = 0


@dataclass(frozen=True, slots=True)
class JitterBufferState:
    target_ms: float = 0.0
    delay_ms: float = 0.0  # what it holds back now
    mean_delay_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class VoiceProcessing:
    """The microphone's echo canceller, noise suppressor and gain control (media/voice.py)."""

    echo_cancellation: bool = False
    noise_suppression: bool = False
    gain_control: bool = False
    erle_db: float | None = None  # echo removed; None: no far-end talk lately
    echo_delay_ms: float | None = None  # estimated speaker -> microphone delay
    agc_gain_db: float | None = None
    cpu_us_per_frame: float = 0.0  # mean processing time of one frame


@dataclass(frozen=True, slots=True)
class MediaStats:
    """One call's media at one moment: a frozen snapshot of :class:`CallStats`."""

    codec: str | None = None  # lower-case codec name, None before the codec is known
    traffic: Traffic = Traffic()
    loss: Loss = Loss()
    jitter_ms: float = 0.0  # RFC 3550 interarrival jitter of what we receive
    jitter_buffer: JitterBufferState = JitterBufferState()
    rtt_ms: float | None = None  # the last round trip measured (our PING, the PONG)
    mos: float = 4.5  # E-model estimate, see mos_estimate
    mic: Level = Level()
    speaker: Level = Level()
    far_end: ReceiverReport | None = None  # the far end's view of our stream (PONG)
    voice: VoiceProcessing = VoiceProcessing()
    rtt_mean_ms: float | None = None  # the mean of every round trip of the call
    rtt_samples: int = 0  # how many round trips were measured


@dataclass(slots=True)
class CallStats:
    """The running counters of one call's media; :meth:`snapshot` freezes them."""

    codec: int = 0
    frame_ms: int = 20
    sent_packets: int = 0
    sent_bytes: int = 0
    received: ReceiveStats = field(default_factory=ReceiveStats)
    rtt_ms: float | None = None
    rtt_sum_ms: float = 0.0
    rtt_samples: int = 0
    far_end: ReceiverReport | None = None
    mic: LevelMeter = field(default_factory=LevelMeter)
    speaker: LevelMeter = field(default_factory=LevelMeter)
    concealed_ms: int = 0

    def loss_fraction(self, jitter: JitterStats) -> float:
        expected = jitter.played + jitter.lost
        return jitter.lost / expected if expected else 0.0

    def snapshot(
        self, jitter: JitterStats, voice: VoiceProcessing = VoiceProcessing()
    ) -> MediaStats:
        loss = self.loss_fraction(jitter)
        network_ms = (self.rtt_ms / 2.0) if self.rtt_ms is not None else 0.0
        one_way = network_ms + jitter.mean_delay_ms + self.frame_ms
        name = Format(self.codec).name if self.codec else None
        return MediaStats(
            codec=name.lower() if name else None,
            traffic=Traffic(
                packets_sent=self.sent_packets,
                bytes_sent=self.sent_bytes,
                packets_received=self.received.packets,
                bytes_received=self.received.bytes,
            ),
            loss=Loss(
                lost=jitter.lost,
                late=jitter.late,
                duplicates=jitter.duplicates,
                out_of_order=jitter.out_of_order,
                percent=round(100.0 * loss, 2),
                concealed_ms=self.concealed_ms,
            ),
            jitter_ms=round(self.received.jitter_ms, 2),
            jitter_buffer=JitterBufferState(
                target_ms=round(jitter.target_ms, 1),
                delay_ms=round(jitter.delay_ms, 1),
                mean_delay_ms=round(jitter.mean_delay_ms, 1),
            ),
            rtt_ms=None if self.rtt_ms is None else round(self.rtt_ms, 2),
            mos=mos_estimate(one_way, loss, self.codec),
            mic=_level(self.mic),
            speaker=_level(self.speaker),
            far_end=self.far_end,
            voice=voice,
            rtt_mean_ms=(
                round(self.rtt_sum_ms / self.rtt_samples, 2) if self.rtt_samples else None
            ),
            rtt_samples=self.rtt_samples,
        )

    def round_trip(self, rtt_ms: float) -> None:
        """One measured round trip (PING and its PONG)."""
        self.rtt_ms = rtt_ms
        self.rtt_sum_ms += rtt_ms
        self.rtt_samples += 1


def far_end_counts(report: ReceiverReport) -> bool:
    """Does the far end's receiver report count anything?

    Asterisk fills its receiver report from its own jitter buffer for the
    call; with that buffer off (``jitterbuffer = no``, its default) it has
    counted nothing and sends zeros, with the packet count set to 1 (it
    writes 1 for 0 so that no one divides by zero).  Such a report says
    nothing about what arrived there: None of its figures is to be shown.
    """
    counters = (report.jitter_ms, report.loss_percent, report.lost, report.dropped)
    return report.packets > 1 or any(counters) or report.out_of_order > 0


def _level(meter: LevelMeter) -> Level:
    call_peak, call_rms = meter.call_levels()
    return Level(
        round(meter.peak_dbfs, 1), round(meter.rms_dbfs, 1), round(call_peak, 1), round(call_rms, 1)
    )
