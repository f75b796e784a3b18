"""The theme follows the system's light/dark scheme, pyqtgraph's plots included."""

from __future__ import annotations

from collections.abc import Iterator

import pyqtgraph as pg
import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QColor, QPalette
from PyQt6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from iaxphone.gui.handset import CallGraph
from iaxphone.gui.theme import ThemeFollower, is_dark


def dark_palette() -> QPalette:
    palette = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Window, "#2b2b2b"),
        (QPalette.ColorRole.WindowText, "#e0e0e0"),
        (QPalette.ColorRole.Base, "#1f1f1f"),
        (QPalette.ColorRole.Text, "#e0e0e0"),
    ):
        palette.setColor(role, QColor(colour))
    return palette


@pytest.fixture
def restore_theme(qapp: QApplication) -> Iterator[list[ThemeFollower]]:
    palette = qapp.palette()
    options = {key: pg.getConfigOption(key) for key in ("background", "foreground")}
    followers: list[ThemeFollower] = []
    try:
        yield followers
    finally:
        for follower in followers:
            follower.detach()
        qapp.setPalette(palette)
        pg.setConfigOptions(**options)


def lightness(plot: pg.PlotWidget) -> int:
    return plot.backgroundBrush().color().lightness()


def axis_lightness(plot: pg.PlotWidget) -> int:
    return plot.getPlotItem().getAxis("left").textPen().color().lightness()


def test_a_dark_palette_gives_dark_graphs(
    qapp: QApplication, qtbot: QtBot, restore_theme: list[ThemeFollower]
) -> None:
    follower = ThemeFollower(qapp)
    restore_theme.append(follower)
    existing = CallGraph("Levels", "dBFS", -90, 0)
    qtbot.addWidget(existing)
    follower.apply(False)
    assert lightness(existing) > 200 and axis_lightness(existing) < 80
    changes: list[bool] = []
    follower.changed.connect(changes.append)

    qapp.setPalette(dark_palette())  # the desktop went dark
    assert is_dark(qapp)
    assert changes == [True] and follower.dark
    assert lightness(existing) < 50 and axis_lightness(existing) > 180  # restyled in place
    made_later = CallGraph("Jitter", "ms", 0, 100)
    qtbot.addWidget(made_later)
    assert lightness(made_later) < 50  # pyqtgraph's defaults follow too
    assert QColor(pg.getConfigOption("background")).lightness() < 50


def test_the_scheme_signal_switches_graphs_both_ways(
    qapp: QApplication, qtbot: QtBot, restore_theme: list[ThemeFollower]
) -> None:
    follower = ThemeFollower(qapp)
    restore_theme.append(follower)
    graph = CallGraph("Levels", "dBFS", -90, 0)
    qtbot.addWidget(graph)
    hints = qapp.styleHints()
    assert hints is not None
    with qtbot.waitSignal(follower.changed, timeout=1000) as dark:
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)  # what Qt emits on a switch
    assert dark.args == [True] and lightness(graph) < 50
    with qtbot.waitSignal(follower.changed, timeout=1000) as light:
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
    assert light.args == [False] and lightness(graph) > 200


def test_unknown_scheme_falls_back_to_the_palette(
    qapp: QApplication, restore_theme: list[ThemeFollower]
) -> None:
    assert is_dark(qapp, Qt.ColorScheme.Dark) and not is_dark(qapp, Qt.ColorScheme.Light)
    qapp.setPalette(dark_palette())
    assert is_dark(qapp, Qt.ColorScheme.Unknown)
    light = QPalette()
    light.setColor(QPalette.ColorRole.Window, QColor("#efefef"))
    qapp.setPalette(light)
    assert not is_dark(qapp, Qt.ColorScheme.Unknown)
