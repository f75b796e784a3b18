"""Where the packaged desktop entry and icons are (shipped inside the wheel).

Qt-free, so ``iaxphone install-desktop`` finds them without the gui extra.
"""

from __future__ import annotations

from pathlib import Path

ICON_NAME = "iaxphone"
DESKTOP_FILE = "iaxphone.desktop"  # its name is the desktop's id for iaxphone
URL_SCHEME = "x-scheme-handler/iax"
ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256)

_DATA = Path(__file__).resolve().parent / "data"


def desktop_entry() -> Path:
    return _DATA / DESKTOP_FILE


def icon_svg() -> Path:
    return _DATA / "icons" / f"{ICON_NAME}.svg"


def icon_png(size: int) -> Path:
    return _DATA / "icons" / f"{size}x{size}" / f"{ICON_NAME}.png"
