"""A PBX for in-memory tests that sequences, acknowledges and retransmits as chan_iax2 does.

Our own endpoint on the other side of a :class:`~tests.proto_link.Link`
shares our reading of RFC 5456, so it cannot find where we and Asterisk
read it differently.  This model does the few things an answered call to
Asterisk's echo test does, with chan_iax2's own rules (``socket_process``,
``iax2_send``, ``__attempt_transmit``; Asterisk 22), written from reading
them:

* a frame whose ``oseqno`` is not the expected one is dropped: ACKed again
  when it is behind ("Acking anyway", the ACK carrying the frame's
  ``iseqno`` as its ``oseqno``), answered with VNAK when it is ahead;
* the implicit acknowledgement test is chan_iax2's, quirk included: with
  ``rseqno >= oseqno`` (nothing outstanding, or the outstanding frames
  straddle the wrap 255 -> 0) any ``iseqno`` is taken as acknowledging
  everything from ``rseqno`` up to it, all the way round the circle;
* a processed frame is ACKed unless something sent since already carried
  the new ``iseqno`` (``aseqno``);
* a reliable frame is sent again after ``max(100 ms, 2 x ping time)``, then
  each time ten times later (capped at 10 s), its ``iseqno`` refreshed; after
  four resends the call is over ("Max retries exceeded"): the model records
  it and sends HANGUP;
* VNAK resends every queued frame from the VNAK's ``iseqno`` on;
* LAGRQ every ``lagrq_s`` (10 s) and PING every ``ping_s`` (21 s) from the
  answer on; LAGRQ is echoed as LAGRP, PING answered with PONG, both
  reliable.

Calls are answered at once (ACCEPT u-law, then ANSWER); no call token, no
authentication, no voice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from iaxphone.proto.events import Event
from iaxphone.wire.constants import ControlType, Format, FrameType, IaxCommand
from iaxphone.wire.frames import FullFrame, parse_frame
from iaxphone.wire.ies import InformationElements

Address = tuple[str, int]

MIN_RETRY_MS = 100
MAX_RETRY_MS = 10_000
MAX_RETRIES = 4
_NOT_SEQUENCED = {
    IaxCommand.ACK,
    IaxCommand.INVAL,
    IaxCommand.TXCNT,
    IaxCommand.TXACC,
    IaxCommand.VNAK,
}


@dataclass
class Queued:
    """A reliable frame chan_iax2 keeps in ``frame_queue`` until it is acknowledged."""

    frame: FullFrame
    due: float
    retry_ms: int
    retries: int = 0  # -1: acknowledged


@dataclass
class ModelCall:
    callno: int
    peer_call: int
    addr: Address
    started: float
    oseqno: int = 0
    iseqno: int = 0
    rseqno: int = 0
    aseqno: int = 0
    ping_ms: int = 0
    queue: list[Queued] = field(default_factory=list)
    lagrq_at: float | None = None
    ping_at: float | None = None
    max_retries: FullFrame | None = None  # the frame that ran out of retries
    hung_up: bool = False
    received: dict[str, int] = field(default_factory=dict)
    out_of_order: int = 0

    def ts(self, now: float) -> int:
        return max(1, round((now - self.started) * 1000))


class ChanIax2Model:
    """Quacks like an :class:`~iaxphone.proto.endpoint.Endpoint` for :class:`~tests.proto_link.Link`."""

    def __init__(self, *, lagrq_s: float = 10.0, ping_s: float = 21.0) -> None:
        self.lagrq_s = lagrq_s
        self.ping_s = ping_s
        self.calls: dict[int, ModelCall] = {}
        self._out: list[tuple[bytes, Address]] = []
        self._next_callno = 100

    # -- the Endpoint interface Link uses ------------------------------------------

    def datagrams_to_send(self, now: float) -> list[tuple[bytes, Address]]:
        out, self._out = self._out, []
        return out

    def next_event(self) -> Event | None:
        return None

    def get_timer(self) -> float | None:
        times = []
        for call in self.calls.values():
            if call.hung_up:
                continue
            times += [q.due for q in call.queue if q.retries >= 0]
            times += [t for t in (call.lagrq_at, call.ping_at) if t is not None]
        return min(times, default=None)

    def handle_timer(self, now: float) -> None:
        for call in list(self.calls.values()):
            if call.hung_up:
                continue
            self._attempt_transmit(call, now)
            if call.lagrq_at is not None and now >= call.lagrq_at:
                call.lagrq_at = now + self.lagrq_s
                self._send(call, FrameType.IAX, IaxCommand.LAGRQ, now)
            if call.ping_at is not None and now >= call.ping_at:
                call.ping_at = now + self.ping_s
                self._send(call, FrameType.IAX, IaxCommand.PING, now)

    def receive_datagram(self, data: bytes, addr: Address, now: float) -> None:
        frame = parse_frame(data)
        if not isinstance(frame, FullFrame):
            return  # voice: not modelled
        if frame.dest_call == 0:
            is_new = frame.frame_type == FrameType.IAX and frame.subclass == IaxCommand.NEW
            if is_new and not any(c.peer_call == frame.source_call for c in self.calls.values()):
                self._new_call(frame, addr, now)
            return
        call = self.calls.get(frame.dest_call)
        if call is not None and not call.hung_up:
            self._socket_process(call, frame, now)

    # -- chan_iax2 ------------------------------------------------------------

    def _new_call(self, new: FullFrame, addr: Address, now: float) -> None:
        self._next_callno += 1
        call = ModelCall(self._next_callno, new.source_call, addr, now, iseqno=1)
        self.calls[call.callno] = call
        ies = InformationElements(format=Format.ULAW)
        self._send(call, FrameType.IAX, IaxCommand.ACCEPT, now, ies=ies)
        self._send(call, FrameType.CONTROL, ControlType.ANSWER, now)
        call.lagrq_at = now + self.lagrq_s
        call.ping_at = now + self.ping_s

    def _send(
        self,
        call: ModelCall,
        frame_type: int,
        subclass: int,
        now: float,
        *,
        ts: int | None = None,
        ies: InformationElements | None = None,
    ) -> None:
        """``iax2_send`` of a reliable full frame: next oseqno, current iseqno, queued."""
        frame = FullFrame(
            source_call=call.callno,
            dest_call=call.peer_call,
            timestamp=call.ts(now) if ts is None else ts,
            oseqno=call.oseqno,
            iseqno=call.iseqno,
            frame_type=frame_type,
            subclass=subclass,
            ies=ies if ies is not None else (InformationElements() if frame_type == 6 else None),
        )
        call.oseqno = (call.oseqno + 1) & 0xFF
        call.aseqno = call.iseqno
        retry = min(max(call.ping_ms * 2, MIN_RETRY_MS), MAX_RETRY_MS)
        call.queue.append(Queued(frame, now + retry / 1000, retry))
        self._out.append((frame.to_bytes(), call.addr))

    def _ack(self, call: ModelCall, ts: int, oseqno: int) -> None:
        """``send_command_immediate(ACK, ts, seqno=fr->iseqno)``: not queued, not retried."""
        ack = FullFrame(
            source_call=call.callno,
            dest_call=call.peer_call,
            timestamp=ts,
            oseqno=oseqno,
            iseqno=call.iseqno,
            frame_type=FrameType.IAX,
            subclass=IaxCommand.ACK,
            ies=InformationElements(),
        )
        call.aseqno = call.iseqno
        self._out.append((ack.to_bytes(), call.addr))

    def _attempt_transmit(self, call: ModelCall, now: float) -> None:
        for queued in list(call.queue):
            if queued.retries < 0:
                call.queue.remove(queued)
                continue
            if queued.due > now:
                continue
            if queued.retries >= MAX_RETRIES:
                call.max_retries = queued.frame
                call.queue.clear()
                self._send(call, FrameType.IAX, IaxCommand.HANGUP, now)
                call.hung_up = True
                return
            queued.frame.iseqno = call.iseqno  # update_packet
            queued.frame.retransmitted = True
            self._out.append((queued.frame.to_bytes(), call.addr))
            queued.retries += 1
            queued.retry_ms = min(queued.retry_ms * 10, MAX_RETRY_MS)
            queued.due = now + queued.retry_ms / 1000

    def _socket_process(self, call: ModelCall, fr: FullFrame, now: float) -> None:
        is_iax = fr.frame_type == FrameType.IAX
        sequenced = not (is_iax and fr.subclass in _NOT_SEQUENCED)
        if call.iseqno != fr.oseqno:
            if sequenced:
                call.out_of_order += 1
                if (call.iseqno - fr.oseqno) & 0xFF < 128:
                    self._ack(call, fr.timestamp, fr.iseqno)  # "Acking anyway"
                else:
                    self._vnak(call, now)
                return
        elif sequenced:
            call.iseqno = (call.iseqno + 1) & 0xFF
        if not (is_iax and fr.subclass == IaxCommand.INVAL):
            self._implicit_ack(call, fr.iseqno)
        name = IaxCommand(fr.subclass).name if is_iax else FrameType(fr.frame_type).name
        call.received[name] = call.received.get(name, 0) + 1
        if is_iax:
            if fr.subclass == IaxCommand.VNAK:
                for queued in call.queue:
                    if (queued.frame.oseqno - fr.iseqno) & 0xFF < 128 and queued.retries >= 0:
                        queued.frame.retransmitted = True
                        self._out.append((queued.frame.to_bytes(), call.addr))
            elif fr.subclass == IaxCommand.LAGRQ:
                self._send(call, FrameType.IAX, IaxCommand.LAGRP, now, ts=fr.timestamp)
            elif fr.subclass == IaxCommand.PING:
                self._send(call, FrameType.IAX, IaxCommand.PONG, now, ts=fr.timestamp)
            elif fr.subclass == IaxCommand.PONG:
                call.ping_ms = max(0, call.ts(now) - fr.timestamp)
            elif fr.subclass == IaxCommand.HANGUP:
                call.hung_up = True
        if sequenced and call.aseqno != call.iseqno:
            self._ack(call, fr.timestamp, fr.iseqno)

    def _implicit_ack(self, call: ModelCall, iseqno: int) -> None:
        """chan_iax2's window test and acknowledgement loop, as written."""
        if call.rseqno >= call.oseqno or call.rseqno <= iseqno < call.oseqno:
            x = iseqno
        else:
            x = call.oseqno
        if x != call.oseqno or call.oseqno == iseqno:
            x = call.rseqno
            while x != iseqno:
                for queued in call.queue:
                    if queued.frame.oseqno == x:
                        queued.retries = -1
                x = (x + 1) & 0xFF
            call.rseqno = iseqno

    def _vnak(self, call: ModelCall, now: float) -> None:
        vnak = FullFrame(
            source_call=call.callno,
            dest_call=call.peer_call,
            timestamp=call.ts(now),
            oseqno=call.oseqno,
            iseqno=call.iseqno,
            frame_type=FrameType.IAX,
            subclass=IaxCommand.VNAK,
            ies=InformationElements(),
        )
        self._out.append((vnak.to_bytes(), call.addr))
