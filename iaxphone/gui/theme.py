"""Follow the system's light or dark colour scheme, graphs included.

Theory of operation
-------------------
Qt widgets follow the platform's palette by themselves (Qt 6.5+ switches
it when the desktop goes dark); pyqtgraph does not: its plots draw with
their own background and foreground colours, black on white or white on
black, fixed when a plot is made.  :class:`ThemeFollower` closes the gap:

* it decides whether the scheme is dark from
  ``QStyleHints.colorScheme()``, and where the platform does not say
  (``Unknown``: older desktops, the offscreen platform) from the palette:
  a window colour darker than mid-grey is a dark scheme;
* it sets pyqtgraph's ``background``/``foreground`` options, so plots made
  later match, and restyles every plot that already exists;
* it listens to ``QStyleHints.colorSchemeChanged`` and to application
  palette changes, and does all this again, then emits ``changed(dark)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PyQt6.QtCore import QEvent, QObject, Qt, pyqtSignal
from PyQt6.QtGui import QGuiApplication
from PyQt6.QtWidgets import QApplication

LIGHT = ("#ffffff", "#202020")  # (graph background, graph foreground)
DARK = ("#1e1e1e", "#d8d8d8")
AXES = ("left", "bottom", "right", "top")


def is_dark(app: QGuiApplication, scheme: Qt.ColorScheme | None = None) -> bool:
    """Dark scheme?  The platform's word if it gives one, else the palette's lightness."""
    scheme = app.styleHints().colorScheme() if scheme is None else scheme  # type: ignore[union-attr]
    if scheme is Qt.ColorScheme.Dark:
        return True
    if scheme is Qt.ColorScheme.Light:
        return False
    return app.palette().window().color().lightness() < 128


def graph_colours(dark: bool) -> tuple[str, str]:
    return DARK if dark else LIGHT


@dataclass(frozen=True)
class DisplayColours:
    """The handset display's colours: a phone's backlit screen, light or dark."""

    background: str
    border: str
    text: str  # the number, the caller, the state
    dim: str  # the account line, codec, MOS, messages


DISPLAY_LIGHT = DisplayColours("#e4ecdc", "#9aab8c", "#14251a", "#4b5e4f")
DISPLAY_DARK = DisplayColours("#0f2a22", "#2f5a4a", "#b8f5d0", "#7fb59a")

# The call keys keep their meaning in both schemes: green calls, red hangs up.
CALL_GREEN = ("#2e9d46", "#268a3c", "#1f7532")  # (normal, hover, pressed)
HANG_UP_RED = ("#d6392b", "#bf3024", "#a2271d")
KEY_DISABLED = ("#b9c4bb", "#5a625c")  # (light, dark) background of a greyed call key


def display_colours(dark: bool) -> DisplayColours:
    return DISPLAY_DARK if dark else DISPLAY_LIGHT


def display_sheet(dark: bool) -> str:
    """The style sheet of the handset's display frame (object name ``display``)."""
    c = display_colours(dark)
    return (
        f"QFrame#display {{ background: {c.background}; border: 1px solid {c.border};"
        " border-radius: 10px; }"
        f" QFrame#display QLabel {{ color: {c.text}; background: transparent; }}"
        f' QFrame#display QLabel[dim="true"] {{ color: {c.dim}; }}'
    )


def call_key_sheet(colours: tuple[str, str, str], dark: bool) -> str:
    """A big coloured call key (green call, red hang up), greyed when it cannot act."""
    normal, hover, pressed = colours
    disabled = KEY_DISABLED[1 if dark else 0]
    return (
        f"QPushButton {{ background: {normal}; color: white; border: none;"
        " border-radius: 8px; font-size: 15px; font-weight: 600; padding: 8px 14px; }"
        f" QPushButton:hover {{ background: {hover}; }}"
        f" QPushButton:pressed {{ background: {pressed}; }}"
        f" QPushButton:disabled {{ background: {disabled}; color: #f4f4f4; }}"
    )


def style_graph(plot: pg.PlotWidget, dark: bool) -> None:
    """Give one existing plot the scheme's background, axes and title colours."""
    background, foreground = graph_colours(dark)
    plot.setBackground(background)
    item = plot.getPlotItem()
    for name in AXES:
        axis = item.getAxis(name)
        axis.setPen(foreground)
        axis.setTextPen(foreground)
    title = item.titleLabel.text
    if title:
        item.setTitle(title, color=foreground, size="9pt")


class ThemeFollower(QObject):
    """Keeps pyqtgraph's colours in step with the system scheme; ``changed(dark)``."""

    changed = pyqtSignal(bool)

    def __init__(self, app: QApplication, parent: QObject | None = None) -> None:
        super().__init__(parent or app)  # lives as long as its parent (default: the app)
        self.app = app
        self.dark = is_dark(app)
        hints = app.styleHints()
        assert hints is not None
        hints.colorSchemeChanged.connect(self._scheme_changed)
        app.installEventFilter(self)
        self.apply(self.dark)

    def apply(self, dark: bool | None = None) -> None:
        """Colour pyqtgraph for ``dark`` (default: what the system says now)."""
        self.dark = is_dark(self.app) if dark is None else dark
        background, foreground = graph_colours(self.dark)
        pg.setConfigOptions(background=background, foreground=foreground)
        for widget in self.app.allWidgets():
            if isinstance(widget, pg.PlotWidget):
                style_graph(widget, self.dark)
        self.changed.emit(self.dark)

    def detach(self) -> None:
        """Stop following (the colours stay as they are)."""
        hints = self.app.styleHints()
        if hints is not None:
            hints.colorSchemeChanged.disconnect(self._scheme_changed)
        self.app.removeEventFilter(self)
        self.setParent(None)

    def _scheme_changed(self, scheme: Qt.ColorScheme) -> None:
        self.apply(is_dark(self.app, scheme))

    def eventFilter(self, watched: QObject | None, event: QEvent | None) -> bool:  # noqa: N802 (Qt)
        if (
            watched is self.app
            and event is not None
            and event.type() is QEvent.Type.ApplicationPaletteChange
        ):
            dark = is_dark(self.app)
            if dark != self.dark:
                self.apply(dark)
        return False
