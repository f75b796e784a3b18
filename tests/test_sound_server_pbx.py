"""A call's audio through real PortAudio and a real sound server, both ways, via the PBX.

The microphone is the ``microphone`` null sink's monitor, fed a 697 Hz tone
by ``pacat``; the call goes to the bundled PBX's echo test (600); what comes
back is played to the ``speaker`` null sink, recorded off its monitor by
``parec``.  So the tone crosses PortAudio's capture callback, the network
and Asterisk, PortAudio's playback callback and the sound server.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from iaxphone.aio.audio import CallAudio
from iaxphone.media.devices import SoundCard
from tests.pbx import Pbx
from tests.phones import call_from, phone
from tests.soundserver import DEVICE, SoundServer
from tests.test_media_asterisk import run_for
from tests.test_sound_server import NATIVE, tone_power


@pytest.mark.parametrize("frame_ms", [10, 20, 60])
async def test_echo_test_call_through_real_devices(
    pbx: Pbx, sound_server: SoundServer, tmp_path: Path, frame_ms: int
) -> None:
    sound_server.defaults("speaker", "microphone.monitor")
    tone = (8192 * np.sin(2 * np.pi * 697 * np.arange(48000 * 30) / 48000)).astype(np.int16)
    (tmp_path / "tone.raw").write_bytes(tone.tobytes())
    heard = tmp_path / "heard.raw"
    raw = ["--raw", "--format=s16le", "--rate=8000", "--channels=1"]
    env = sound_server.env()
    recorder = subprocess.Popen(
        ["parec", "-d", "speaker.monitor", "--latency-msec=20", *raw, str(heard)], env=env
    )
    player = subprocess.Popen(
        ["pacat", "--playback", "-d", "microphone", "--raw", "--format=s16le", "--rate=48000",
         "--channels=1", str(tmp_path / "tone.raw")],
        env=env,
    )  # fmt: skip
    card = SoundCard(DEVICE, DEVICE, rate=8000, native_rate=NATIVE)
    try:
        async with phone(pbx, 6001) as client:
            call = await call_from(client, pbx, 6001, "600")
            await call.wait_answered(timeout=5)
            audio = CallAudio(call, card.source, card.sink, frame_ms=frame_ms).start()
            await run_for(6.0)  # the call's length (the stream starts in about 1.5 s)
            recorder.terminate()  # the recording ends while the call still runs
            recorder.wait(5)
            await audio.stop()
            stats = audio.session.snapshot()
            await call.hangup()
        card_stats = card.stats()
    finally:
        card.close()
        for process in (player, recorder):
            process.terminate()
            process.wait(5)
    samples = np.frombuffer(heard.read_bytes(), dtype=np.int16)
    tail = samples[-2 * 8000 :]  # the last two seconds on the speaker sink
    level = float(np.sqrt(np.mean(tail.astype(np.float64) ** 2)))
    assert level > 1000, f"no echo on the speaker's monitor (RMS {level:.0f})"
    assert tone_power(tail, 697.0) > 0.8
    assert stats.mic.rms_dbfs > -25  # the real microphone carried the tone
    assert stats.traffic.packets_received > 4000 / frame_ms  # frames came back all along
    # A loaded machine may stall the ALSA pulse plugin for over a second once: the card
    # then reopens (its recovery) and the tone above still came back.
    assert card_stats.reopened <= 1
