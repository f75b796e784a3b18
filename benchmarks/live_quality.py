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

Asterisk's own jitter buffer, side by side: a second PBX instance with
``jitterbuffer = yes`` (chan_iax2's adaptive jitterbuf, maxjitterbuffer
200 ms) gets the same jittered speech on the way *in*, de-jitters it
before Echo(), and returns it over a clean path.  "Heard after" is the
cross-correlation lag between the speech sent and the echo heard: the
whole round trip, both buffers included (in the Asterisk case the phone's
buffer still plays the clean echo, about 10-30 ms).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from benchmarks import quality
from benchmarks.asterisk_client import PROJECT, ClientError, free_port, run_pbx
from benchmarks.netsim import DelayModel, GilbertElliott, Impairment, Relay
from benchmarks.results import PBX, Result
from iaxphone.aio.audio import CallAudio
from iaxphone.aio.client import CallHandle, IaxClient
from iaxphone.media.codecs import CodecUnavailableError, make_decoder
from iaxphone.media.session import MediaSession
from iaxphone.media.virtual import ArraySource, MemorySink, SilenceSource
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
ASTERISK = "Jitter buffers live: iaxphone's vs Asterisk's own (chan_iax2 jitterbuffer = yes)"
PCM = npt.NDArray[np.int16]


def conditions() -> dict[str, Impairment]:
    base = DelayModel("constant", BASE_DELAY_MS)
    out = {"clean": Impairment(delay=base)}
    out |= {f"{p} % random loss": Impairment(loss=p / 100, delay=base) for p in (1, 3, 5, 10)}
    out["~5 % bursty loss"] = Impairment(burst=GilbertElliott.for_average(0.05, 3.0), delay=base)
    for jitter in (20, 40, 60):
        out[f"jitter {jitter} ms"] = Impairment(delay=DelayModel("uniform", BASE_DELAY_MS, jitter))
    return out


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


def lag_of(reference: PCM, heard: PCM) -> int:
    """Where ``reference`` starts in ``heard``, in samples (FFT cross-correlation)."""
    n = len(reference) + len(heard)
    size = 1 << (n - 1).bit_length()
    spectrum = np.fft.rfft(heard.astype(np.float64), size) * np.conj(
        np.fft.rfft(reference.astype(np.float64), size)
    )
    correlation = np.fft.irfft(spectrum, size)[: len(heard)]
    return int(np.argmax(correlation))


def aligned(reference: PCM, heard: PCM) -> PCM:
    """The stretch of ``heard`` that lines up best with ``reference``."""
    lag = lag_of(reference, heard)
    out = heard[lag : lag + len(reference)]
    return np.concatenate((out, np.zeros(len(reference) - len(out), dtype=np.int16)))


@dataclass
class Heard:
    pesq: float
    pesq_zero_fill: float
    mean_delay_ms: float
    late_percent: float
    lost_percent: float
    heard_after_ms: float  # the echo's delay: from speaking into the phone to hearing it back


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
            1000 * lag_of(reference, self.concealed) / self.rate,
        )


async def one_call(
    client: IaxClient,
    fmt: int,
    reference: PCM,
    impairment: Impairment,
    seed: int,
    pbx: tuple[str, int] = PBX,
    impair_way_in: bool = False,
) -> Recording:
    """One echo call; the relay impairs the way back (or, ``impair_way_in``, the way in)."""
    rate = make_decoder(fmt, frame_ms=FRAME_MS).sample_rate
    up, down = (impairment, None) if impair_way_in else (None, impairment)
    async with Relay(pbx, up=up, down=down, seed=seed) as relay:
        options = CallOptions(
            "600", "6001", "iax6001secret", caller_number="6001", encryption="off"
        )
        call = await client.dial(relay.address, options)
        await call.wait_answered(timeout=15)
        audio = TwoWayPlayout(call, ArraySource(reference, rate), FRAME_MS)
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
        # The clean call alone (it is the one compared to the baseline within 0.05),
        # then the impaired ones a few at a time.
        starts = [0, *range(1, len(named), AT_ONCE)]
        for first, end in zip(starts, [*starts[1:], len(named)], strict=True):
            batch = named[first:end]
            recordings += await asyncio.gather(
                *(
                    one_call(client, fmt, reference, imp, seed)
                    for seed, (_name, imp) in enumerate(batch, first + 1)
                )
            )
    return {name: r.score(reference) for (name, _), r in zip(named, recordings, strict=True)}


@contextlib.contextmanager
def pbx_with_its_jitter_buffer() -> Iterator[tuple[str, int]]:
    """A second bundled PBX, its chan_iax2 jitter buffer on (``jitterbuffer = yes``)."""
    with tempfile.TemporaryDirectory() as tmp:
        conf = Path(tmp) / "asterisk-conf"
        shutil.copytree(PROJECT / "asterisk-conf", conf)
        iax = conf / "iax.conf"
        text = iax.read_text()
        if "\njitterbuffer = no\n" not in text:
            raise RuntimeError("asterisk-conf/iax.conf no longer says 'jitterbuffer = no'")
        iax.write_text(text.replace("\njitterbuffer = no\n", "\njitterbuffer = yes\n"))
        port = free_port(socket.SOCK_DGRAM)
        env = {
            "IAXPHONE_PBX_INSTANCE": "asteriskjb",
            "IAXPHONE_PBX_CONF": str(conf),
            "IAXPHONE_PBX_IAX_PORT": str(port),
            "IAXPHONE_PBX_AMI_PORT": str(free_port(socket.SOCK_STREAM)),
            "IAXPHONE_PBX_AMI_TLS_PORT": str(free_port(socket.SOCK_STREAM)),
        }
        run_pbx("up", env)
        try:
            yield ("127.0.0.1", port)
        finally:
            with contextlib.suppress(Exception):
                run_pbx("down", env)


JITTERS_MS = (20, 40, 60)


async def asterisk_buffer(pbx: tuple[str, int]) -> dict[int, Heard]:
    """u-law speech jittered on its way to a PBX that de-jitters it before Echo()."""
    reference = quality.reference(8000)
    config = EndpointConfig(formats=[Format.ULAW], ping_interval=30.0)
    async with IaxClient(("127.0.0.1", 0), config) as client:
        recordings = await asyncio.gather(
            *(
                one_call(
                    client,
                    Format.ULAW,
                    reference,
                    Impairment(delay=DelayModel("uniform", BASE_DELAY_MS, jitter)),
                    seed,
                    pbx=pbx,
                    impair_way_in=True,
                )
                for seed, jitter in enumerate(JITTERS_MS, 7)
            )
        )
    return {j: r.score(reference) for j, r in zip(JITTERS_MS, recordings, strict=True)}


def run() -> list[Result]:
    _, baselines = quality.baseline()
    results: list[Result] = []
    ours: dict[int, Heard] = {}
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
            if name == "ulaw" and condition.startswith("jitter"):
                ours[int(condition.split()[1])] = h
    try:
        with pbx_with_its_jitter_buffer() as pbx:
            theirs = asyncio.run(asterisk_buffer(pbx))
    except (ClientError, RuntimeError, OSError) as exc:
        results.append(Result(ASTERISK, f"not measured: {exc}", 0.0, ""))
        return results
    for jitter, h in theirs.items():
        mine = ours.get(jitter)
        results.append(
            Result(ASTERISK, f"jitter {jitter} ms: Asterisk's jitterbuf, PESQ", h.pesq, "MOS-LQO")
        )
        results.append(
            Result(
                ASTERISK,
                f"jitter {jitter} ms: Asterisk's, echo heard after",
                h.heard_after_ms,
                "ms",
            )
        )
        if mine is not None:
            results.append(
                Result(
                    ASTERISK, f"jitter {jitter} ms: iaxphone's buffer, PESQ", mine.pesq, "MOS-LQO"
                )
            )
            results.append(
                Result(
                    ASTERISK,
                    f"jitter {jitter} ms: iaxphone's, echo heard after",
                    mine.heard_after_ms,
                    "ms",
                )
            )
    return results


NOTE = (
    f"Each codec: one call per condition from one process to the echo test (600), the clean "
    f"one alone and the others {AT_ONCE} at a time, each through its own seeded relay "
    "impairing only the way back. Both playouts "
    "(with and without concealment) are the phone's MediaSession fed the same arriving "
    "packets. Baseline: codec-only PESQ from the table above. G.729 echo works because "
    "Echo() returns frames in the format they came in (no transcoding). The second table "
    "runs a second PBX instance with chan_iax2's jitter buffer on and jitters the way in "
    "instead; 'heard after' is the lag between the speech sent and the echo heard."
)


if __name__ == "__main__":
    for result in run():
        print(result.row())
