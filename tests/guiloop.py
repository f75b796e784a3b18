"""Helpers for the GUI panel tests: a qasync loop, real phones and a PbxClient to wait on."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import qasync
from PyQt6.QtWidgets import QApplication, QWidget

from iaxphone.history import History
from iaxphone.media.virtual import MemorySink, ToneSource
from iaxphone.pbx.ami import PbxClient, PbxEvent
from iaxphone.phone import Phone, PhoneAccount
from iaxphone.wire.constants import Format
from tests.ami import AmiWatcher
from tests.pbx import Pbx


def run_on_qt_loop(qapp: QApplication, scenario: Coroutine[Any, Any, None]) -> None:
    """Run ``scenario`` on an asyncio loop that lives inside Qt's (as the app does)."""
    loop = qasync.QEventLoop(qapp)
    try:
        loop.run_until_complete(scenario)
    finally:
        loop.close()
        asyncio.set_event_loop(None)


OUTPUT = Path(__file__).resolve().parent.parent / "test-output" / "screenshots"


def screenshot(window: QWidget, name: str) -> None:
    """Save the window as test-output/screenshots/NAME.png and check it is not blank."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    shot = window.grab()
    assert shot.save(str(OUTPUT / f"{name}.png"))
    image = shot.toImage()
    colours = {
        image.pixel(x, y)
        for x in range(0, image.width(), max(1, image.width() // 40))
        for y in range(0, image.height(), max(1, image.height() // 40))
    }
    assert len(colours) > 10


async def until(phone: Phone, holds: Callable[[], bool], timeout: float = 10) -> None:
    """Wait, event by event from the phone, until the window shows ``holds``."""

    async def wait() -> None:
        with phone.event_queue() as events:
            while not holds():
                await events.get()

    await asyncio.wait_for(wait(), timeout)


def desk_phone(pbx: Pbx, extension: int, history: History | None = None) -> Phone:
    user, secret = pbx.extension(extension)
    return Phone(
        [PhoneAccount("desk", (pbx.host, pbx.iax_port), user, secret)],
        source=ToneSource(440, 8000),
        sink=MemorySink(8000),
        formats=[Format.ULAW],
        local=("127.0.0.1", 0),
        history=history,
    )


class PbxWaiter:
    """Wakes a waiting test on every PbxClient event."""

    def __init__(self, client: PbxClient) -> None:
        self.client = client
        self._arrived = asyncio.Event()
        client.subscribe(self._on_event)

    def _on_event(self, _event: PbxEvent) -> None:
        self._arrived.set()

    async def until(self, holds: Callable[[], bool], timeout: float = 10) -> None:
        """Wait, event by event from the PBX, until ``holds()``."""

        async def wait() -> None:
            while not holds():
                self._arrived.clear()
                await self._arrived.wait()

        await asyncio.wait_for(wait(), timeout)


def gui_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment for an ``iaxphone gui`` subprocess: no display, no stray secrets."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    for name in ("IAXPHONE_SECRET", "IAXPHONE_AMI_USER", "IAXPHONE_AMI_SECRET", "QT_QPA_PLATFORM"):
        env.pop(name, None)
    env["IAXPHONE_DATA_DIR"] = str(tmp_path / "data")
    env["IAXPHONE_CONFIG"] = os.devnull  # an empty configuration
    env.update(extra)
    return env


async def run_gui_until(
    ami: AmiWatcher,
    tmp_path: Path,
    args: list[str],
    *seen: Callable[[Any], bool],
    timeout: float = 20,
    **env: str,
) -> tuple[int | None, bytes]:
    """Run ``iaxphone gui ARGS`` (Qt offscreen, ``env`` added) until AMI has shown each of
    ``seen``, in order, then SIGTERM it; (exit code, stderr)."""
    mark = len(ami.events)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "iaxphone.cli", "gui", *args,
        env=gui_env(tmp_path, QT_QPA_PLATFORM="offscreen", **env),
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        for wanted in seen:
            await ami.wait_for(
                lambda e, wanted=wanted: ami.events.index(e) >= mark and wanted(e),  # type: ignore[misc]
                timeout=timeout,
            )
        process.send_signal(signal.SIGTERM)
        _out, err = await asyncio.wait_for(process.communicate(), 15)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return process.returncode, err


def registered(extension: str) -> Callable[[Any], bool]:
    """An AMI event predicate: ``extension`` registered."""
    return lambda e: (
        e.Event == "PeerStatus" and e.Peer == f"IAX2/{extension}" and e.PeerStatus == "Registered"
    )
