"""Every codec end to end through the bundled Asterisk: a tone goes out and comes back."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from iaxphone.aio.audio import CallAudio
from iaxphone.aio.client import CallFailedError
from iaxphone.media.codecs import CODECS, is_available
from iaxphone.media.stats import MediaStats, far_end_counts
from iaxphone.media.virtual import MemorySink, SilenceSource, ToneSource
from iaxphone.proto.call import CallOptions
from iaxphone.wire.constants import Format
from tests.pbx import Pbx
from tests.phones import call_from, phone
from tests.require import unavailable

pytestmark = pytest.mark.asyncio


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(float) * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def rms_dbfs(samples: np.ndarray) -> float:
    rms = np.sqrt(np.mean((samples.astype(float) / 32768) ** 2))
    return float(20 * np.log10(max(rms, 1e-9)))


async def run_for(seconds: float) -> None:
    await asyncio.sleep(seconds)  # real-time audio: the call has to last this long


@pytest.mark.parametrize(
    "codec",
    [Format.ULAW, Format.ALAW, Format.G722, Format.GSM, Format.OPUS],
    ids=lambda f: CODECS[f].name,
)
async def test_tone_through_the_echo_test(pbx: Pbx, codec: Format) -> None:
    if not is_available(codec):
        unavailable(f"{CODECS[codec].name}: native library missing")
    rate = CODECS[codec].sample_rate
    async with phone(pbx, 6001, formats=[codec]) as client:
        call = await call_from(client, pbx, 6001, "600")
        await call.wait_answered(timeout=5)
        assert call.format == codec
        heard = MemorySink(rate)
        audio = CallAudio(call, ToneSource(1000, rate, level_dbfs=-12), heard).start()
        await run_for(2.0)
        await audio.stop()
        stats = audio.session.snapshot()
        await call.hangup()
    tail = heard.samples[-rate:]  # the last second, long after the jitter buffer filled
    assert dominant_frequency(tail, rate) == pytest.approx(1000, abs=10)
    assert rms_dbfs(tail) == pytest.approx(-15, abs=4)  # a -12 dBFS peak sine is -15 dBFS RMS
    assert stats.traffic.packets_received >= 80 and stats.loss.percent <= 2.0
    assert stats.codec == CODECS[codec].name


async def test_g729_passes_through_asterisk_between_two_phones(pbx: Pbx) -> None:
    if not is_available(Format.G729):
        unavailable("g729: libbcg729 missing")
    async with (
        phone(pbx, 6007, formats=[Format.G729]) as alice,
        phone(pbx, 6008, formats=[Format.G729]) as bob,
    ):
        call = await call_from(alice, pbx, 6007, "6008")
        incoming = await asyncio.wait_for(bob.incoming.get(), 5)
        incoming.answer()
        await call.wait_answered(timeout=5)
        assert call.format == incoming.format == Format.G729
        heard_by_bob = MemorySink(8000)
        alice_audio = CallAudio(
            call, ToneSource(800, 8000, level_dbfs=-12), MemorySink(8000)
        ).start()
        bob_audio = CallAudio(incoming, SilenceSource(8000), heard_by_bob).start()
        await run_for(2.0)
        await alice_audio.stop()
        await bob_audio.stop()
        await call.hangup()
    tail = heard_by_bob.samples[-8000:]
    assert dominant_frequency(tail, 8000) == pytest.approx(800, abs=15)
    assert rms_dbfs(tail) > -25


async def test_statistics_arrive_ten_times_a_second_with_a_peer_report(pbx: Pbx) -> None:
    async with phone(pbx, 6002, formats=[Format.ULAW], ping_interval=0.5) as client:
        call = await call_from(client, pbx, 6002, "600")
        await call.wait_answered(timeout=5)
        snapshots: list[MediaStats] = []
        audio = CallAudio(
            call, ToneSource(500, 8000), MemorySink(8000), on_stats=snapshots.append
        ).start()
        await run_for(1.5)
        await audio.stop()
        await call.hangup()
    assert 12 <= len(snapshots) <= 16  # 1.5 s at 10 per second
    last = snapshots[-1]
    # Our PING, Asterisk's PONG: on loopback a fraction of a millisecond, but never 0.
    assert last.rtt_ms is not None and 0 < last.rtt_ms < 50 and last.rtt_samples >= 1
    assert last.far_end is not None  # Asterisk's receiver report came with the PONG ...
    assert not far_end_counts(last.far_end)  # ... and counted nothing: its jitter buffer is off


@pytest.mark.parametrize(
    "preference",
    [
        [Format.G722, Format.ULAW],
        [Format.ULAW, Format.G722],
        [Format.OPUS, Format.ALAW],
        [Format.GSM, Format.ULAW],
    ],
    ids=lambda p: ",".join(CODECS[f].name for f in p),
)
async def test_the_phones_codec_preference_wins(pbx: Pbx, preference: list[Format]) -> None:
    if not all(is_available(f) for f in preference):
        unavailable("a codec library is missing")
    async with phone(pbx, 6003, formats=list(preference)) as client:
        call = await call_from(client, pbx, 6003, "600")
        await call.wait_answered(timeout=5)
        chosen = call.format
        await call.hangup()
    assert chosen == preference[0]


async def test_an_incoming_call_gets_our_first_preference_the_pbx_allows(pbx: Pbx) -> None:
    async with (
        phone(pbx, 6004, formats=[Format.ALAW, Format.ULAW]) as bob,
        phone(pbx, 6005) as alice,
    ):
        call = await call_from(alice, pbx, 6005, "6004")  # alice offers u-law only
        incoming = await asyncio.wait_for(bob.incoming.get(), 5)
        incoming.answer()
        await call.wait_answered(timeout=5)
        assert incoming.format == Format.ALAW  # Asterisk offered all it allows; we chose
        await call.hangup()


@pytest.mark.parametrize("frame_ms", [10, 30, 60])
async def test_other_frame_sizes_through_the_echo_test(pbx: Pbx, frame_ms: int) -> None:
    async with phone(pbx, 6009, formats=[Format.ULAW]) as client:
        call = await call_from(client, pbx, 6009, "600")
        await call.wait_answered(timeout=5)
        heard = MemorySink(8000)
        audio = CallAudio(call, ToneSource(1200, 8000), heard, frame_ms=frame_ms).start()
        await run_for(2.0)
        await audio.stop()
        stats = audio.session.snapshot()
        await call.hangup()
    assert stats.traffic.bytes_sent == stats.traffic.packets_sent * 8 * frame_ms  # 8 bytes per ms
    tail = heard.samples[-8000:]
    assert dominant_frequency(tail, 8000) == pytest.approx(1200, abs=10)
    assert stats.loss.percent <= 3.0


async def test_encrypted_call_to_a_forceencryption_peer_carries_audio(pbx: Pbx) -> None:
    async with phone(pbx, 6001, formats=[Format.ULAW], register=False) as client:
        options = CallOptions(
            "600", "6090", "iax6090secret", caller_number="6090", encryption="required"
        )
        call = await client.dial((pbx.host, pbx.iax_port), options)
        await call.wait_answered(timeout=5)
        assert call.encrypted
        heard = MemorySink(8000)
        audio = CallAudio(call, ToneSource(1000, 8000), heard).start()
        await run_for(1.5)
        await audio.stop()
        await call.hangup()
    assert dominant_frequency(heard.samples[-6000:], 8000) == pytest.approx(1000, abs=10)
    assert client.endpoint.undecryptable == 0
    channels = pbx.cli("core show channels")
    assert "IAX2/6090" not in channels  # hung up cleanly


async def test_a_peer_that_will_not_encrypt_is_refused_when_we_require_it(pbx: Pbx) -> None:
    async with phone(pbx, 6001, formats=[Format.ULAW], register=False) as client:
        options = CallOptions(
            "600", "6091", "iax6091secret", caller_number="6091", encryption="required"
        )
        call = await client.dial((pbx.host, pbx.iax_port), options)
        with pytest.raises(CallFailedError, match="encryption required"):
            await call.wait_answered(timeout=5)


async def test_asterisk_rotates_its_key_and_the_audio_keeps_coming(pbx: Pbx) -> None:
    async with phone(pbx, 6001, formats=[Format.ULAW], register=False) as client:
        options = CallOptions(
            "600", "6090", "iax6090secret", caller_number="6090", encryption="required"
        )
        call = await client.dial((pbx.host, pbx.iax_port), options)
        await call.wait_answered(timeout=5)
        heard = MemorySink(8000)
        audio = CallAudio(call, ToneSource(900, 8000), heard).start()
        await run_for(1.5)
        cipher = client.endpoint._call(call.call_id).cipher
        assert (
            cipher is not None and cipher.rotations >= 1
        )  # Asterisk sends RTKEY with its first voice frame
        await audio.stop()
        await call.hangup()
    assert dominant_frequency(heard.samples[-6000:], 8000) == pytest.approx(900, abs=10)
    assert client.endpoint.undecryptable <= 2  # at most frames reordered around the RTKEY
