"""The handset's looks, without a PBX: icons, the call keys' colours, a layout that holds still."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyqtgraph as pg
import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QColor
from PyQt6.QtWidgets import QApplication, QLabel, QPushButton
from pytestqt.qtbot import QtBot

from iaxphone.gui.handset import HandsetWindow
from iaxphone.gui.settings import SettingsDialog
from iaxphone.gui.theme import (
    CALL_GREEN,
    DISPLAY_DARK,
    DISPLAY_LIGHT,
    HANG_UP_RED,
    KEYS_DARK,
    KEYS_LIGHT,
    key_colours,
)
from iaxphone.media.virtual import MemorySink, ToneSource
from iaxphone.phone import Phone, PhoneAccount
from iaxphone.viewmodels.handset import LineKey
from iaxphone.viewmodels.suggest import entries_from
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
    assert len(keys) >= 11
    assert [b.text() for b in keys if b.icon().isNull()] == []
    assert [a.text() for a in window.more_actions if a.icon().isNull()] == []


def test_the_dial_pad_keys_show_their_letters(window: HandsetWindow) -> None:
    def shown(key: str) -> list[str]:
        return [label.text() for label in window.keys[key].findChildren(QLabel)]

    assert shown("2") == ["2", "ABC"] and shown("7") == ["7", "PQRS"] and shown("0") == ["0", "+"]
    digit, letters = window.keys["9"].findChildren(QLabel)
    assert letters.font().pointSizeF() < digit.font().pointSizeF()  # small, under the digit
    heights = {button.sizeHint().height() for button in window.keys.values()}
    assert len(heights) == 1  # keys without letters are as tall as the others


def test_rare_keys_are_in_the_more_menu_not_on_the_idle_view(
    window: HandsetWindow, qapp: QApplication
) -> None:
    qapp.processEvents()
    visible = {b.text() for b in window.findChildren(QPushButton) if b.isVisible()}
    assert not visible & {"C&onsult", "&Park", "&Flash", "Co&nference"}
    menu = window.more_button.menu()
    assert menu is not None and window.more_button.isVisible()
    assert [a.text() for a in menu.actions()] == ["C&onsult", "&Park", "&Flash", "Co&nference"]
    height = window.sizeHint().height()
    window.complete_button.show()  # a consultation: Complete and Cancel join the second row
    window.cancel_button.show()
    qapp.processEvents()
    assert window.sizeHint().height() == height


def test_keys_are_flat_and_rounded_in_both_schemes(window: HandsetWindow) -> None:
    for dark in (False, True):
        window.restyle(dark=dark)
        sheet = window.phone_column.styleSheet()
        colours = key_colours(dark)
        assert "border-radius" in sheet and colours.background in sheet
        assert colours.checked in sheet  # Hold, Mute, DND and Record show when they are on
    assert KEYS_LIGHT.background != KEYS_DARK.background


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


def test_typing_suggests_contacts_and_history_and_enter_dials_the_top_match(
    window: HandsetWindow, qtbot: QtBot, qapp: QApplication
) -> None:
    window.suggestion_source = lambda: entries_from(
        [("6001", "Alice Archer"), ("6002", "Bob Baker")], [("0123 456", "Al Plumber")]
    )
    dialled: list[str] = []
    window.model.call_or_answer = dialled.append  # type: ignore[method-assign]
    window.show()
    pad_y = window.keys["1"].mapTo(window, window.keys["1"].rect().topLeft()).y()
    window.number.setFocus()
    qtbot.keyClicks(window.number, "al")
    qapp.processEvents()
    shown = [window.suggestions.item(i).text() for i in range(window.suggestions.count())]
    assert window.suggestions.isVisible()
    assert shown == ["6001  Alice Archer", "0123 456  Al Plumber"]
    assert window.keys["1"].mapTo(window, window.keys["1"].rect().topLeft()).y() == pad_y
    qtbot.keyClick(window.number, Qt.Key.Key_Return)
    assert dialled == ["6001"]  # a name typed: Enter dials the top match
    assert window.suggestions.isHidden()
    window.number.clear()
    qtbot.keyClicks(window.number, "60")
    qtbot.keyClick(window.number, Qt.Key.Key_Return)
    assert dialled[-1] == "60"  # digits typed: what was typed, though 6001 is suggested
    window.number.clear()
    qtbot.keyClicks(window.number, "60")
    qtbot.keyClick(window.number, Qt.Key.Key_Down)
    qtbot.keyClick(window.number, Qt.Key.Key_Down)
    assert window.number.hasFocus() and window.number.text() == "60"  # typing goes on
    qtbot.keyClick(window.number, Qt.Key.Key_Return)
    assert dialled[-1] == "6002"  # the second suggestion, chosen with Down
    window.number.clear()
    qtbot.keyClicks(window.number, "zz")
    assert window.suggestions.isHidden()  # nothing matches: no list
