"""What every IAX2 session shares: call numbers, timestamps, reliable sending.

A *session* is one IAX2 call-number pair between us and a peer: a call, a
registration transaction, or the short exchange that answers a POKE.  The
endpoint owns the sessions and routes each arriving full frame to one; the
session runs it through :class:`~iaxphone.proto.reliability.Reliability`
(sequencing, duplicates, gaps) and then to its own handler table.

Timestamps: full frames carry milliseconds since the session began.  Like
chan_iax2, a non-voice frame never repeats or goes back in time: if the
clock has not moved on since the last frame, the timestamp is the last one
plus 3 ms, so every frame we send can be told apart by its timestamp.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Protocol

from iaxphone.wire.constants import FrameType, IaxCommand
from iaxphone.wire.frames import FullFrame
from iaxphone.wire.ies import InformationElements

from .crypto import FrameCipher
from .events import Event
from .reliability import Arrival, Reliability, RetryPolicy, earliest

log = logging.getLogger("iaxphone.proto")

Address = tuple[str, int]

SEND_WINDOW = 64  # frames awaiting acknowledgement, well under half of 256

# Requests whose reply acknowledges them: no separate ACK is sent.
ANSWERED_BY_REPLY = frozenset(
    {
        IaxCommand.NEW,
        IaxCommand.REGREQ,
        IaxCommand.REGREL,
        IaxCommand.PING,
        IaxCommand.LAGRQ,
        IaxCommand.POKE,
        IaxCommand.AUTHREQ,
        IaxCommand.REGAUTH,
        IaxCommand.CALLTOKEN,
    }
)


class Host(Protocol):
    """What a session needs from its endpoint."""

    def transmit(self, data: bytes, addr: Address) -> None: ...
    def emit(self, event: Event) -> None: ...
    def bind_remote(self, session: Session) -> None: ...
    def trunk_voice(self, call: Session, timestamp16: int, payload: bytes, now: float) -> None: ...
    def release(self, session: Session) -> None: ...


Handler = Callable[[FullFrame, float], None]


class Session:
    """Base of calls, registration transactions and poke replies."""

    kind = "session"

    def __init__(
        self, host: Host, local_call: int, peer: Address, now: float, retry: RetryPolicy
    ) -> None:
        self.host = host
        self.local_call = local_call
        self.remote_call = 0
        self.peer = peer
        self.started = now
        self.last_sent_ts = -1
        self.reliability = Reliability(retry)
        self.linger_until: float | None = None
        self.closed = False
        self.reply_seen = False  # an in-order frame from the peer was accepted
        self.last_rx_ts: int | None = None
        self.backlog: deque[FullFrame] = deque()
        self.cipher: FrameCipher | None = None  # set once encryption is agreed
        self.peer_encrypting = False  # an encrypted frame from the peer has arrived
        self.ahead: dict[int, FullFrame] = {}  # received past a gap, by oseqno
        self.vnak_for = -1
        self.vnak_at = float("-inf")
        self.frames_in = 0
        self.frames_out = 0

    # -- timestamps -------------------------------------------------------------

    def elapsed_ms(self, now: float) -> int:
        return max(0, round((now - self.started) * 1000))

    def next_timestamp(self, now: float) -> int:
        ts = self.elapsed_ms(now)
        if ts <= self.last_sent_ts:
            ts = self.last_sent_ts + 3
        self.last_sent_ts = ts
        return ts & 0xFFFFFFFF

    # -- sending ----------------------------------------------------------------

    def send_full(
        self,
        frame_type: int,
        subclass: int,
        now: float,
        *,
        ies: InformationElements | None = None,
        payload: bytes = b"",
        timestamp: int | None = None,
        reliable: bool = True,
        max_retries: int | None = None,
    ) -> FullFrame:
        """Build, sequence, send and (unless it is unsequenced) track a full frame.

        At most :data:`SEND_WINDOW` frames wait for acknowledgement; beyond
        that, frames queue in order and go out as ACKs open the window (more
        than half the 8-bit sequence space in flight would make old and new
        frames indistinguishable).  ``max_retries`` gives this frame a retry
        budget of its own (call set-up's: see ``SETUP_RETRIES``).
        """
        frame = FullFrame(
            source_call=self.local_call,
            dest_call=self.remote_call,
            timestamp=self.next_timestamp(now) if timestamp is None else timestamp,
            oseqno=0,
            iseqno=0,
            frame_type=frame_type,
            subclass=subclass,
            payload=payload,
            ies=ies,
        )
        if reliable and (self.backlog or len(self.reliability.pending) >= SEND_WINDOW):
            self.backlog.append(frame)
            return frame
        self._transmit_full(frame, now, reliable, max_retries)
        return frame

    def _transmit_full(
        self, frame: FullFrame, now: float, reliable: bool = True, max_retries: int | None = None
    ) -> None:
        frame.dest_call = self.remote_call
        self.reliability.stamp(frame)
        data = frame.to_bytes()
        self.send_datagram(data)
        self.frames_out += 1
        if reliable:
            self.reliability.track(frame, data, now, max_retries=max_retries)

    def flush_backlog(self, now: float) -> None:
        while self.backlog and len(self.reliability.pending) < SEND_WINDOW:
            self._transmit_full(self.backlog.popleft(), now)

    def send_datagram(self, data: bytes) -> None:
        """Every datagram of the session leaves here: encrypted once the call is."""
        self.host.transmit(
            self.cipher.encrypt(data) if self.cipher is not None else data, self.peer
        )

    def send_iax(
        self, command: IaxCommand, now: float, ies: InformationElements | None = None, **kw: int
    ) -> FullFrame:
        return self.send_full(FrameType.IAX, command, now, ies=ies or InformationElements(), **kw)  # type: ignore[arg-type]

    def send_ack(self, frame: FullFrame) -> None:
        """ACK a received frame: same timestamp, our current seqnos."""
        ack = FullFrame(
            source_call=self.local_call,
            dest_call=self.remote_call or frame.source_call,
            timestamp=frame.timestamp,
            oseqno=self.reliability.oseqno,
            iseqno=self.reliability.iseqno,
            frame_type=FrameType.IAX,
            subclass=IaxCommand.ACK,
        )
        self.send_datagram(ack.to_bytes())

    def send_unsequenced(self, command: IaxCommand, timestamp: int) -> None:
        """VNAK, INVAL and friends: sent once, never tracked."""
        frame = FullFrame(
            source_call=self.local_call,
            dest_call=self.remote_call,
            timestamp=timestamp,
            oseqno=self.reliability.oseqno,
            iseqno=self.reliability.iseqno,
            frame_type=FrameType.IAX,
            subclass=command,
        )
        self.send_datagram(frame.to_bytes())

    # -- receiving --------------------------------------------------------------

    def receive(self, frame: FullFrame, now: float) -> None:
        """Sequence-check a full frame for this session, then handle it.

        Frames that arrive ahead of a gap are kept (up to a window) and handled
        as soon as the gap is filled, so one lost frame costs one
        retransmission, not every frame after it.  The gap is reported with
        VNAK, at most once per half retry interval.
        """
        if self.remote_call == 0 and frame.source_call:
            self.remote_call = frame.source_call
            self.host.bind_remote(self)
        self.frames_in += 1
        self.last_rx_ts = frame.timestamp
        arrival = self.reliability.receive(frame)
        self.flush_backlog(now)
        if arrival is Arrival.DUPLICATE:
            log.debug(
                "%s %d: duplicate oseqno %d, ACKed again", self.kind, self.local_call, frame.oseqno
            )
            self.send_ack(frame)
            return
        if arrival is Arrival.GAP:
            if len(self.ahead) < SEND_WINDOW:
                self.ahead.setdefault(frame.oseqno, frame)
            expected = self.reliability.iseqno
            if (
                expected != self.vnak_for
                or now - self.vnak_at >= self.reliability.policy.initial / 2
            ):
                log.debug(
                    "%s %d: gap (got %d, expected %d), VNAK",
                    self.kind,
                    self.local_call,
                    frame.oseqno,
                    expected,
                )
                self.vnak_for, self.vnak_at = expected, now
                self.send_unsequenced(IaxCommand.VNAK, frame.timestamp)
            return
        self.reply_seen = True
        self._process(frame, now)
        while self.ahead and not self.closed:
            following = self.ahead.pop(self.reliability.iseqno, None)
            if following is None:
                break
            self.reliability.receive(following)
            self._process(following, now)

    def _process(self, frame: FullFrame, now: float) -> None:
        """An in-order (or unsequenced) frame: the common commands, then the session's own."""
        if frame.frame_type == FrameType.IAX:
            command = frame.subclass
            if command == IaxCommand.ACK:
                return
            if command == IaxCommand.VNAK:
                again = self.reliability.resend_from(frame.iseqno, now)
                log.debug(
                    "%s %d: VNAK from %d: %d frame(s) sent again",
                    self.kind,
                    self.local_call,
                    frame.iseqno,
                    len(again),
                )
                self.retransmit(again)
                return
        elif frame.frame_type == FrameType.NULL:
            return
        if self.closed:
            # Ended sessions only absorb retransmissions until they are released.
            self.send_ack(frame)
            return
        self.handle(frame, now)

    def handle(self, frame: FullFrame, now: float) -> None:
        """Process an in-order frame (subclasses dispatch through a table)."""
        raise NotImplementedError

    def ack_unless_answered(self, frame: FullFrame) -> None:
        if frame.frame_type != FrameType.IAX or frame.subclass not in ANSWERED_BY_REPLY:
            self.send_ack(frame)

    # -- timers -----------------------------------------------------------------

    def retransmit(self, pending: list) -> None:  # type: ignore[type-arg]
        for item in pending:
            item.frame.retransmitted = True
            item.data = item.frame.to_bytes()
            self.send_datagram(item.data)

    def next_deadline(self) -> float | None:
        return earliest(self.reliability.next_deadline(), self.linger_until)

    def on_timer(self, now: float) -> None:
        if (
            self.linger_until is not None
            and now >= self.linger_until
            and not self.reliability.pending
        ):
            self.host.release(self)
            return
        resend, dead = self.reliability.due(now)
        self.retransmit(resend)
        if dead is not None:
            log.debug(
                "%s %d: no acknowledgement for %s (oseqno %d) after %d sends: giving up",
                self.kind,
                self.local_call,
                _describe(dead.frame),
                dead.frame.oseqno,
                dead.sends,
            )
            self.reliability.forget()
            self.on_no_answer(dead.frame, now)

    def on_no_answer(self, frame: FullFrame, now: float) -> None:
        """A frame ran out of retransmissions: the peer is gone."""
        self.close(now, linger=0.0)

    def close(self, now: float, linger: float | None = None) -> None:
        """End the session; keep it to ACK the peer's retransmissions, then release it.

        By default it lingers as long as a frame can be retransmitted, and in
        any case until our own pending frames (a HANGUP) are acknowledged or
        given up on.
        """
        self.closed = True
        self.linger_until = now + (
            self.reliability.policy.give_up_after() if linger is None else linger
        )


def _describe(frame: FullFrame) -> str:
    if frame.frame_type == FrameType.IAX:
        return IaxCommand(frame.subclass).name
    return FrameType(frame.frame_type).name
