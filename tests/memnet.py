"""Phones on an in-memory lossy network, on an event loop whose clock is fake.

Design habit 8 at the asyncio layer: :mod:`tests.proto_link` drives bare
sans-IO endpoints; this drives whole :class:`~iaxphone.phone.Phone` objects
(their IaxClient, media pacing, timers) with no socket and no waiting.

* :class:`VirtualClockLoop` is an asyncio loop whose ``time()`` is fake:
  when nothing is ready it jumps straight to the next timer instead of
  sleeping, so an hour of a call with 20 ms frames runs as fast as the
  code can go.  Nothing here may use threads (no ``getaddrinfo`` on names:
  every address is an IP literal).
* :class:`MemoryNetwork` carries datagrams between the sockets it opened
  (``network.opener`` goes to ``Phone(network=...)`` /
  ``IaxClient(opener=...)``), each direction with its seeded
  :class:`~tests.proto_link.Conditions` (delay, loss, duplication, reordering).
* :class:`MiniPbx` is the PBX: an IaxClient whose endpoint is the built-in
  registrar (``EndpointConfig.users``).  It answers calls to it, echoes their
  voice back, and can call a phone.
"""

from __future__ import annotations

import asyncio
import random
import selectors
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from iaxphone.aio.client import CallHandle, IaxClient
from iaxphone.aio.protocol import EndpointProtocol
from iaxphone.history import History
from iaxphone.media.virtual import MemorySink, Sink, ToneSource
from iaxphone.phone import Phone, PhoneAccount
from iaxphone.proto.call import CallOptions
from iaxphone.proto.endpoint import EndpointConfig
from iaxphone.wire.constants import Format
from tests.proto_link import Conditions

Address = tuple[str, int]
T = TypeVar("T")

PBX = ("127.0.0.10", 4569)
PHONE = ("127.0.0.20", 4570)
USERS = {"6001": "secret-6001", "6002": "secret-6002"}


class _VirtualSelector(selectors.DefaultSelector):
    """Reports what is ready now; instead of blocking, moves the loop's clock on."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = 0.0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(0)
        if ready or timeout is None:
            return ready if ready or timeout == 0 else super().select(timeout)
        self.clock += timeout
        return []


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """An event loop on fake time (see the module docstring)."""

    def __init__(self, start: float = 1000.0) -> None:
        self._virtual = _VirtualSelector()
        self._virtual.clock = start
        super().__init__(self._virtual)

    def time(self) -> float:
        return self._virtual.clock


def run_virtual(scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``scenario()`` to the end on a fresh :class:`VirtualClockLoop`."""
    loop = VirtualClockLoop()
    try:
        return loop.run_until_complete(scenario())
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


class MemoryTransport(asyncio.DatagramTransport):
    def __init__(self, network: MemoryNetwork, address: Address) -> None:
        super().__init__()
        self.network = network
        self.address = address
        self._closing = False

    def sendto(self, data: bytes | bytearray | memoryview, addr: Any = None) -> None:
        if not self._closing:
            self.network.send(self.address, (str(addr[0]), int(addr[1])), bytes(data))

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.address if name == "sockname" else default

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        self._closing = True
        self.network.sockets.pop(self.address, None)

    def abort(self) -> None:
        self.close()


class MemoryNetwork:
    """Datagrams between in-memory sockets, delivered on the loop's (fake) clock."""

    def __init__(self, seed: int = 0, conditions: Conditions | None = None) -> None:
        self.rng = random.Random(seed)
        self.default = conditions or Conditions(delay=0.005)
        self.paths: dict[tuple[Address, Address], Conditions] = {}
        self.sockets: dict[Address, EndpointProtocol] = {}
        self.sent = 0
        self.dropped = 0

    def condition(self, src: Address, dst: Address, conditions: Conditions) -> None:
        self.paths[(src, dst)] = conditions

    async def opener(
        self, factory: Callable[[], EndpointProtocol], local: Address
    ) -> tuple[asyncio.DatagramTransport, EndpointProtocol]:
        if local in self.sockets or local[1] == 0:
            raise OSError(f"address {local} in use (or no fixed port)")
        protocol = factory()
        transport = MemoryTransport(self, local)
        protocol.connection_made(transport)
        self.sockets[local] = protocol
        return transport, protocol

    def send(self, src: Address, dst: Address, data: bytes) -> None:
        self.sent += 1
        way = self.paths.get((src, dst), self.default)
        rng = self.rng
        if rng.random() < way.loss:
            self.dropped += 1
            return
        copies = 2 if rng.random() < way.duplicate else 1
        loop = asyncio.get_running_loop()
        for _ in range(copies):
            delay = way.delay
            if rng.random() < way.reorder:
                delay += rng.uniform(0, way.reorder_delay)
            loop.call_later(delay, self._deliver, src, dst, data)

    def _deliver(self, src: Address, dst: Address, data: bytes) -> None:
        protocol = self.sockets.get(dst)
        if protocol is not None:
            protocol.datagram_received(data, src)


class MiniPbx:
    """The built-in registrar on the network: answers calls to it, echoes voice, calls out."""

    def __init__(self, network: MemoryNetwork, address: Address = PBX) -> None:
        config = EndpointConfig(formats=[Format.ULAW], users=dict(USERS))
        self.client = IaxClient(address, config, opener=network.opener)
        self.address = address
        self.answered: list[CallHandle] = []
        self.answer_calls = True
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> MiniPbx:
        await self.client.start()
        self._spawn(self._serve())
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        await self.client.close()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self) -> None:
        while True:
            call = await self.client.incoming.get()
            call.accept()
            if self.answer_calls:
                call.answer()
                self.answered.append(call)
                self._spawn(self._echo(call))

    async def _echo(self, call: CallHandle) -> None:
        while not call.ended.done():
            frame = await call.audio.get()
            if not call.ended.done():
                call.send_audio(frame.payload, len(frame.payload) // 8)  # u-law: 8 bytes a ms

    async def call(self, phone: Address, number: str, **options: Any) -> CallHandle:
        """Call a phone from the PBX (the way Asterisk rings a registered peer)."""
        return await self.client.dial(phone, CallOptions(number, caller_number="6002", **options))


def memory_phone(
    network: MemoryNetwork,
    *,
    address: Address = PHONE,
    user: str = "6001",
    history: History | None = None,
    wall_clock: Callable[[], float] | None = None,
    sink: Sink | None = None,
    frame_ms: int = 20,
    **account: Any,
) -> Phone:
    """A phone registered to the MiniPbx as ``user``, on the memory network."""
    loop_clock = wall_clock or (lambda: asyncio.get_running_loop().time())
    return Phone(
        [PhoneAccount("desk", PBX, user, USERS[user], **account)],
        source=ToneSource(440, 8000),
        sink=sink if sink is not None else MemorySink(8000),
        formats=[Format.ULAW],
        local=address,
        history=history,
        network=network.opener,
        wall_clock=loop_clock,
        frame_ms=frame_ms,
    )


async def settle(seconds: float) -> None:
    """Let ``seconds`` of fake time pass (everything scheduled in them runs)."""
    await asyncio.sleep(seconds)


__all__ = [
    "PBX",
    "PHONE",
    "USERS",
    "Awaitable",
    "MemoryNetwork",
    "MiniPbx",
    "VirtualClockLoop",
    "memory_phone",
    "run_virtual",
    "settle",
]
