"""The handset's looks, without a PBX: icons, the call keys' colours, a layout that holds still."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyqtgraph as pg
import pytest
from PyQt6.QtGui import QColor
from PyQt6.QtWidgets import QApplication, QPushButton
from pytestqt.qtbot import QtBot

from iaxphone.gui.handset import HandsetWindow
from iaxphone.gui.settings import SettingsDialog
from iaxphone.gui.theme import CALL_GREEN, DISPLAY_DARK, DISPLAY_LIGHT, HANG_UP_RED
from iaxphone.media.virtual import MemorySink, ToneSource
from iaxphone.phone import Phone, PhoneAccount
from iaxphone.viewmodels.handset import LineKey
from iaxphone.wire.constants import Format
from tests.test_devices import FakeBackend


@pytest.fixture
def window(qtbot: QtBot) -> Iterator[HandsetWindow]:
    phone = Phone(  # never started: the window only draws it
        [PhoneAccount("desk", ("127.0.0.1", 9), "6001", "secret")],
        source=ToneSource(440, 8000),
        sink=MemorySink(8000),
        formats=[Format.ULAW],
        local=("127.0.0.1", 0),
    )
    handset = HandsetWindow(phone)
    qtbot.addWidget(handset)
    handset.show()
    yield handset


def test_every_key_but_the_dial_pad_has_an_icon(window: HandsetWindow) -> None:
    pad = set(window.keys.values())
    keys = [b for b in window.findChildren(QPushButton) if b not in pad]
    assert len(keys) >= 14
    assert [b.text() for b in keys if b.icon().isNull()] == []


def test_call_is_a_big_green_key_and_hang_up_a_red_one(window: HandsetWindow) -> None:
    assert CALL_GREEN[0] in window.call_button.styleSheet()
    assert HANG_UP_RED[0] in window.hangup_button.styleSheet()
    feature = window.hold_button.sizeHint().height()
    assert window.call_button.height() > feature and window.hangup_button.height() > feature
    # The green key really draws green (and not the grey of a default button).
    image = window.call_button.grab().toImage()
    colour = QColor(image.pixel(6, image.height() // 2))
    assert colour.green() > colour.red() + 60 and colour.green() > colour.blue() + 60


def test_the_display_shows_the_number_being_dialled(window: HandsetWindow) -> None:
    assert window.call_state.text() == "idle"
    assert ":" in window.dialled.text()  # idle: the time of day
    window.press_key("6")
    window.press_key("0")
    assert window.dialled.text() == "60"
    window.number.clear()
    assert window.dialled.text() != "60"


def test_the_display_follows_light_and_dark(window: HandsetWindow) -> None:
    window.restyle(dark=False)
    assert DISPLAY_LIGHT.background in window.display.styleSheet()
    window.restyle(dark=True)
    assert DISPLAY_DARK.background in window.display.styleSheet()
    assert window.dark


def test_a_line_key_appearing_does_not_move_the_layout(
    window: HandsetWindow, qapp: QApplication
) -> None:
    qapp.processEvents()
    height, number_y = window.sizeHint().height(), window.number.y()
    window.line_buttons.show_keys(
        (LineKey(1, 1, "talking 6002", True), LineKey(2, 2, "waiting 6003", False))
    )
    qapp.processEvents()
    assert window.line_buttons.isVisible()
    assert (window.sizeHint().height(), window.number.y()) == (height, number_y)
    window.line_buttons.show_keys(())
    qapp.processEvents()
    assert window.line_buttons.isHidden()
    assert (window.sizeHint().height(), window.number.y()) == (height, number_y)


def test_no_legend_covers_the_levels_graph(window: HandsetWindow) -> None:
    graph = window.level_graph
    items = graph.getPlotItem().scene().items()
    assert not [item for item in items if isinstance(item, pg.LegendItem)]
    title = graph.getPlotItem().titleLabel.text
    assert "mic" in title and "speaker" in title  # the key to the curves, above the plot


def test_the_window_turns_dark_when_the_palette_does(
    window: HandsetWindow, qapp: QApplication
) -> None:
    from iaxphone.gui.console.style import palette  # noqa: PLC0415

    before = qapp.palette()
    window.restyle(dark=False)
    try:
        qapp.setPalette(palette(dark=True))  # what a desktop switching to dark does
        qapp.processEvents()
        assert window.dark
        assert DISPLAY_DARK.background in window.display.styleSheet()
    finally:
        qapp.setPalette(before)
        qapp.processEvents()
    assert not window.dark


def test_the_settings_dialog_buttons_have_icons(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = SettingsDialog(tmp_path / "config.toml", None, backend=FakeBackend())
    qtbot.addWidget(dialog)
    buttons = dialog.findChildren(QPushButton)
    assert len(buttons) >= 5
    assert [b.text() for b in buttons if b.icon().isNull()] == []
