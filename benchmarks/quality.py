"""Speech quality (PESQ) through codecs, loss and jitter: offline replays, no PBX needed.

Method
------
Speech is made with espeak-ng (``tests/speech.py``): three sentences in a
male and then a female voice, with pauses, about 15 s; ``write_corpus``
also leaves it (and a 1 kHz tone) as 8 and 16 kHz WAVs in benchmarks/out/.
For each codec it is encoded in 20 ms frames and decoded again (the
*baseline*; PESQ narrowband at 8 kHz, wideband at 16 kHz for G.722 and Opus).

For G.711 u-law the frames are then sent every 20 ms through an offline
:class:`~benchmarks.netsim.TraceModel` (random loss, Gilbert-Elliott bursty
loss, uniform jitter on a 20 ms base delay) and played out by a simulated
clock ticking every 20 ms, with:

* ``iaxphone``: the phone's own receive path, a
  :class:`~iaxphone.media.session.MediaSession` (its JitterBuffer, the
  decoder and :class:`~iaxphone.media.plc.PitchConcealer`, which
  interpolates when the frame after a gap is already buffered);
* ``zero-fill``: the same session with concealment off (silence);
* ``fixed N ms``: a frame plays N ms after the first frame's transit
  (send time + that transit + N ms: all a real fixed buffer can know) if it
  has arrived, otherwise it is concealed (same concealer, interpolating
  when the next frame is already there);
* ``aiortc``: ``aiortc.jitterbuffer.JitterBuffer`` as aiortc's receiver
  uses it for audio (capacity 16, prefetch 4, and a prefetch sweep); frames
  it releases queue for the 20 ms playout clock, which conceals (same
  concealer) when the queue is empty.  aiortc passes gaps on silently.

The output is whatever the playout produced, in order, from the first
frame played.  Buffer delay is playout time minus send time minus the
fastest one-way delay of the trace, averaged over frames played; late loss
is frames that arrived after their playout time, as a share of frames sent
(iaxphone's own count); "discarded" is frames that came in time but that
iaxphone's buffer skipped to shrink its delay.  The fixed buffer knows the
trace's true fastest path (an advantage no real receiver has).  Each
network scenario is averaged over several seeds.  50 frames of silence
follow the speech so every buffer drains.
"""

from __future__ import annotations

import statistics
import wave
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import numpy.typing as npt
from pesq import pesq

from benchmarks.netsim import Arrival, DelayModel, GilbertElliott, Impairment, TraceModel
from benchmarks.results import Result
from iaxphone.media.codecs import CodecUnavailableError, make_decoder, make_encoder
from iaxphone.media.plc import PitchConcealer
from iaxphone.media.session import MediaSession
from iaxphone.media.virtual import MemorySink, SilenceSource
from iaxphone.wire.constants import Format
from tests.speech import speech

try:  # optional, for comparison only: pip install aiortc
    from aiortc.jitterbuffer import JitterBuffer as AiortcBuffer
    from aiortc.rtp import RtpPacket
except ImportError:
    AiortcBuffer = None  # type: ignore[assignment,misc]

PCM = npt.NDArray[np.int16]
FRAME_MS = 20
SEEDS = (1, 2, 3, 4, 5)
TAIL_FRAMES = 50
BASE_DELAY_MS = 20.0
CLOCK_PHASE_S = 0.0037  # the playout clock is not in step with the sender's
FIXED_DELAYS_MS = (20, 30, 40, 50, 60, 80, 100)
AIORTC_PREFETCH = (1, 2, 3, 4, 6)
BASELINE_CODECS = (
    ("ulaw", Format.ULAW, 8000, "nb"),
    ("alaw", Format.ALAW, 8000, "nb"),
    ("gsm", Format.GSM, 8000, "nb"),
    ("g729", Format.G729, 8000, "nb"),
    ("g722", Format.G722, 16000, "wb"),
    ("opus", Format.OPUS, 16000, "wb"),
)

VOICES = ("en", "en+f3")  # espeak-ng's default (male) English voice and a female variant
CORPUS = (
    "The quick brown fox jumps over the lazy dog.",
    "Please call the reception desk when you arrive at the office.",
    "Our lines are open from nine until half past five, Monday to Friday.",
)
CORPUS_DIR = Path(__file__).parent / "out"  # git ignores it

BASELINE = "Speech quality: codec only (PESQ, espeak-ng speech)"
LOSS = "Speech quality: G.711 u-law under loss (PESQ, offline replay)"
JITTER = "Speech quality: G.711 u-law under jitter (PESQ, offline replay)"


def reference(rate: int) -> PCM:
    """The corpus sentences in a male then a female voice, with pauses, whole frames long."""
    gap = np.zeros(rate * 3 // 10, dtype=np.int16)
    parts = []
    for voice in VOICES:
        parts += [speech(rate, voice, CORPUS), gap]
    signal = np.concatenate(parts)
    spf = rate * FRAME_MS // 1000
    pad = -len(signal) % spf
    return np.concatenate((signal, np.zeros(pad, dtype=np.int16)))


def write_corpus(folder: Path = CORPUS_DIR) -> list[Path]:
    """The corpus as WAV files at 8 and 16 kHz, plus a 1 kHz tone: made here, nothing fetched."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for rate in (8000, 16000):
        t = np.arange(rate * 2) / rate
        tone = np.rint(0.25 * 32767 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
        for name, samples in (("speech", reference(rate)), ("tone-1khz", tone)):
            path = folder / f"{name}-{rate // 1000}k.wav"
            with wave.open(str(path), "wb") as wav:
                wav.setnchannels(1)
                wav.setsampwidth(2)
                wav.setframerate(rate)
                wav.writeframes(samples.astype("<i2").tobytes())
            written.append(path)
    return written


def score(rate: int, mode: str, ref: PCM, out: PCM) -> float:
    n = len(ref)
    out = out[:n] if len(out) >= n else np.concatenate((out, np.zeros(n - len(out), np.int16)))
    return float(pesq(rate, ref.astype(np.float32), out.astype(np.float32), mode))


def encode(fmt: Format, ref: PCM, rate: int) -> list[bytes]:
    encoder = make_encoder(fmt, frame_ms=FRAME_MS)
    spf = rate * FRAME_MS // 1000
    return [encoder.encode(ref[i : i + spf]) for i in range(0, len(ref), spf)]


def baseline() -> tuple[list[Result], dict[str, float]]:
    results, scores = [], {}
    for name, fmt, rate, mode in BASELINE_CODECS:
        try:
            decoder = make_decoder(fmt, frame_ms=FRAME_MS)
            ref = reference(rate)
            payloads = encode(fmt, ref, rate)
        except CodecUnavailableError:
            continue
        out = np.concatenate([decoder.decode(p) for p in payloads])
        scores[name] = score(rate, mode, ref, out)
        results.append(Result(BASELINE, f"{name} ({mode}, {rate} Hz)", scores[name], "MOS-LQO"))
    return results, scores


# --------------------------------------------------------------------------- playout


@dataclass
class Outcome:
    pesq: float
    delay_ms: float  # mean buffer delay of frames played
    late: float  # share of frames sent that arrived too late to play
    discarded: float = 0.0  # share arrived in time but dropped by the buffer (skips to shrink)


class Replay:
    """One network trace of the u-law speech frames, played out by several buffers."""

    def __init__(self, impairment: Impairment, seed: int) -> None:
        self.rate = 8000
        self.spf = self.rate * FRAME_MS // 1000
        self.ref = reference(self.rate)
        self.frames = len(self.ref) // self.spf
        silence = np.zeros(self.spf, dtype=np.int16)
        self.payloads = encode(Format.ULAW, self.ref, self.rate)
        self.payloads += encode(Format.ULAW, np.tile(silence, TAIL_FRAMES), self.rate)
        sends = [k * FRAME_MS / 1000 for k in range(len(self.payloads))]
        self.arrivals: list[Arrival] = TraceModel(impairment, seed).arrivals(sends)
        self.first_arrival: dict[int, float] = {}
        for a in self.arrivals:
            self.first_arrival.setdefault(a.index, a.arrival_s)
        self.fastest = min(a.arrival_s - a.send_s for a in self.arrivals)
        self.ticks = [
            CLOCK_PHASE_S + n * FRAME_MS / 1000 for n in range(len(self.payloads) + 2 * TAIL_FRAMES)
        ]

    def spread_p95_ms(self) -> float:
        spread = sorted(
            (t - k * FRAME_MS / 1000 - self.fastest) * 1000 for k, t in self.first_arrival.items()
        )
        return spread[int(0.95 * (len(spread) - 1))]

    def _outcome(
        self, out: list[PCM], played: dict[int, float], late_count: int | None = None
    ) -> Outcome:
        speech_played = {k: d for k, d in played.items() if k < self.frames}
        arrived = sum(1 for k in self.first_arrival if k < self.frames)
        unplayed = arrived - len(speech_played)
        if late_count is None:
            late_count = unplayed
        late = late_count / self.frames
        discarded = max(0, unplayed - late_count) / self.frames
        signal = np.concatenate(out) if out else np.zeros(0, np.int16)
        delay = statistics.mean(speech_played.values()) if speech_played else 0.0
        return Outcome(score(self.rate, "nb", self.ref, signal), delay, late, discarded)

    def _delay_ms(self, index: int, now: float) -> float:
        return (now - index * FRAME_MS / 1000 - self.fastest) * 1000

    def iaxphone(self, conceal: bool = True) -> Outcome:
        """iaxphone's own receive path: a MediaSession (jitter buffer, decoder, PLC)."""
        sink = MemorySink(self.rate)
        session = MediaSession(
            Format.ULAW, lambda _p, _d: None, SilenceSource(self.rate), sink, conceal=conceal
        )
        jb = session.jitter
        out: list[PCM] = []
        played: dict[int, float] = {}
        pending = deque(self.arrivals)
        for now in self.ticks:
            while pending and pending[0].arrival_s <= now:
                a = pending.popleft()
                session.on_audio(a.index * FRAME_MS, self.payloads[a.index], a.arrival_s)
            before = jb.stats.played
            session.tick(now)
            if jb.stats.played > before and jb.next_ts is not None:
                index = jb.next_ts // FRAME_MS - 1  # the frame just played
                played[index] = self._delay_ms(index, now)
            if out or jb.started:  # from the first frame played on
                out.append(sink.chunks[-1])
        return self._outcome(out, played, jb.stats.late)

    def fixed(self, delay_ms: float, oracle: bool = False) -> Outcome:
        """A fixed-delay buffer; ``oracle``: it knows the trace's fastest path."""
        # A real fixed buffer knows only the first frame's transit, not the fastest path.
        first = min(self.first_arrival)
        anchor = self.first_arrival[first] - first * FRAME_MS / 1000
        if oracle:
            anchor = self.fastest
        decoder = make_decoder(Format.ULAW, frame_ms=FRAME_MS)
        plc = PitchConcealer(self.rate)
        out: list[PCM] = []
        played: dict[int, float] = {}
        for k, payload in enumerate(self.payloads):
            due = k * FRAME_MS / 1000 + anchor + delay_ms / 1000
            arrival = self.first_arrival.get(k)
            if arrival is not None and arrival <= due:
                played[k] = self._delay_ms(k, due)
                out.append(plc.good(decoder.decode(payload)))
                continue
            following = None
            if k + 1 < len(self.payloads):
                after = self.first_arrival.get(k + 1)
                if after is not None and after <= due:
                    following = decoder.decode(self.payloads[k + 1])
            out.append(plc.conceal(self.spf, following))
        return self._outcome(out, played)

    def aiortc(self, prefetch: int = 4) -> Outcome:
        jb = AiortcBuffer(capacity=16, prefetch=prefetch)
        decoder = make_decoder(Format.ULAW, frame_ms=FRAME_MS)
        plc = PitchConcealer(self.rate)
        queue: deque[tuple[int, bytes]] = deque()
        out: list[PCM] = []
        played: dict[int, float] = {}
        pending = deque(self.arrivals)
        for now in self.ticks:
            while pending and pending[0].arrival_s <= now:
                a = pending.popleft()
                payload = self.payloads[a.index]
                packet = RtpPacket(
                    payload_type=0,
                    sequence_number=a.index & 0xFFFF,
                    timestamp=a.index * self.spf,
                    payload=payload,
                )
                packet._data = payload  # type: ignore[attr-defined]  # as aiortc's receiver does
                _, frame = jb.add(packet)
                if frame is not None:
                    queue.append((frame.timestamp // self.spf, frame.data))
            if queue:
                index, data = queue.popleft()
                played[index] = self._delay_ms(index, now)
                out.append(plc.good(decoder.decode(data)))
            elif out:
                following = decoder.decode(queue[0][1]) if queue else None
                out.append(plc.conceal(self.spf, following))
        return self._outcome(out, played)


def have_aiortc() -> bool:
    return AiortcBuffer is not None


def averaged(
    impairment: Impairment, method: Callable[[Replay], Outcome], seeds: Sequence[int] = SEEDS
) -> Outcome:
    outcomes = [method(Replay(impairment, seed)) for seed in seeds]
    return Outcome(
        statistics.mean(o.pesq for o in outcomes),
        statistics.mean(o.delay_ms for o in outcomes),
        statistics.mean(o.late for o in outcomes),
        statistics.mean(o.discarded for o in outcomes),
    )


def loss_scenarios() -> dict[str, Impairment]:
    base = DelayModel("constant", BASE_DELAY_MS)
    scenarios = {f"{pct} % random": Impairment(loss=pct / 100, delay=base) for pct in (1, 3, 5, 10)}
    bursty = GilbertElliott.for_average(0.05, 3.0)
    scenarios["~5 % bursty (Gilbert-Elliott, mean burst 3)"] = Impairment(burst=bursty, delay=base)
    return scenarios


# --------------------------------------------------------------------------- run


TABLE: list[str] = []  # a markdown table of every figure, for the RESULTS notes


def _row(scenario: str, method: str, o: Outcome) -> None:
    late, discarded = 100 * o.late, 100 * o.discarded
    TABLE.append(
        f"| {scenario} | {method} | {o.pesq:.2f} | {o.delay_ms:.0f} ms | {late:.1f} % "
        f"| {discarded:.1f} % |"
    )


def run() -> list[Result]:
    TABLE.clear()
    TABLE.extend(
        [
            "| network | playout | PESQ | mean buffer delay | late loss | discarded |",
            "|---|---|---|---|---|---|",
        ]
    )
    write_corpus()
    results, scores = baseline()
    ulaw = scores.get("ulaw")
    aiortc = have_aiortc()
    if ulaw is None:
        return results

    for name, imp in loss_scenarios().items():
        plc = averaged(imp, Replay.iaxphone)
        zero = averaged(imp, partial(Replay.iaxphone, conceal=False))
        _row(name, "iaxphone + PLC", plc)
        _row(name, "iaxphone, zero-fill", zero)
        results.append(Result(LOSS, f"{name}: iaxphone + PLC", plc.pesq, "MOS-LQO"))
        results.append(Result(LOSS, f"{name}: zero-fill", zero.pesq, "MOS-LQO"))
        if name == "5 % random":
            drop = ulaw - plc.pesq
            gain = plc.pesq - zero.pesq
            results.append(Result(LOSS, f"{name}: baseline - PLC", drop, "", "<= 0.6", drop <= 0.6))
            results.append(
                Result(LOSS, f"{name}: PLC - zero-fill", gain, "", ">= 0.5", gain >= 0.5)
            )
        if name == "10 % random":
            gain = plc.pesq - zero.pesq
            results.append(
                Result(LOSS, f"{name}: PLC - zero-fill", gain, "", ">= 0.4", gain >= 0.4)
            )

    for jitter in (20, 40, 60):
        name = f"jitter {jitter} ms (uniform)"
        imp = Impairment(delay=DelayModel("uniform", BASE_DELAY_MS, jitter))
        spread = statistics.mean(Replay(imp, s).spread_p95_ms() for s in SEEDS)
        plc = averaged(imp, Replay.iaxphone)
        zero = averaged(imp, partial(Replay.iaxphone, conceal=False))
        _row(name, "iaxphone + PLC", plc)
        _row(name, "iaxphone, zero-fill", zero)
        fixed = {d: averaged(imp, partial(Replay.fixed, delay_ms=d)) for d in FIXED_DELAYS_MS}
        for d, o in fixed.items():
            _row(name, f"fixed {d} ms + PLC", o)
        equal = round(plc.delay_ms)
        oracle = averaged(imp, partial(Replay.fixed, delay_ms=equal, oracle=True))
        _row(
            name,
            f"oracle fixed {equal} ms + PLC (iaxphone's delay, knows the fastest path)",
            oracle,
        )
        ai: dict[int, Outcome] = {}
        if aiortc:
            ai = {p: averaged(imp, partial(Replay.aiortc, prefetch=p)) for p in AIORTC_PREFETCH}
            for p, o in ai.items():
                _row(name, f"aiortc prefetch {p}" + (" (its default)" if p == 4 else ""), o)
        results += [
            Result(JITTER, f"{name}: iaxphone + PLC", plc.pesq, "MOS-LQO"),
            Result(JITTER, f"{name}: iaxphone mean buffer delay", plc.delay_ms, "ms"),
            Result(JITTER, f"{name}: iaxphone late loss", 100 * plc.late, "%"),
            Result(JITTER, f"{name}: oracle fixed {equal} ms + PLC", oracle.pesq, "MOS-LQO"),
        ]
        if aiortc:
            results.append(Result(JITTER, f"{name}: aiortc (prefetch 4)", ai[4].pesq, "MOS-LQO"))
            results.append(Result(JITTER, f"{name}: aiortc mean delay", ai[4].delay_ms, "ms"))
        if jitter != 40:
            continue
        results.append(
            Result(JITTER, f"{name}: late loss", 100 * plc.late, "%", "<= 1 %", plc.late <= 0.01)
        )
        limit = spread + 20
        results.append(
            Result(
                JITTER,
                f"{name}: mean buffer delay (p95 spread {spread:.0f} ms)",
                plc.delay_ms,
                "ms",
                f"<= {limit:.0f} ms",
                plc.delay_ms <= limit,
            )
        )
        # A fixed buffer's delay depends on the first frame's luck: take the N nearest in delay.
        n = min(fixed, key=lambda d: abs(fixed[d].delay_ms - plc.delay_ms))
        margin = plc.pesq - fixed[n].pesq
        metric = f"{name}: PESQ - fixed {n} ms ({fixed[n].delay_ms:.0f} ms)"
        results.append(Result(JITTER, metric, margin, "", "> 0", margin > 0))
        if aiortc:
            # aiortc's delay is not a setting: compare with the prefetch nearest in delay.
            p = min(ai, key=lambda p: abs(ai[p].delay_ms - plc.delay_ms))
            margin = plc.pesq - ai[p].pesq
            metric = f"{name}: PESQ - aiortc prefetch {p} ({ai[p].delay_ms:.0f} ms)"
            results.append(Result(JITTER, metric, margin, "", "> 0", margin > 0))
        else:
            results.append(
                Result(JITTER, f"{name}: vs aiortc (not installed, skipped)", 0.0, "", "> 0")
            )
    return results


if __name__ == "__main__":
    for result in run():
        print(result.row())
    print("\n".join(TABLE))


def notes() -> dict[str, str]:
    """RESULTS.md notes for the quality sections (the full table goes under jitter)."""
    aiortc = (
        "aiortc's `JitterBuffer` is used as its audio receiver does (capacity 16, prefetch 4, "
        "and a prefetch sweep); frames it releases queue for the 20 ms playout clock."
        if have_aiortc()
        else "aiortc could not be imported (`pip install aiortc`), so its buffer was skipped."
    )
    return {
        BASELINE: (
            "Speech is espeak-ng's (synthetic, made on the spot): three sentences in a male and "
            "then a female voice, about 15 s (benchmarks/out/ keeps the WAVs), encoded and "
            "decoded in 20 ms frames. PESQ (ITU-T P.862, "
            "the `pesq` package) narrowband at 8 kHz, wideband at 16 kHz (G.722, Opus); "
            "absolute scores on synthetic speech run lower than on recorded speech."
        ),
        LOSS: (
            "Frames are sent every 20 ms through `benchmarks.netsim.TraceModel` (20 ms base "
            "delay, random or Gilbert-Elliott loss), averaged over seeds "
            f"{', '.join(map(str, SEEDS))}, and played out by a simulated clock ticking every "
            "20 ms through the phone's own MediaSession (jitter buffer, G.711 decoder, "
            "PitchConcealer interpolating when the next frame is here), or the same with "
            "concealment off (zero-fill). Baseline is the codec-only u-law score above."
        ),
        JITTER: (
            "Uniform jitter 0..N ms on a 20 ms base delay. Buffer delay is playout time minus "
            "send time minus the trace's fastest path, over frames played. Late loss counts "
            "frames that arrived after their playout time; 'discarded' counts frames iaxphone "
            "skipped to shrink its delay. The fixed buffer plays frame k at its send time + "
            "first frame's transit + N ms (what a real fixed buffer knows) and "
            "conceals with the same PitchConcealer. " + aiortc + "\n\n" + "\n".join(TABLE)
        ),
    }
