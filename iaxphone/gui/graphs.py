"""Live graphs of the talking line: levels, jitter, jitter-buffer delay, loss, MOS, ERLE.

Theory of operation
-------------------
:class:`CallGraphs` is fed the :class:`~iaxphone.media.stats.MediaStats`
of each :class:`~iaxphone.phone.LineStats` event (ten a second while a line
talks: the media session's ``stats_interval``) through
:meth:`CallGraphs.push`.  Each :class:`CallGraph` keeps the last 60 s of one
or more curves in fixed numpy arrays (one slot per stats update, NaN where
nothing was measured) and redraws on every push.  It draws the microphone's
and the speaker's RMS level (the level graph, two curves), the interarrival
jitter, the jitter buffer's delay (what it currently holds back), the loss
percentage, the MOS, and how much echo the canceller removes (ERLE, dB;
no point while the far end is silent, nothing to cancel).  The ``echo``
label says whether echo is being cancelled now, with the estimated
speaker-to-microphone delay.  A graph with several curves names them in
its title, each after a square of its colour, so no legend box sits on the
traces.  Curve pens come from pyqtgraph's generated
hues and the plot colours from pyqtgraph's defaults: nothing here fixes a
palette.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PyQt6.QtWidgets import QGridLayout, QLabel, QWidget

from iaxphone.media.stats import MediaStats

HISTORY_S = 60
STATS_PER_S = 10
SILENCE_DBFS = -90.0


class CallGraph(pg.PlotWidget):  # type: ignore[misc]
    """Some quantities of the current call over the last 60 s (one curve each)."""

    def __init__(
        self, title: str, unit: str, lowest: float, highest: float, curves: tuple[str, ...] = ("",)
    ) -> None:
        super().__init__()
        self.setLabel("left", unit)
        self.setLabel("bottom", "seconds ago")
        self.setYRange(lowest, highest)
        # Three labelled ticks (bottom, middle, top): a short graph stays readable.
        major = (highest - lowest) / 2
        self.getAxis("left").setTickSpacing(major, major / 2)
        self.setXRange(-HISTORY_S, 0)
        self.setMinimumHeight(105)
        self.ages = np.linspace(-HISTORY_S, 0, HISTORY_S * STATS_PER_S)
        self.series: dict[str, npt.NDArray[np.float64]] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        keys = []
        for index, name in enumerate(curves):
            self.series[name] = np.full(self.ages.size, np.nan)
            colour = pg.intColor(index, hues=max(3, len(curves)))
            pen = pg.mkPen(colour, width=2)
            self.curves[name] = self.plot(
                self.ages, self.series[name], connect="finite", pen=pen, name=name or None
            )
            if name:
                keys.append(f'<span style="color:{colour.name()}">&#9632;</span>&nbsp;{name}')
        # The key to the curves is in the title, above the plot: it never covers a trace.
        self.title_text = title + ("&nbsp;&nbsp;" + "&nbsp;".join(keys) if keys else "")
        self.setTitle(self.title_text, size="9pt")

    @property
    def samples(self) -> npt.NDArray[np.float64]:
        """The first (or only) curve's history."""
        return next(iter(self.series.values()))

    def push(self, *values: float) -> None:
        """One new value per curve, in the order the curves were named."""
        for name, value in zip(self.series, values, strict=True):
            series = np.roll(self.series[name], -1)
            series[-1] = value
            self.series[name] = series
            self.curves[name].setData(self.ages, series, connect="finite")

    def clear_history(self) -> None:
        for name, series in self.series.items():
            series[:] = np.nan
            self.curves[name].setData(self.ages, series, connect="finite")


class CallGraphs(QWidget):
    """The four graphs of a call and its MOS estimate, fed from LineStats."""

    def __init__(self) -> None:
        super().__init__()
        self.levels = CallGraph("Levels", "dBFS", SILENCE_DBFS, 0, ("mic", "speaker"))
        self.jitter = CallGraph("Jitter", "ms", 0, 100)
        self.buffer = CallGraph("Jitter buffer delay", "ms", 0, 200)
        self.loss = CallGraph("Loss", "%", 0, 20)
        self.erle = CallGraph("Echo removed (ERLE)", "dB", 0, 60)
        self.mos = QLabel("")
        self.echo = QLabel("")
        self.echo.setAccessibleName("echo cancellation")
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(4)
        for row, graph in enumerate((self.levels, self.jitter, self.buffer, self.loss, self.erle)):
            grid.addWidget(graph, row, 0)  # one column: wide enough for every title
        grid.addWidget(self.echo, 5, 0)
        for graph in self.graphs[:-1]:  # one "seconds ago" under the last graph says it for all
            graph.setLabel("bottom", "")
            graph.getAxis("bottom").showLabel(False)

    @property
    def graphs(self) -> tuple[CallGraph, ...]:
        return (self.levels, self.jitter, self.buffer, self.loss, self.erle)

    def push(self, stats: MediaStats) -> None:
        self.levels.push(
            max(stats.mic.rms_dbfs, SILENCE_DBFS), max(stats.speaker.rms_dbfs, SILENCE_DBFS)
        )
        self.jitter.push(max(stats.jitter_ms, 0.0))
        self.buffer.push(max(stats.jitter_buffer.delay_ms, 0.0))
        self.loss.push(max(stats.loss.percent, 0.0))
        self.mos.setText(f"MOS {stats.mos:.1f}")
        voice = stats.voice
        self.erle.push(float("nan") if voice.erle_db is None else max(voice.erle_db, 0.0))
        self.echo.setText(echo_text(stats))

    def clear_history(self) -> None:
        for graph in self.graphs:
            graph.clear_history()
        self.mos.setText("")
        self.echo.setText("")


def echo_text(stats: MediaStats) -> str:
    """One line on the echo canceller: off, waiting for far-end talk, or how much it removes."""
    voice = stats.voice
    if not voice.echo_cancellation:
        return "Echo cancellation off"
    delay = "" if voice.echo_delay_ms is None else f", delay {voice.echo_delay_ms:.0f} ms"
    if voice.erle_db is None:
        return f"Echo cancellation on (no far-end speech yet{delay})"
    return f"Echo cancelled: {voice.erle_db:.0f} dB{delay}"
