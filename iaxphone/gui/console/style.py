"""The console's look: type sizes for arm's length, and a light and a dark scheme.

Colours come from the palette (``palette(...)`` in the style sheet), so the
same sheet reads on both schemes; :func:`apply_scheme` sets Qt's Fusion
style with a light or a dark palette when the operator asks for one
(``iaxphone console --scheme``), and ``auto`` leaves the desktop's own.
The answer and hang-up keys keep their green and red on either scheme,
with white text (contrast above 4.5:1 on both).
"""

from __future__ import annotations

from PyQt6.QtGui import QColor, QPalette
from PyQt6.QtWidgets import QApplication

SCHEMES = ("auto", "light", "dark")

SHEET = """
QWidget { font-size: 10pt; }
#tileName { font-size: 10pt; font-weight: 700; }
#tileNumber { font-size: 8.5pt; color: palette(placeholder-text); }
#tileStatus { font-size: 9pt; }
#tileTimer { font-size: 9pt; font-weight: 700; }
#tileVoicemail { font-size: 9pt; font-weight: 700; color: #d03030; }
#groupTitle { font-size: 11pt; font-weight: 700; }
#callCard { border: 1px solid palette(mid); border-radius: 6px; background: palette(base); }
#callCard[ringing="true"] { border: 2px solid #e0a000; }
#ownState { font-size: 13pt; font-weight: 700; }
#ownTimer { font-size: 13pt; font-weight: 700; }
#ownCaller { font-size: 12pt; }
#ownMessage, #ownRegistration { font-size: 9pt; color: palette(placeholder-text); }
#answerKey:enabled { background: #1e7d32; color: white; font-weight: 700; }
#hangupKey:enabled { background: #b3261e; color: white; font-weight: 700; }
#padKey { font-size: 11pt; font-weight: 700; }
QTreeWidget { font-size: 10pt; }
QPushButton { padding: 3px 6px; }
"""

# (role, light, dark)
PALETTE = (
    (QPalette.ColorRole.Window, "#eef0f3", "#202327"),
    (QPalette.ColorRole.WindowText, "#15181c", "#e8eaed"),
    (QPalette.ColorRole.Base, "#ffffff", "#2a2e33"),
    (QPalette.ColorRole.AlternateBase, "#e6ebf2", "#33383f"),
    (QPalette.ColorRole.Text, "#15181c", "#e8eaed"),
    (QPalette.ColorRole.PlaceholderText, "#5a626c", "#a5acb5"),
    (QPalette.ColorRole.Button, "#e2e5ea", "#3a3f46"),
    (QPalette.ColorRole.ButtonText, "#15181c", "#e8eaed"),
    (QPalette.ColorRole.Highlight, "#1a66c9", "#4d94ff"),
    (QPalette.ColorRole.HighlightedText, "#ffffff", "#0b1320"),
    (QPalette.ColorRole.Mid, "#a9b0b9", "#5a6068"),
    (QPalette.ColorRole.ToolTipBase, "#ffffe0", "#3a3f46"),
    (QPalette.ColorRole.ToolTipText, "#15181c", "#e8eaed"),
)


def palette(dark: bool) -> QPalette:
    colours = QPalette()
    for role, light_colour, dark_colour in PALETTE:
        colours.setColor(role, QColor(dark_colour if dark else light_colour))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text):
        colours.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7d848c"))
    colours.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#7d848c"))
    return colours


def apply_scheme(app: QApplication, scheme: str) -> None:
    """``light`` or ``dark``: Fusion with that palette; ``auto``: the desktop's own."""
    if scheme == "auto":
        return
    app.setStyle("Fusion")
    app.setPalette(palette(scheme == "dark"))
