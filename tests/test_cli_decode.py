"""``iaxphone decode``: the real command, run as a process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

VECTORS = dict(
    line.split()
    for line in (Path(__file__).parent / "golden" / "asterisk_frames.txt").read_text().splitlines()
)


def iaxphone(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "iaxphone.cli", *args], capture_output=True, text=True, timeout=30
    )


def test_decode_prints_a_regack_like_asterisk_debug() -> None:
    result = iaxphone("decode", "--rx", VECTORS["full-iax-regack"])
    assert result.returncode == 0, result.stderr
    assert "Rx-Frame" in result.stdout and "REGACK" in result.stdout
    assert "REFRESH         : 60" in result.stdout
    assert "127.0.0.1" in result.stdout


def test_decode_accepts_spaced_and_colon_hex() -> None:
    data = VECTORS["full-control-answer"]
    spaced = " ".join(data[i : i + 2] for i in range(0, len(data), 2))
    assert "ANSWER" in iaxphone("decode", spaced).stdout
    assert "ANSWER" in iaxphone("decode", spaced.replace(" ", ":")).stdout


def test_decode_rejects_non_hex_with_one_line_and_exit_2() -> None:
    result = iaxphone("decode", "zz12")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["iaxphone: not hexadecimal: 'zz12'"]


def test_decode_rejects_a_truncated_frame_with_one_line_and_exit_2() -> None:
    result = iaxphone("decode", VECTORS["full-iax-regack"][:20])
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("iaxphone: not an IAX2 frame: ")
    assert "Traceback" not in result.stderr
