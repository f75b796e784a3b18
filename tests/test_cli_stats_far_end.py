"""``--stats`` far_end figures against a PBX that counts: Asterisk with its jitter buffer on.

The bundled PBX runs with ``jitterbuffer = no`` (Asterisk's default), so
its receiver reports are zeros and ``far_end`` says it counted nothing
(tests/test_cli_stats.py).  Here a PBX of this module's own runs with
``jitterbuffer = yes`` (tests/pbx-configs/jitterbuffer-add, through
IAXPHONE_PBX_CONF_ADD): its PONG reports what it received of our stream,
and ``far_end`` carries those figures, close to what we sent.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from iaxphone.cli import exitcodes
from tests.ownpbx import OwnPbx
from tests.pbx import Pbx
from tests.test_cli_call import account, env_with, tone_wav

CONFIGS = Path(__file__).resolve().parent / "pbx-configs"
FRAMES_PER_S = 50  # 20 ms frames


@pytest.fixture(scope="module")
def counting_pbx(pbx: Pbx) -> Iterator[OwnPbx]:
    """A PBX of this module's own with Asterisk's jitter buffer on."""
    own = OwnPbx.on_free_ports("jb", conf_add=str(CONFIGS / "jitterbuffer-add"))
    own.up()
    try:
        yield own
    finally:
        own.down()


def test_far_end_figures_are_counted_by_a_pbx_with_its_jitter_buffer_on(
    counting_pbx: OwnPbx, tmp_path: Path
) -> None:
    played = tone_wav(tmp_path / "tone.wav", frequency=500, seconds=12.0, rate=8000)
    stats = tmp_path / "stats.json"
    server = ["--server", f"127.0.0.1:{counting_pbx.iax_port}"]
    result = subprocess.run(
        [sys.executable, "-m", "iaxphone.cli", "call", "600", *server, *account(6004),
         "--codec", "ulaw", "--play", str(played), "--duration", "12", "--stats", str(stats)],
        capture_output=True, text=True, timeout=60, env=env_with(tmp_path),
    )  # fmt: skip
    assert result.returncode == exitcodes.OK, result.stderr
    data = json.loads(stats.read_text())
    far_end = data["far_end"]
    assert far_end["counted"] is True, far_end
    # The report came with the PONG to our first PING, 10 s after the answer: Asterisk had
    # received about 10 s of our 20 ms frames by then, and never more than we sent.
    assert 0.8 * 10 * FRAMES_PER_S <= far_end["packets"] <= data["packets_sent"], (far_end, data)
    assert far_end["lost"] <= 5 and far_end["loss_percent"] < 2  # loopback: next to nothing lost
    assert 0 <= far_end["jitter_ms"] < 40
    assert far_end["delay_ms"] is not None and far_end["delay_ms"] >= 0
