"""An AMI event recorder for integration tests (panoramisk, admin user)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Any

from panoramisk import Manager
from panoramisk.message import Message

from iaxphone.pbx.ami import PbxClient
from tests.pbx import Pbx


class AmiWatcher:
    """Collects every AMI event; ``wait_for`` blocks until one matches."""

    def __init__(self, pbx: Pbx) -> None:
        self.manager = Manager(
            host=pbx.host,
            port=pbx.ami_port,
            username=pbx.admin_user,
            secret=pbx.admin_secret,
            ping_delay=0,
        )
        self.events: list[Message] = []
        self._changed = asyncio.Condition()
        self._notifiers: set[asyncio.Future[None]] = set()

    async def __aenter__(self) -> AmiWatcher:
        await self.manager.connect()
        self.manager.register_event("*", self._on_event)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.manager.close()

    def _on_event(self, manager: Manager, message: Message) -> None:
        self.events.append(message)

        async def notify() -> None:
            async with self._changed:
                self._changed.notify_all()

        task = asyncio.ensure_future(notify())
        self._notifiers.add(task)
        task.add_done_callback(self._notifiers.discard)

    async def wait_for(
        self, predicate: Callable[[Message], bool], timeout: float = 10.0
    ) -> Message:
        """The first event (already seen or still to come) for which predicate holds."""

        async def wait() -> Message:
            async with self._changed:
                while True:
                    for event in self.events:
                        if predicate(event):
                            return event
                    await self._changed.wait()

        return await asyncio.wait_for(wait(), timeout)

    async def action(self, **fields: Any) -> Any:
        return await self.manager.send_action(fields)

    async def command(self, command: str) -> str:
        reply = await self.manager.send_action({"Action": "Command", "Command": command})
        output = reply.get("Output", [])
        return "\n".join(output) if isinstance(output, list) else str(output)


@contextlib.asynccontextmanager
async def console_client(pbx: Pbx) -> AsyncIterator[PbxClient]:
    """iaxphone's own PbxClient, logged in as the least-privileged console user."""
    client = PbxClient(pbx.host, pbx.ami_port, pbx.ami_user, pbx.ami_secret)
    await client.connect()
    try:
        yield client
    finally:
        client.close()
