"""Watching a sound card's streams on PulseAudio (or PipeWire's PulseAudio service).

Theory of operation
-------------------
PortAudio reaches PulseAudio through ALSA's pulse plugin, which tells it
nothing when the server moves a stream: unload a sink (unplug a headset)
and the call goes on from the default device, silently.  :class:`PulseWatch`
asks the server itself, through ``pulsectl`` (ctypes bindings to libpulse).

Our streams are found by a property: :func:`tagged` sets ``PULSE_PROP``
while the card opens its PortAudio streams, so libpulse gives each stream
``iaxphone.stream=<tag>`` (a tag per card: the ringer's stream is not the
call's).  A thread of its own, with its own server connection, waits for
sink, source and stream events (or one second), then takes a sighting of
each direction (which device our stream is on, which devices exist) and
feeds it to that direction's :class:`~iaxphone.media.route.RouteMachine`.
What the machines say is carried out here (``move_to``: the stream is
moved back to the chosen device) or queued for the card (``note``: a line
for the user), which takes the notes from the thread that reads and writes
the card (the media pacer), so the notes reach the call's own thread.

Without pulsectl, libpulse or a server nothing is watched and nothing is
said: the card works as before.  The thread never raises into the call.
"""

from __future__ import annotations

import collections
import contextlib
import importlib
import logging
import os
import threading
import uuid
from collections.abc import Iterator
from typing import Any

from .route import Device, RouteMachine, Sighting

log = logging.getLogger("iaxphone.media")

PROPERTY = "iaxphone.stream"
WAKE_S = 1.0  # a sighting at least this often, events or not
CONNECT_TIMEOUT_S = 1.0

try:  # OSError when libpulse is missing
    _pulsectl: Any = importlib.import_module("pulsectl")
except Exception:
    _pulsectl = None


def available() -> bool:
    return _pulsectl is not None


def server_running() -> bool:
    """True if a PulseAudio server (or PipeWire's) answers this process."""
    if _pulsectl is None:
        return False
    try:
        probe = _pulsectl.Pulse("iaxphone probe", connect=False)
        try:
            probe.connect(timeout=CONNECT_TIMEOUT_S)
        finally:
            probe.close()
    except Exception:  # PulseError: nobody there
        return False
    return True


_env_lock = threading.Lock()


@contextlib.contextmanager
def tagged(tag: str) -> Iterator[None]:
    """Streams opened inside carry ``iaxphone.stream=<tag>`` (libpulse reads PULSE_PROP)."""
    with _env_lock:
        before = os.environ.get("PULSE_PROP")
        mine = f"{PROPERTY}={tag}"
        os.environ["PULSE_PROP"] = f"{before} {mine}" if before else mine
        try:
            yield
        finally:
            if before is None:
                os.environ.pop("PULSE_PROP", None)
            else:
                os.environ["PULSE_PROP"] = before


class PulseWatch:
    """One card's streams on the sound server: notes for the user, moves back."""

    def __init__(self, tag: str | None = None) -> None:
        self.tag = tag or uuid.uuid4().hex[:12]
        self.output = RouteMachine("output")
        self.input = RouteMachine("input")
        self.notes: collections.deque[str] = collections.deque(maxlen=20)
        self.sightings = 0
        self.error = ""
        self._stop = threading.Event()
        self._pulse: Any = None
        self._thread: threading.Thread | None = None
        self._seen = threading.Condition()
        self._dirty = False

    def start(self) -> bool:
        """Connect and start the thread; False (and nothing runs) without a server."""
        if _pulsectl is None:
            self.error = "pulsectl or libpulse is missing"
            return False
        try:
            pulse = _pulsectl.Pulse("iaxphone route watch", connect=False)
            pulse.connect(timeout=CONNECT_TIMEOUT_S)
        except Exception as exc:  # PulseError: no server here
            self.error = f"no sound server: {exc}"
            return False
        self._pulse = pulse
        self._thread = threading.Thread(target=self._run, name="pulse-watch", daemon=True)
        self._thread.start()
        return True

    def stop(self) -> None:
        """Ask the thread to end (within a second); it closes its own connection."""
        self._stop.set()
        pulse = self._pulse
        if pulse is not None:
            with contextlib.suppress(Exception):
                pulse.event_listen_stop()

    def join(self, timeout: float = 2.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def wait_sighting(self, after: int, timeout: float) -> bool:
        """Block until more than ``after`` sightings were taken, or ``timeout`` (tests)."""
        with self._seen:
            return self._seen.wait_for(lambda: self.sightings > after, timeout)

    def take_notes(self) -> list[str]:
        notes = []
        while self.notes:
            notes.append(self.notes.popleft())
        return notes

    # ------------------------------------------------------------------ the thread

    def _run(self) -> None:
        pulse = self._pulse
        try:
            pulse.event_mask_set("sink", "source", "sink_input", "source_output")
            pulse.event_callback_set(self._on_event)
            while not self._stop.is_set():
                self._dirty = False
                self._sight(pulse)
                if not self._dirty and not self._stop.is_set():  # else: an event came meanwhile
                    pulse.event_listen(timeout=WAKE_S)
        except Exception as exc:  # the server went away, or a libpulse error
            self.error = f"sound server watch stopped: {exc}"
            log.info("%s", self.error)
        finally:
            with contextlib.suppress(Exception):
                pulse.close()

    def _on_event(self, event: Any) -> None:
        self._dirty = True  # during a sighting's own calls the stop below is lost
        raise _pulsectl.PulseLoopStop  # leave event_listen: sight now (no calls in here)

    def _sight(self, pulse: Any) -> None:
        sinks = {s.index: Device(s.name, s.description) for s in pulse.sink_list()}
        sources = {s.index: Device(s.name, s.description) for s in pulse.source_list()}
        for machine, streams, devices, move in (
            (self.output, pulse.sink_input_list(), sinks, pulse.sink_input_move),
            (self.input, pulse.source_output_list(), sources, pulse.source_output_move),
        ):
            ours = [s for s in streams if s.proplist.get(PROPERTY) == self.tag]
            stream = ours[-1] if ours else None
            where = None
            if stream is not None:
                where = devices.get(stream.sink if machine is self.output else stream.source)
            sighting = Sighting(
                None if stream is None else stream.index,
                where,
                frozenset(d.name for d in devices.values()),
            )
            step = machine.observe(sighting)
            if step.note:
                log.info("%s", step.note)
                self.notes.append(step.note)
            if step.move_to and stream is not None:
                target = [i for i, d in devices.items() if d.name == step.move_to]
                if target:
                    try:
                        move(stream.index, target[0])
                    except Exception as exc:  # the stream or device vanished meanwhile
                        log.info("could not move the %s stream back: %s", machine.kind, exc)
        with self._seen:
            self.sightings += 1
            self._seen.notify_all()
