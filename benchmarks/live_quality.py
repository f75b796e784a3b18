"""Speech quality live: iaxphone -> impairing relay -> the bundled PBX's echo test -> back.

Method
------
For each codec, one call per network condition, all at once: the phone
dials the echo test (600) through its own :class:`~benchmarks.netsim.Relay`,
which impairs only the way back (PBX -> phone), so each echoed frame
crosses the impairment once.  The phone sends the espeak-ng reference
(``benchmarks.quality.reference``) in real time through its own media
session and plays what comes back through its jitter buffer twice, from
the same arriving packets: once with concealment (the phone as shipped)
and once with concealment off (silence for missing frames).  The heard
signal is aligned to the reference by cross-correlation and scored with
PESQ (narrowband at 8 kHz, wideband at 16 kHz), next to the codec-only
baseline (encode + decode, no network) from ``benchmarks.quality``.

Conditions: clean, random loss 1/3/5/10 %, Gilbert-Elliott bursty loss
(~5 %, mean burst 3), and uniform jitter 20/40/60 ms, all on a 20 ms base
delay.  Each row also gives the jitter buffer's mean delay and late loss.
The echo test's PBX turns frames round without de-jittering
(``jitterbuffer = no``), so the impairment reaches the phone as made.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from benchmarks import quality
from benchmarks.netsim import DelayModel, GilbertElliott, Impairment, Relay
from benchmarks.results import PBX, Result
from iaxphone.aio.audio import CallAudio
from iaxphone.aio.client import CallHandle, IaxClient
from iaxphone.media.codecs import CodecUnavailableError, make_decoder
from iaxphone.media.session import MediaSession
from iaxphone.media.virtual import MemorySink, Samples, SilenceSource
from iaxphone.proto.call import CallOptions
from iaxphone.proto.endpoint import EndpointConfig
from iaxphone.wire.constants import Format

FRAME_MS = 20
TAIL_S = 1.5  # keep listening after the speech ends, for the echo to drain
BASE_DELAY_MS = 20.0
# Calls at once.  Relays and phones share one event loop: with nine calls its
# lag reached tens of ms and showed up as network jitter no phone would see.
AT_ONCE = 3
CODECS = (
    ("ulaw", Format.ULAW, "nb"),
    ("alaw", Format.ALAW, "nb"),
    ("gsm", Format.GSM, "nb"),
    ("g729", Format.G729, "nb"),
    ("g722", Format.G722, "wb"),
    ("opus", Format.OPUS, "wb"),
)
SCENARIO = "Speech quality live: iaxphone through an impairing relay and the PBX's echo test"
PCM = npt.NDArray[np.int16]


def conditions() -> dict[str, Impairment]:
    base = DelayModel("constant", BASE_DELAY_MS)
    out = {"clean": Impairment(delay=base)}
    out |= {f"{p} % random loss": Impairment(loss=p / 100, delay=base) for p in (1, 3, 5, 10)}
    out["~5 % bursty loss"] = Impairment(burst=GilbertElliott.for_average(0.05, 3.0), delay=base)
    for jitter in (20, 40, 60):
        out[f"jitter {jitter} ms"] = Impairment(delay=DelayModel("uniform", BASE_DELAY_MS, jitter))
    return out


class ArraySource:
    """Plays an array once, then silence."""

    def __init__(self, samples: PCM) -> None:
        self.samples = samples
        self.position = 0

    def read(self, count: int) -> Samples:
        chunk = self.samples[self.position : self.position + count]
        self.position += count
        if len(chunk) < count:
            chunk = np.concatenate((chunk, np.zeros(count - len(chunk), dtype=np.int16)))
        return chunk


class TwoWayPlayout(CallAudio):
    """The phone's CallAudio, plus a second playout of the same packets without concealment."""

    def __init__(self, call: CallHandle, source: ArraySource, frame_ms: int) -> None:
        self.heard = MemorySink(0)
        super().__init__(call, source, self.heard, frame_ms=frame_ms)
        rate = self.session.rate
        self.heard.rate = rate
        self.heard_zero_fill = MemorySink(rate)
        self.zero_fill = MediaSession(
            call.format,
            lambda _payload, _ms: None,
            SilenceSource(rate),
            self.heard_zero_fill,
            frame_ms=frame_ms,
            conceal=False,
        )

    def on_audio(self, timestamp: int, payload: bytes, arrival: float) -> None:
        super().on_audio(timestamp, payload, arrival)
        self.zero_fill.on_audio(timestamp, payload, arrival)

    def _tick(self, now: float) -> None:
        super()._tick(now)
        self.zero_fill.tick(now)


def aligned(reference: PCM, heard: PCM) -> PCM:
    """The stretch of ``heard`` that lines up best with ``reference`` (FFT cross-correlation)."""
    n = len(reference) + len(heard)
    size = 1 << (n - 1).bit_length()
    spectrum = np.fft.rfft(heard.astype(np.float64), size) * np.conj(
        np.fft.rfft(reference.astype(np.float64), size)
    )
    correlation = np.fft.irfft(spectrum, size)[: len(heard)]
    lag = int(np.argmax(correlation))
    out = heard[lag : lag + len(reference)]
    return np.concatenate((out, np.zeros(len(reference) - len(out), dtype=np.int16)))


@dataclass
class Heard:
    pesq: float
    pesq_zero_fill: float
    mean_delay_ms: float
    late_percent: float
    lost_percent: float


@dataclass
class Recording:
    """What one call heard, scored once every call has ended (PESQ would stall the others)."""

    rate: int
    concealed: PCM
    zero_filled: PCM
    mean_delay_ms: float
    late: int
    lost: int

    def score(self, reference: PCM) -> Heard:
        mode = "wb" if self.rate == 16000 else "nb"
        frames = len(reference) // (self.rate * FRAME_MS // 1000)
        return Heard(
            quality.score(self.rate, mode, reference, aligned(reference, self.concealed)),
            quality.score(self.rate, mode, reference, aligned(reference, self.zero_filled)),
            self.mean_delay_ms,
            100 * self.late / frames,
            100 * self.lost / frames,
        )


async def one_call(
    client: IaxClient, fmt: int, reference: PCM, impairment: Impairment, seed: int
) -> Recording:
    rate = make_decoder(fmt, frame_ms=FRAME_MS).sample_rate
    async with Relay(PBX, down=impairment, seed=seed) as relay:
        options = CallOptions(
            "600", "6001", "iax6001secret", caller_number="6001", encryption="off"
        )
        call = await client.dial(relay.address, options)
        await call.wait_answered(timeout=15)
        audio = TwoWayPlayout(call, ArraySource(reference), FRAME_MS)
        audio.start()
        await asyncio.sleep(len(reference) / rate + TAIL_S)
        await audio.stop()
        await call.hangup()
    jitter = audio.session.jitter.stats
    return Recording(
        rate,
        audio.heard.samples,
        audio.heard_zero_fill.samples,
        jitter.mean_delay_ms,
        jitter.late,
        jitter.lost,
    )


async def one_codec(fmt: int) -> dict[str, Heard]:
    config = EndpointConfig(formats=[fmt], ping_interval=30.0)
    # Made before any call starts: espeak-ng runs synchronously and would stall the calls.
    reference = quality.reference(make_decoder(fmt, frame_ms=FRAME_MS).sample_rate)
    named = list(conditions().items())
    recordings: list[Recording] = []
    async with IaxClient(("127.0.0.1", 0), config) as client:
        for first in range(0, len(named), AT_ONCE):
            batch = named[first : first + AT_ONCE]
            recordings += await asyncio.gather(
                *(
                    one_call(client, fmt, reference, imp, seed)
                    for seed, (_name, imp) in enumerate(batch, first + 1)
                )
            )
    return {name: r.score(reference) for (name, _), r in zip(named, recordings, strict=True)}


def run() -> list[Result]:
    _, baselines = quality.baseline()
    results: list[Result] = []
    for name, fmt, mode in CODECS:
        try:
            make_decoder(fmt, frame_ms=FRAME_MS)
        except CodecUnavailableError:
            continue
        if name not in baselines:
            continue
        base = baselines[name]
        heard = asyncio.run(one_codec(fmt))
        for condition, h in heard.items():
            label = f"{name} ({mode}), {condition}"
            if condition == "clean":
                drop = base - h.pesq
                results.append(Result(SCENARIO, f"{label}", h.pesq, "MOS-LQO"))
                results.append(
                    Result(
                        SCENARIO,
                        f"{label}: baseline {base:.2f} - live",
                        drop,
                        "",
                        "<= 0.05",
                        drop <= 0.05,
                    )
                )
                continue
            results.append(
                Result(
                    SCENARIO,
                    f"{label}: with / without concealment",
                    h.pesq,
                    f"/ {h.pesq_zero_fill:.2f} MOS-LQO",
                )
            )
            results.append(
                Result(
                    SCENARIO,
                    f"{label}: buffer delay, late, lost",
                    h.mean_delay_ms,
                    f"ms, {h.late_percent:.1f} % late, {h.lost_percent:.1f} % lost",
                )
            )
    return results


NOTE = (
    "Each codec: nine calls at once (one per condition) from one process to the echo test "
    "(600), each through its own seeded relay impairing only the way back. Both playouts "
    "(with and without concealment) are the phone's MediaSession fed the same arriving "
    "packets. Baseline: codec-only PESQ from the table above. G.729 echo works because "
    "Echo() returns frames in the format they came in (no transcoding)."
)


if __name__ == "__main__":
    for result in run():
        print(result.row())
