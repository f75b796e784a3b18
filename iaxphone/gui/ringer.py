"""The ringtone, played on the ringing device while a call rings here.

Theory of operation
-------------------
:func:`ring_cycle` computes one cadence of the ringtone with numpy: a
warble of two tones (440 and 480 Hz, the classic bell-less ring) for
``on_s``, with 10 ms fades so it does not click, then ``off_s`` of silence.
:class:`Ringer` plays that cycle over and over into a
:class:`~iaxphone.media.virtual.Sink` (any of them: a sound card's
:class:`~iaxphone.media.devices.CardSink`, a WAV file, memory in tests).
A Qt timer fires every 20 ms; each time the ringer writes exactly the
samples that the wall clock says are due since it started, so the tone keeps
real time even when the timer is late, and never runs ahead of the sink.
:meth:`Ringer.stop` stops writing at once (the sink plays out what it holds).

Which sink: the window is given a separate ringing sink (the loudspeaker
while the call audio goes to a headset), or else rings on the phone's own
speaker - then only while no call is active, since the active call owns
that device; a second call while talking is shown, not rung.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from PyQt6.QtCore import QObject, QTimer

from iaxphone.media.virtual import Samples, Sink

TICK_MS = 20


def ring_cycle(
    rate: int, on_s: float = 1.0, off_s: float = 2.0, level_dbfs: float = -10.0
) -> Samples:
    """One cadence of the ringtone: ``on_s`` of two mixed tones, then ``off_s`` of silence."""
    t = np.arange(int(on_s * rate)) / rate
    tone = np.sin(2 * np.pi * 440 * t) + np.sin(2 * np.pi * 480 * t)
    fade = np.minimum(1.0, np.minimum(t, on_s - t) / 0.01)
    amplitude = 32767 * 10 ** (level_dbfs / 20) / 2
    on = np.rint(tone * fade * amplitude).astype(np.int16)
    return np.concatenate((on, np.zeros(int(off_s * rate), dtype=np.int16)))


class Ringer(QObject):
    def __init__(self, sink: Sink, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.sink = sink
        self.cycle = ring_cycle(sink.rate)
        self.clock = clock
        self.started: float | None = None
        self.written = 0
        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)

    @property
    def ringing(self) -> bool:
        return self.started is not None

    def start(self) -> None:
        if self.started is None:
            self.started = self.clock()
            self.written = 0
            self._tick()
            self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        self.started = None

    def _tick(self) -> None:
        if self.started is None:
            return
        due = int((self.clock() - self.started) * self.sink.rate) + self.sink.rate * TICK_MS // 1000
        if due <= self.written:
            return
        positions = np.arange(self.written, due) % len(self.cycle)
        self.sink.write(self.cycle[positions])
        self.written = due
