"""A call's audio through real PortAudio and a real sound server, both ways, via the PBX.

The microphone is the ``microphone`` null sink's monitor, fed a 697 Hz tone
by ``pacat``; the call goes to the bundled PBX's echo test (600); what comes
back is played to the ``speaker`` null sink, recorded off its monitor by
``parec``.  So the tone crosses PortAudio's capture callback, the network
and Asterisk, PortAudio's playback callback and the sound server.
"""

from __future__ import annotations

import contextlib
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from iaxphone.aio.audio import CallAudio
from iaxphone.media.devices import SoundCard
from tests.pbx import Pbx
from tests.phones import call_from, phone
from tests.soundserver import DEVICE, SoundServer, SoundServerError
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


def test_call_command_says_when_the_headset_goes_and_comes_back(
    pbx: Pbx, sound_server: SoundServer, tmp_path: Path
) -> None:
    """``iaxphone call`` on the real server: the headset sink unloaded mid-call, then loaded."""
    module = sound_server.load_null_sink("headset")
    sound_server.defaults("headset", "headset.monitor")
    command = [
        sys.executable, "-m", "iaxphone.cli", "call", "600", "--server",
        f"127.0.0.1:{pbx.iax_port}", "--user", "6001", "--secret", "iax6001secret",
        "--input", DEVICE, "--output", DEVICE, "--duration", "30", "-v",
    ]  # fmt: skip
    caller = subprocess.Popen(
        command, env=sound_server.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(
        target=lambda: [lines.put(line) for line in iter(caller.stderr.readline, "")],  # type: ignore[union-attr]
        daemon=True,
    )
    reader.start()
    seen: list[str] = []

    def until(*wanted: str, timeout: float = 15.0) -> bool:
        """Read the command's stderr until every one of ``wanted`` was in a line (or timeout)."""
        deadline = time.monotonic() + timeout
        while not all(any(w in line for line in seen) for w in wanted):
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return False
            seen.append(line.rstrip())
        return True

    try:
        assert until("jitter"), seen  # the first status line: answered, audio up
        sound_server.unload(module)  # the headset is unplugged
        assert until("is gone: playing on", "is gone: recording from"), seen
        module = sound_server.load_null_sink("headset")  # and plugged in again
        assert until("is back: playing on", "is back: recording from"), seen
    finally:
        caller.terminate()
        caller.wait(10)
        with contextlib.suppress(SoundServerError):
            sound_server.unload(module)
        sound_server.defaults("speaker", "microphone.monitor")
    notes = [line for line in seen if line.startswith("iaxphone: ") and "device" in line]
    assert any(
        "device 'headset' is gone: playing on 'speaker' (the default) until it is back" in n
        for n in notes
    ), seen
    assert any("device 'headset' is back: playing on it again" in n for n in notes), seen
    assert "Traceback" not in "\n".join(seen)
