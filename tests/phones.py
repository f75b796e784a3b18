"""Helpers that run real iaxphone endpoints (IaxClient) against the bundled PBX."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from iaxphone.aio.client import CallHandle, IaxClient
from iaxphone.phone import LineChanged, LineState, Phone
from iaxphone.proto.call import CallOptions
from iaxphone.proto.endpoint import EndpointConfig
from iaxphone.proto.registration import Account
from iaxphone.wire.constants import Format
from tests.pbx import Pbx

FRAME_MS = 20
ULAW_FRAME = 160  # bytes of u-law per 20 ms


@contextlib.asynccontextmanager
async def phone(
    pbx: Pbx,
    extension: int,
    formats: list[int] | None = None,
    register: bool = True,
    **config: object,
) -> AsyncIterator[IaxClient]:
    """An IaxClient on 127.0.0.1, registered as ``extension`` (6001-6010)."""
    settings = EndpointConfig(formats=formats or [Format.ULAW], **config)  # type: ignore[arg-type]
    async with IaxClient(("127.0.0.1", 0), config=settings) as client:
        if register:
            username, secret = pbx.extension(extension)
            await client.register(Account(username, secret, (pbx.host, pbx.iax_port)), timeout=10)
        yield client


async def call_from(
    client: IaxClient, pbx: Pbx, extension: int, number: str, encryption: str = "allowed"
) -> CallHandle:
    username, secret = pbx.extension(extension)
    options = CallOptions(
        number, username=username, secret=secret, caller_number=username, encryption=encryption
    )
    return await client.dial((pbx.host, pbx.iax_port), options)


async def answered_call(
    caller: IaxClient, callee: IaxClient, pbx: Pbx, extension: int, number: str
) -> tuple[CallHandle, CallHandle]:
    """``extension`` on ``caller`` calls ``number``; ``callee`` answers.  (caller's, callee's)"""
    call = await call_from(caller, pbx, extension, number)
    answered = await asyncio.wait_for(callee.incoming.get(), 5)
    answered.answer()
    await call.wait_answered(timeout=5)
    return call, answered


def numbered_payload(index: int, size: int = ULAW_FRAME) -> bytes:
    """A frame whose bytes identify it (so echoed frames can be matched to sent ones)."""
    return bytes(((index * 37 + k) % 251) for k in range(size))


async def pump_audio(
    call: CallHandle, frames: int, payload: Callable[[int], bytes] = numbered_payload
) -> list[bytes]:
    """Send ``frames`` voice frames paced in real time (20 ms each, no drift)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    sent = []
    for i in range(frames):
        delay = start + i * FRAME_MS / 1000 - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        data = payload(i)
        call.send_audio(data, FRAME_MS)
        sent.append(data)
    return sent


def drain_audio(call: CallHandle) -> list[bytes]:
    out = []
    while not call.audio.empty():
        out.append(call.audio.get_nowait().payload)
    return out


async def next_incoming(phone: Phone, timeout: float = 10.0) -> int:
    """The id of the next line that rings on a :class:`~iaxphone.phone.Phone`."""

    event = await phone.hub.wait_for(
        lambda e: isinstance(e, LineChanged) and e.line.state is LineState.INCOMING, timeout
    )
    assert isinstance(event, LineChanged)
    return event.line.id
