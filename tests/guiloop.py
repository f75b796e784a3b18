"""Helpers for the GUI panel tests: a qasync loop, real phones and a PbxClient to wait on."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import qasync
from PyQt6.QtWidgets import QApplication

from iaxphone.history import History
from iaxphone.media.virtual import MemorySink, ToneSource
from iaxphone.pbx.ami import PbxClient, PbxEvent
from iaxphone.phone import Phone, PhoneAccount
from iaxphone.wire.constants import Format
from tests.pbx import Pbx


def run_on_qt_loop(qapp: QApplication, scenario: Coroutine[Any, Any, None]) -> None:
    """Run ``scenario`` on an asyncio loop that lives inside Qt's (as the app does)."""
    loop = qasync.QEventLoop(qapp)
    try:
        loop.run_until_complete(scenario)
    finally:
        loop.close()
        asyncio.set_event_loop(None)


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


@contextlib.asynccontextmanager
async def console_client(pbx: Pbx) -> AsyncIterator[PbxClient]:
    """A PbxClient logged in as the least-privileged console user."""
    client = PbxClient(pbx.host, pbx.ami_port, pbx.ami_user, pbx.ami_secret)
    await client.connect()
    try:
        yield client
    finally:
        client.close()


async def phone_until(phone: Phone, holds: Callable[[], bool], timeout: float = 10) -> None:
    """Wait, event by event from the phone, until ``holds()``."""

    async def wait() -> None:
        while not holds():
            await phone.events.get()

    await asyncio.wait_for(wait(), timeout)
