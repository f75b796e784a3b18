"""The handset window's call handling against the bundled PBX (Qt offscreen).

The graphs of a call.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from iaxphone.gui.handset import HandsetWindow
from iaxphone.media.virtual import MemorySink, ToneSource
from iaxphone.phone import Phone, PhoneAccount
from iaxphone.wire.constants import Format
from tests.pbx import Pbx
from tests.test_gui_handset import run_on_qt_loop, until


def desk(pbx: Pbx, extension: int, tone: float = 440.0) -> Phone:
    user, secret = pbx.extension(extension)
    return Phone(
        [PhoneAccount("desk", (pbx.host, pbx.iax_port), user, secret)],
        source=ToneSource(tone, 8000),
        sink=MemorySink(8000),
        formats=[Format.ULAW],
        local=("127.0.0.1", 0),
    )


def test_graphs_follow_the_echo_call_ten_times_a_second(
    pbx: Pbx, qapp: QApplication, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        async with desk(pbx, 6010) as alice:
            window = HandsetWindow(alice)
            qtbot.addWidget(window)
            window.show()
            qtbot.keyClicks(window.number, "600")
            qtbot.keyClick(window.number, Qt.Key.Key_Return)
            await until(alice, lambda: window.call_state.text() == "talking")
            graphs = window.graphs
            await until(alice, lambda: _finite(graphs.loss.samples) >= 5)
            start, pushed = time.monotonic(), _finite(graphs.loss.samples)
            await until(alice, lambda: _finite(graphs.loss.samples) >= pushed + 20)
            assert time.monotonic() - start < 2.6  # about ten updates a second
            mic = graphs.levels.series["mic"]
            spk = graphs.levels.series["speaker"]
            assert np.nanmax(mic) == pytest.approx(-15, abs=2)  # the -12 dBFS peak tone
            assert np.nanmax(spk) > -40  # and its echo
            for graph in graphs.graphs:
                assert _finite(graph.samples) >= 25
                assert not np.isnan(graph.samples[-1])  # the newest sample is at "now"
            assert np.nanmax(graphs.buffer.samples) > 0  # the jitter buffer holds something
            assert 0 <= graphs.loss.samples[-1] < 5
            assert window.mos.text().startswith("MOS 4")
            qtbot.keyClick(window, Qt.Key.Key_Escape)
            await until(alice, lambda: window.call_state.text() == "ended")

    run_on_qt_loop(qapp, scenario())


def _finite(values: np.ndarray) -> int:
    return int((~np.isnan(values)).sum())
