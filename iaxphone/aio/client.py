"""The async facade over the IAX2 endpoint, used by the CLI, the GUI and the tests.

::

    async with IaxClient(formats=[Format.ULAW]) as client:
        await client.register(Account("6001", "secret", ("127.0.0.1", 4569)))
        call = await client.dial(("127.0.0.1", 4569), CallOptions("600", "6001", "secret"))
        await call.wait_answered()
        call.send_audio(payload, 20)
        frame = await call.audio.get()
        await call.hangup()

Each call is a :class:`CallHandle` with its own event queue, a queue of
received audio and futures for "answered" and "ended".  Incoming calls
arrive on :attr:`IaxClient.incoming`.  Commands run synchronously on the
endpoint and flush at once, so a command's datagram is on the wire when the
method returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Protocol, TypeVar

from iaxphone.errors import IaxphoneError
from iaxphone.proto.call import CallOptions
from iaxphone.proto.endpoint import Endpoint, EndpointConfig
from iaxphone.proto.events import (
    AudioReceived,
    CallAccepted,
    CallAnswered,
    CallEnded,
    Event,
    IncomingCall,
    MessageWaiting,
    Registered,
    RegistrationFailed,
    Unregistered,
)
from iaxphone.proto.registration import Account, RegState
from iaxphone.wire.constants import Cause
from iaxphone.wire.report import ReceiverReport

from .protocol import Address, EndpointProtocol
from .udp import open_udp_socket

log = logging.getLogger("iaxphone.aio")

T = TypeVar("T")

DatagramOpener = Callable[
    [Callable[[], EndpointProtocol], Address],
    Awaitable[tuple[asyncio.DatagramTransport, EndpointProtocol]],
]
"""Opens the client's one datagram socket: ``loop.create_datagram_endpoint`` unless a
test gives an in-memory network's (``opener(protocol_factory, local_address)``)."""


class RegistrationError(IaxphoneError):
    """Registration refused or unanswered; ``str()`` says why in plain words."""

    def __init__(self, failure: RegistrationFailed) -> None:
        super().__init__(failure.reason)
        self.failure = failure


class UnreachableError(IaxphoneError):
    """The server's name does not resolve."""


class CallFailedError(IaxphoneError):
    """The call ended before it was answered."""

    def __init__(self, ended: CallEnded) -> None:
        super().__init__(ended.cause)
        self.ended = ended


class MediaSink(Protocol):
    """Where a call's received voice goes once audio is attached (a MediaSession)."""

    def on_audio(self, timestamp: int, payload: bytes, arrival: float) -> None: ...
    def on_event(self, event: Event) -> None: ...


class CallHandle:
    """One call as seen from asyncio code.

    Received voice goes to :attr:`audio` (a queue of AudioReceived) until a
    media session is attached as :attr:`media`; then straight to it, with
    its arrival time.
    """

    def __init__(
        self, client: IaxClient, call_id: int, incoming: IncomingCall | None = None
    ) -> None:
        self.client = client
        self.call_id = call_id
        self.incoming = incoming
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self.audio: asyncio.Queue[AudioReceived] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        self.answered: asyncio.Future[None] = loop.create_future()
        self.ended: asyncio.Future[CallEnded] = loop.create_future()
        self.format = incoming.format if incoming else 0
        self.encrypted = False
        self.media: MediaSink | None = None

    def _deliver(self, event: Event) -> None:
        if isinstance(event, AudioReceived):
            if self.media is not None:
                self.media.on_audio(event.timestamp, event.payload, self.client.now())
            else:
                self.audio.put_nowait(event)
            return
        self.events.put_nowait(event)
        if self.media is not None:
            self.media.on_event(event)
        if isinstance(event, CallAccepted):
            self.format = event.format
            self.encrypted = event.encrypted
        elif isinstance(event, CallAnswered) and not self.answered.done():
            self.answered.set_result(None)
        elif isinstance(event, CallEnded):
            if not self.answered.done():
                self.answered.set_exception(CallFailedError(event))
                self.answered.exception()  # retrieved: no "never retrieved" warning
            if not self.ended.done():
                self.ended.set_result(event)

    async def wait_answered(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(asyncio.shield(self.answered), timeout)

    async def wait_ended(self, timeout: float | None = None) -> CallEnded:
        return await asyncio.wait_for(asyncio.shield(self.ended), timeout)

    async def next_event(self, kind: type[T], timeout: float | None = None) -> T:
        """Wait for this call's next event of ``kind`` (others are skipped)."""

        async def wait() -> T:
            while True:
                event = await self.events.get()
                if isinstance(event, kind):
                    return event

        return await asyncio.wait_for(wait(), timeout)

    # Commands: each runs on the endpoint and flushes immediately.
    def accept(self, fmt: int | None = None) -> None:
        self.client.run(lambda now: self.client.endpoint.accept(self.call_id, now, fmt))

    def answer(self) -> None:
        self.client.run(lambda now: self.client.endpoint.answer(self.call_id, now))

    def reject(self, cause: str = "rejected", cause_code: int = Cause.CALL_REJECTED) -> None:
        self.client.run(
            lambda now: self.client.endpoint.reject(self.call_id, now, cause, cause_code)
        )

    async def hangup(
        self, cause: str = "normal clearing", cause_code: int = Cause.NORMAL_CLEARING
    ) -> CallEnded:
        if not self.ended.done():
            self.client.run(
                lambda now: self.client.endpoint.hangup(self.call_id, now, cause, cause_code)
            )
        return await self.wait_ended()

    def send_audio(self, payload: bytes, duration_ms: int) -> None:
        self.client.run_soon(
            lambda now: self.client.endpoint.send_audio(self.call_id, payload, duration_ms, now)
        )

    def send_dtmf(self, digit: str, begin: bool = False) -> None:
        self.client.run(lambda now: self.client.endpoint.send_dtmf(self.call_id, digit, now, begin))

    def hold(self, music_class: str | None = None) -> None:
        self.client.run(lambda now: self.client.endpoint.hold(self.call_id, now, music_class))

    def unhold(self) -> None:
        self.client.run(lambda now: self.client.endpoint.unhold(self.call_id, now))

    def blind_transfer(self, number: str, context: str | None = None) -> None:
        self.client.run(
            lambda now: self.client.endpoint.blind_transfer(self.call_id, number, now, context)
        )

    def update_receiver_report(self, report: ReceiverReport) -> None:
        """Our view of the far end's voice for the next PING/PONG (nothing is sent now)."""
        self.client.endpoint.update_receiver_report(self.call_id, report)

    def send_text(self, text: str) -> int:
        return self.client.run(lambda now: self.client.endpoint.send_text(self.call_id, text, now))

    def flash(self) -> None:
        self.client.run(lambda now: self.client.endpoint.flash(self.call_id, now))


class IaxClient:
    """One UDP socket, one endpoint, many calls and registrations."""

    def __init__(
        self,
        local: Address = ("0.0.0.0", 0),
        config: EndpointConfig | None = None,
        formats: list[int] | None = None,
        *,
        opener: DatagramOpener | None = None,
    ) -> None:
        if config is None:
            config = EndpointConfig(formats=list(formats or []))
        self.local = local
        self.opener = opener
        self.endpoint = Endpoint(config)
        self.protocol: EndpointProtocol | None = None
        self.transport: asyncio.DatagramTransport | None = None
        self.calls: dict[int, CallHandle] = {}
        self.incoming: asyncio.Queue[CallHandle] = asyncio.Queue()
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self._registrations: dict[str, asyncio.Future[Registered]] = {}
        self._unregistrations: dict[str, asyncio.Future[None]] = {}
        self._flush_soon: asyncio.Handle | None = None

    async def __aenter__(self) -> IaxClient:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        if self.opener is not None:
            factory = lambda: EndpointProtocol(self.endpoint, self._on_event)  # noqa: E731
            transport, protocol = await self.opener(factory, self.local)
        else:
            sock = open_udp_socket(self.local)
            loop = asyncio.get_running_loop()
            try:
                transport, protocol = await loop.create_datagram_endpoint(
                    lambda: EndpointProtocol(self.endpoint, self._on_event, sock), sock=sock
                )
            except BaseException:
                sock.close()
                raise
        self.transport = transport
        self.protocol = protocol

    @property
    def local_address(self) -> Address:
        assert self.transport is not None
        host, port = self.transport.get_extra_info("sockname")[:2]
        return host, port

    async def close(self, timeout: float = 2.0) -> None:
        """Hang up every call, release every registration, then close the socket."""
        if self.transport is None:
            return
        pending: list[Awaitable[object]] = []
        for call in list(self.calls.values()):
            if not call.ended.done():
                pending.append(call.hangup())
        for name in self.endpoint.registration_names():
            if self.endpoint.registration_state(name) in (
                RegState.REGISTERED,
                RegState.REGISTERING,
            ):
                pending.append(self.unregister(name))
        if pending:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.gather(*pending, return_exceptions=True), timeout)
        self.transport.close()
        self.transport = None

    def now(self) -> float:
        assert self.protocol is not None, "IaxClient is not started"
        return self.protocol.now()

    def run(self, command: Callable[[float], T]) -> T:
        """Run an endpoint command at the loop's ``now`` and flush its output."""
        assert self.protocol is not None, "IaxClient is not started"
        result = command(self.protocol.now())
        self.protocol.flush()
        return result

    def run_soon(self, command: Callable[[float], T]) -> T:
        """Run an endpoint command now, flushing once when the loop's current step ends.

        For voice: the frame clock ticks every call in one step, so hundreds
        of frames share one flush (one pass over what is pending, one timer
        re-arm) instead of one each; they still leave within the same step.
        """
        protocol = self.protocol
        assert protocol is not None, "IaxClient is not started"
        result = command(protocol.now())
        if self._flush_soon is None:
            self._flush_soon = protocol.loop.call_soon(self._deferred_flush)
        return result

    def _deferred_flush(self) -> None:
        self._flush_soon = None
        if self.protocol is not None:
            self.protocol.flush()

    # -- registration -----------------------------------------------------------

    async def resolve(self, address: Address) -> Address:
        """A host name to the IP address replies will come from (sessions are keyed by it)."""
        host, port = address
        with contextlib.suppress(ValueError):
            if ipaddress.ip_address(host).version == 4:
                return host, port  # already an address: nothing to look up
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(
                host, port, family=socket.AF_INET, type=socket.SOCK_DGRAM
            )
        except OSError as exc:
            raise UnreachableError(f"cannot resolve {host!r}: {exc.strerror or exc}") from None
        resolved = infos[0][4]
        return str(resolved[0]), int(resolved[1])

    async def register(self, account: Account, timeout: float | None = 10.0) -> Registered:
        """Register and wait for the answer; raises RegistrationError with the reason."""
        server = await self.resolve(account.server)
        if server != account.server:
            account = dataclasses.replace(account, server=server)
        future: asyncio.Future[Registered] = asyncio.get_running_loop().create_future()
        self._registrations[account.name] = future
        self.run(lambda now: self.endpoint.register(account, now))
        return await asyncio.wait_for(future, timeout)

    async def unregister(self, account_name: str, timeout: float | None = 5.0) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._unregistrations[account_name] = future
        self.run(lambda now: self.endpoint.unregister(account_name, now))
        if future.done() or self.endpoint.registration_state(account_name) is RegState.IDLE:
            return
        await asyncio.wait_for(future, timeout)

    # -- calls -------------------------------------------------------------------

    async def dial(self, server: Address, options: CallOptions) -> CallHandle:
        server = await self.resolve(server)
        call_id = self.run(lambda now: self.endpoint.dial(server, options, now))
        handle = self.calls[call_id] = CallHandle(self, call_id)
        return handle

    # -- events ------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        call_id = getattr(event, "call_id", None)
        if isinstance(event, IncomingCall):
            handle = self.calls[event.call_id] = CallHandle(self, event.call_id, event)
            self.incoming.put_nowait(handle)
            return
        if call_id is not None:
            known = self.calls.get(call_id)
            if known is not None:
                known._deliver(event)
            if isinstance(event, CallEnded):
                self.calls.pop(call_id, None)
            if not isinstance(event, AudioReceived):
                self.events.put_nowait(event)
            return
        self.events.put_nowait(event)
        if isinstance(event, Registered):
            self._settle(self._registrations, event.account, result=event)
        elif isinstance(event, RegistrationFailed):
            self._settle(self._registrations, event.account, error=RegistrationError(event))
        elif isinstance(event, Unregistered):
            self._settle(self._unregistrations, event.account, result=None)
        elif isinstance(event, MessageWaiting):
            log.info(
                "voicemail for %s: %d new, %d old",
                event.account,
                event.new_messages,
                event.old_messages,
            )

    @staticmethod
    def _settle(
        futures: dict[str, asyncio.Future[T]],
        key: str,
        result: T | None = None,
        error: Exception | None = None,
    ) -> None:
        future = futures.pop(key, None)
        if future is None or future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]
