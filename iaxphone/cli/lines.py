"""Around the phone for ``iaxphone call`` and ``listen``: lines as futures, files as audio.

:class:`LineWatch` turns the phone's line events and its call log's
summaries into futures a command awaits: when a line starts talking, and
its :class:`~iaxphone.callrecord.CallSummary` once it has ended (after its
history row and statistics are recorded).  :class:`LineDevices` is the
phone's ``line_audio``: each line gets the WAV files or the sound card the
options name, at its codec's rate.
"""

from __future__ import annotations

import asyncio
import collections
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from iaxphone import config
from iaxphone.callrecord import CallLog, CallSummary
from iaxphone.media import devices
from iaxphone.media.virtual import (
    AudioFileError,
    NullSink,
    SilenceSource,
    Sink,
    Source,
    WavSink,
    WavSource,
)
from iaxphone.phone import LineChanged, LineInfo, LineState, Phone, PhoneEvent

from . import exitcodes
from .errors import CommandError


class AudioOptions(Protocol):
    """What chooses a call's audio: ``--play``, ``--record``, ``--input``, ``--output``."""

    @property
    def play(self) -> Path | None: ...
    @property
    def record(self) -> Path | None: ...
    @property
    def input(self) -> str | None: ...
    @property
    def output(self) -> str | None: ...


@dataclass(frozen=True)
class AudioChoice:
    play: Path | None = None
    record: Path | None = None
    input: str | None = None
    output: str | None = None


def open_audio(choice: AudioOptions, rate: int, audio: config.AudioConfig) -> tuple[Source, Sink]:
    """WAV files where given; the sound card for the rest (silence and discard without one).

    The card is ``--input``/``--output`` if given, else the config's ``[audio]`` choice.
    """
    device_source: Source | None = None
    device_sink: Sink | None = None
    if not choice.play or not choice.record:
        configured_input, configured_output = audio.devices()
        device_source, device_sink, note = devices.open_audio(
            None if choice.play else (choice.input or configured_input),
            None if choice.record else (choice.output or configured_output),
            rate,
        )
        if note:
            print(f"iaxphone: {note}", file=sys.stderr)
        if device_sink is not None:  # a headset unplugged mid-call, and back: say so
            devices.on_note(device_sink, lambda line: print(f"iaxphone: {line}", file=sys.stderr))
    try:
        source: Source = (
            WavSource(choice.play, rate) if choice.play else (device_source or SilenceSource(rate))
        )
        sink: Sink
        if choice.record:
            recording = WavSink(choice.record, rate)
            recording.on_error = lambda message: print(f"iaxphone: {message}", file=sys.stderr)
            sink = recording
        else:
            sink = device_sink or NullSink(rate)
    except AudioFileError as exc:
        raise CommandError(str(exc), exitcodes.USAGE) from None
    return source, sink


class LineDevices:
    """A phone's ``line_audio``: each line's files or card; the first failure is kept.

    The phone opens a line's audio as it answers, inside its own task; a
    file that cannot be opened gives the line silence, and :attr:`error`
    keeps the one-line message for the command to stop with.
    """

    def __init__(
        self, choose: Callable[[LineInfo], AudioOptions], audio: config.AudioConfig
    ) -> None:
        self.choose = choose
        self.audio = audio
        self.error: CommandError | None = None
        self.failed = asyncio.Event()

    def open(self, line: LineInfo, rate: int) -> tuple[Source, Sink]:
        try:
            return open_audio(self.choose(line), rate, self.audio)
        except CommandError as exc:
            self.error = self.error or exc
            self.failed.set()
            return SilenceSource(rate), NullSink(rate)


def check_writable(path: Path | None, option: str) -> None:
    """Refuse, before dialling, an output file that could not be written (exit 2)."""
    if path is None:
        return
    folder = path.parent
    if path.is_dir():
        raise CommandError(f"{option} {path}: is a folder, not a file", exitcodes.USAGE)
    if not folder.is_dir():
        raise CommandError(f"{option} {path}: no folder {folder}", exitcodes.USAGE)
    if not os.access(path if path.exists() else folder, os.W_OK):
        raise CommandError(f"{option} {path}: not allowed to write there", exitcodes.USAGE)


class LineWatch:
    """Futures for each line of one phone: it talks, it is new, its summary."""

    RECENT_KEPT = 64  # ended lines remembered, for ended() asked after the fact

    def __init__(self, phone: Phone, log: CallLog) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._talking: dict[int, asyncio.Future[LineInfo]] = {}
        # Live lines' futures; an ended line's moves to the bounded _recent, so a
        # long-running listen keeps nothing per call it has finished with.
        self._ended: dict[int, asyncio.Future[CallSummary]] = {}
        self._recent: collections.OrderedDict[int, asyncio.Future[CallSummary]] = (
            collections.OrderedDict()
        )
        self._seen: set[int] = set()
        self.on_new: Callable[[LineInfo], None] | None = None
        self.on_talking: Callable[[LineInfo], None] | None = None
        self.on_ended: Callable[[CallSummary], None] | None = None
        phone.subscribe(self._on_event)
        log.listeners.append(self._on_summary)

    def talking(self, line_id: int) -> asyncio.Future[LineInfo]:
        future = self._talking.get(line_id)
        if future is None:
            future = self._talking[line_id] = self._loop.create_future()
        return future

    def ended(self, line_id: int) -> asyncio.Future[CallSummary]:
        future = self._ended.get(line_id) or self._recent.get(line_id)
        if future is None:
            future = self._ended[line_id] = self._loop.create_future()
        return future

    def _on_event(self, event: PhoneEvent) -> None:
        if not isinstance(event, LineChanged):
            return
        line = event.line
        if line.state is LineState.ENDED:
            return  # the call log's summary says how it ended
        if line.id not in self._seen:
            self._seen.add(line.id)
            if self.on_new is not None:
                self.on_new(line)
        if line.state is LineState.TALKING:
            talking = self.talking(line.id)
            if not talking.done():
                talking.set_result(line)
                if self.on_talking is not None:
                    self.on_talking(line)

    def _on_summary(self, summary: CallSummary) -> None:
        ended = self.ended(summary.line_id)
        if not ended.done():
            ended.set_result(summary)
        self._talking.pop(summary.line_id, None)
        self._seen.discard(summary.line_id)
        self._recent[summary.line_id] = self._ended.pop(summary.line_id, ended)
        while len(self._recent) > self.RECENT_KEPT:
            self._recent.popitem(last=False)
        if self.on_ended is not None:
            self.on_ended(summary)


__all__ = ["AudioChoice", "AudioOptions", "LineDevices", "LineWatch", "open_audio"]
