"""A stranger on the LAN: hand-built IAX2 frames from another loopback address.

The stranger sends from 127.0.0.2 (any 127/8 address reaches the phone on
127.0.0.1) straight to the phone's port, as anyone who knows that port
could: it completes the call-token exchange like a real caller, then
sends a NEW with whatever caller ID and flags it likes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from iaxphone.wire.constants import Format, FrameType, IaxCommand
from iaxphone.wire.frames import Frame, FullFrame, MiniFrame, parse_frame
from iaxphone.wire.ies import InformationElements

STRANGER_HOST = "127.0.0.2"
Address = tuple[str, int]


class _Inbox(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.frames: asyncio.Queue[Frame] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: Address) -> None:
        with contextlib.suppress(Exception):
            self.frames.put_nowait(parse_frame(data))


class Stranger:
    """A UDP socket on 127.0.0.2 that speaks just enough IAX2 to knock."""

    def __init__(self, transport: asyncio.DatagramTransport, inbox: _Inbox) -> None:
        self.transport = transport
        self.inbox = inbox
        self.received: list[Frame] = []

    def send(self, frame: Frame, to: Address) -> None:
        self.transport.sendto(frame.to_bytes(), to)

    async def reply(self, timeout: float = 3.0) -> Frame:
        frame = await asyncio.wait_for(self.inbox.frames.get(), timeout)
        self.received.append(frame)
        return frame

    async def reply_of(self, command: int, timeout: float = 3.0) -> FullFrame:
        """The next full IAX frame with this subclass (others are kept in ``received``)."""

        async def wait() -> FullFrame:
            while True:
                frame = await self.reply(timeout)
                if (
                    isinstance(frame, FullFrame)
                    and frame.frame_type == FrameType.IAX
                    and frame.subclass == command
                ):
                    return frame

        return await asyncio.wait_for(wait(), timeout)

    async def call(
        self,
        phone: Address,
        *,
        auto_answer: bool = False,
        name: str = "Stranger",
        number: str = "9999",
        source_call: int = 777,
    ) -> FullFrame:
        """Knock: token request, then a NEW; returns the phone's first answer to the NEW."""
        self.send(new_frame(source_call, b"", auto_answer, name, number), phone)
        token_reply = await self.reply_of(IaxCommand.CALLTOKEN)
        token = token_reply.ies.call_token if token_reply.ies is not None else None
        assert token, token_reply
        self.send(new_frame(source_call, token, auto_answer, name, number), phone)
        while True:
            frame = await self.reply()
            if isinstance(frame, FullFrame) and frame.frame_type == FrameType.IAX:
                return frame


def new_frame(
    source_call: int, token: bytes, auto_answer: bool, name: str, number: str
) -> FullFrame:
    ies = InformationElements(
        version=2,
        called_number="6006",
        calling_number=number,
        calling_name=name,
        capability=int(Format.ULAW),
        format=int(Format.ULAW),
        call_token=token,
    )
    if auto_answer:
        ies.auto_answer = True
    return FullFrame(
        source_call=source_call,
        dest_call=0,
        timestamp=0,
        oseqno=0,
        iseqno=0,
        frame_type=FrameType.IAX,
        subclass=IaxCommand.NEW,
        ies=ies,
    )


def iax_frame(
    command: IaxCommand,
    *,
    source_call: int,
    dest_call: int,
    oseqno: int = 0,
    iseqno: int = 0,
    timestamp: int = 0,
    ies: InformationElements | None = None,
) -> FullFrame:
    return FullFrame(
        source_call=source_call,
        dest_call=dest_call,
        timestamp=timestamp,
        oseqno=oseqno,
        iseqno=iseqno,
        frame_type=FrameType.IAX,
        subclass=command,
        ies=ies or InformationElements(),
    )


def mini_voice(source_call: int, timestamp: int, payload: bytes) -> MiniFrame:
    return MiniFrame(source_call=source_call, timestamp=timestamp, payload=payload)


@contextlib.asynccontextmanager
async def stranger(host: str = STRANGER_HOST) -> AsyncIterator[Stranger]:
    loop = asyncio.get_running_loop()
    transport, inbox = await loop.create_datagram_endpoint(_Inbox, local_addr=(host, 0))
    try:
        yield Stranger(transport, inbox)
    finally:
        transport.close()
