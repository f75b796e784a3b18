"""Ctrl-C and SIGTERM as an asyncio event, for commands that run until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def stop_on_signals(stop: asyncio.Event | None = None) -> Iterator[asyncio.Event]:
    """An event set by Ctrl-C or SIGTERM while inside; the handlers are removed after.

    Pass ``stop`` to have the signals set an event the command already waits on.
    Where the loop cannot take signal handlers (not the main thread), the
    event is still returned and Python's default Ctrl-C applies.
    """
    stop = stop if stop is not None else asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []
    for sig in STOP_SIGNALS:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    try:
        yield stop
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
