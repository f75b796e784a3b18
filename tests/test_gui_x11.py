"""The window on a real X server (Xvfb), through Qt's xcb plugin and its system libraries.

The rest of the GUI tests draw offscreen; this one proves that the Debian
packages the Makefile installs are the ones Qt needs to open a window on an
X11 desktop (without libxcb-icccm4 and libxcb-keysyms1 it aborts, rc 134).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.require import unavailable

SHOW_A_WINDOW = """
import sys
from PyQt6.QtWidgets import QApplication, QLabel
app = QApplication(sys.argv)
assert app.platformName() == "xcb", app.platformName()
label = QLabel("iaxphone")
label.show()
app.processEvents()
image = label.grab().toImage()
print(app.platformName(), image.width(), image.height(), label.isVisible())
"""


@pytest.fixture
def x_display(tmp_path: Path) -> Iterator[str]:
    if shutil.which("Xvfb") is None:
        unavailable("Xvfb is not installed (Debian package xvfb)")
    read, write = os.pipe()
    # -displayfd: Xvfb picks a free display and writes its number when it is ready.
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as ready:
        number = ready.readline().strip()
    try:
        assert number.isdigit(), "Xvfb did not start"
        yield f":{number}"
    finally:
        server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=5)


def test_a_window_opens_on_x11(x_display: str) -> None:
    env = dict(os.environ, DISPLAY=x_display, QT_QPA_PLATFORM="xcb")
    result = subprocess.run(
        [sys.executable, "-c", SHOW_A_WINDOW], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    platform, width, height, visible = result.stdout.split()
    assert (platform, visible) == ("xcb", "True")
    assert int(width) > 0 and int(height) > 0
