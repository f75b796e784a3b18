"""``iaxphone call --stats`` against the bundled PBX: each figure means what its name says.

One 12 s call to the echo test that plays a 4 s tone, then nothing: the
levels are the whole call's (not the silent last second's, which are kept
under their own names), ``rtt_ms`` is the mean of the real PING/PONG round
trips (the first PING goes 10 s after the answer), and ``far_end`` says the
bundled Asterisk counted nothing (its jitter buffer is off) instead of
claiming it received one packet.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

from iaxphone.cli import exitcodes
from tests.pbx import Pbx
from tests.test_cli_call import SERVER, account, env_with, tone_wav


def test_the_statistics_json_describes_the_whole_call(pbx: Pbx, tmp_path: Path) -> None:
    played = tone_wav(tmp_path / "tone.wav", frequency=500, seconds=4.0, rate=8000)
    stats = tmp_path / "stats.json"
    result = subprocess.run(
        [sys.executable, "-m", "iaxphone.cli", "call", "600", *SERVER, *account(6004),
         "--codec", "ulaw", "--play", str(played), "--record", str(tmp_path / "heard.wav"),
         "--duration", "12", "--stats", str(stats)],
        capture_output=True, text=True, timeout=60, env=env_with(tmp_path),
    )  # fmt: skip
    assert result.returncode == exitcodes.OK, result.stderr
    data = json.loads(stats.read_text())
    # The tone: 8000/32768 peak, -15.3 dBFS RMS, for 4 s of a 12 s call: about -20 dBFS.
    tone_rms = 20 * math.log10(8000 / 32768 / math.sqrt(2))
    whole_call = tone_rms + 10 * math.log10(4 / 12)
    assert abs(data["mic_rms_dbfs"] - whole_call) < 1.5, data
    assert abs(data["mic_peak_dbfs"] - 20 * math.log10(8000 / 32768)) < 0.5
    assert data["mic_last_frame_rms_dbfs"] == -120.0  # the file ended: silence went out last
    assert data["speaker_rms_dbfs"] > whole_call - 6  # the echo came back over the call
    assert data["speaker_last_frame_rms_dbfs"] < -60
    # A real round trip: our PING, Asterisk's PONG, on loopback well under 50 ms but not 0.
    assert data["rtt_samples"] >= 1
    assert 0 < data["rtt_ms"] < 50 and 0 < data["rtt_last_ms"] < 50
    far_end = data["far_end"]
    assert far_end["counted"] is False and far_end["packets"] is None
