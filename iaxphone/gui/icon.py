"""iaxphone's icon: the packaged SVG and the PNG sizes rendered from it.

The SVG (``iaxphone/data/icons/iaxphone.svg``) is the source; the PNGs in
``iaxphone/data/icons/SIZExSIZE/iaxphone.png`` are what menus, docks and
``xdg-icon-resource`` take.  After changing the SVG, render them again:

    QT_QPA_PLATFORM=offscreen python -m iaxphone.gui.icon
"""

from __future__ import annotations

import sys
from pathlib import Path

from PyQt6.QtCore import QSize, Qt
from PyQt6.QtGui import QGuiApplication, QIcon, QImage, QPainter
from PyQt6.QtSvg import QSvgRenderer

from iaxphone.desktop_files import ICON_SIZES, icon_png, icon_svg


def render(svg: Path, size: int) -> QImage:
    """The SVG drawn on a transparent ``size`` x ``size`` image."""
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    QSvgRenderer(str(svg)).render(painter)
    painter.end()
    return image


def app_icon() -> QIcon:
    """The window's icon, every packaged size (Qt picks the one that fits)."""
    icon = QIcon(str(icon_svg()))
    for size in ICON_SIZES:
        png = icon_png(size)
        if png.exists():
            icon.addFile(str(png), QSize(size, size))
    return icon


def main() -> int:
    app = QGuiApplication(sys.argv[:1])  # QPainter needs one
    for size in ICON_SIZES:
        target = icon_png(size)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not render(icon_svg(), size).save(str(target)):
            print(f"cannot write {target}", file=sys.stderr)
            return 1
        print(target)
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
