"""The README's window screenshots, made on Xvfb (with a system tray) against the bundled PBX.

tests/handset_screens.py drives the real main window through idle, a call
to the echo test, the compact view, the dark scheme and an incoming call;
this test runs it on a real X display and checks every picture was saved
and is not blank.  docs/screenshots/ holds the README's copies of them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PyQt6.QtGui import QImage

from tests.guiloop import OUTPUT
from tests.pbx import Pbx
from tests.test_gui_x11 import x_display  # noqa: F401 - the fixture

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ("window-idle", "window-in-call", "window-compact", "window-in-call-dark", "window-ringing")


def colours(image: QImage) -> int:
    step_x, step_y = max(1, image.width() // 40), max(1, image.height() // 40)
    return len(
        {
            image.pixel(x, y)
            for x in range(0, image.width(), step_x)
            for y in range(0, image.height(), step_y)
        }
    )


def test_window_screenshots_on_x11(pbx: Pbx, x_display: str, tmp_path: Path) -> None:  # noqa: F811
    env = dict(os.environ, DISPLAY=x_display, QT_QPA_PLATFORM="xcb", PYTHONPATH=str(ROOT))
    env.update(IAXPHONE_DATA_DIR=str(tmp_path / "data"), IAXPHONE_CONFIG=os.devnull)
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    tray = subprocess.Popen(
        [sys.executable, "-m", "tests.faketray"], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert tray.stdout is not None and tray.stdout.readline().strip() == "ready"
        result = subprocess.run(
            [sys.executable, "-m", "tests.handset_screens", str(OUTPUT)],
            capture_output=True, text=True, env=env, timeout=120, cwd=ROOT,
        )  # fmt: skip
    finally:
        tray.terminate()
        tray.wait(timeout=5)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "done"
    for name in SHOTS:
        image = QImage(str(OUTPUT / f"{name}.png"))
        assert not image.isNull(), name
        assert colours(image) > 10, name
    wide, compact = (
        QImage(str(OUTPUT / "window-in-call.png")),
        QImage(str(OUTPUT / "window-compact.png")),
    )
    assert compact.width() < wide.width() / 2  # compact: the handset alone
    dark = QImage(str(OUTPUT / "window-in-call-dark.png"))
    assert dark.pixelColor(4, dark.height() // 2).lightness() < 100  # the dark scheme's window
    assert wide.pixelColor(4, wide.height() // 2).lightness() > 180
