"""Sequencing, acknowledgement and retransmission of one session's full frames.

Theory of operation
-------------------
Every IAX2 session (a call, a registration transaction, a poke) numbers the
full frames it sends with an 8-bit ``oseqno`` and tells the peer, in every
full frame, the ``iseqno`` it expects next.  That ``iseqno`` implicitly
acknowledges everything the peer sent before it, and an explicit ACK (a
full frame that echoes the acknowledged frame's timestamp) does the same.

Sending: :meth:`Reliability.stamp` gives a frame its seqnos.  Frames that
need acknowledging stay in ``pending`` with a deadline; :meth:`due` hands
back the ones whose deadline passed (to be sent again, marked
retransmitted), doubling the interval each time, and reports the session as
dead when one frame has been sent ``1 + max_retries`` times without answer.
ACK, INVAL, VNAK, TXCNT and TXACC neither take a sequence number nor wait
for one (RFC 5456 section 7).

Receiving: :meth:`receive` classifies a full frame by its ``oseqno``:
``IN_ORDER`` (process it, advance ``iseqno``), ``DUPLICATE`` (already seen:
ACK it again, do not process), or ``GAP`` (a frame in between was lost:
ask for retransmission with VNAK, do not process).  Frames that take no
sequence number are always processed.

Nothing here reads a clock: deadlines are computed from the ``now``
passed in.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from iaxphone.wire.constants import FrameType, IaxCommand
from iaxphone.wire.frames import FullFrame
from iaxphone.wire.seqnum import seq_add, seq_diff

# Full frames that neither consume a sequence number nor get acknowledged.
_UNSEQUENCED = frozenset(
    {IaxCommand.ACK, IaxCommand.INVAL, IaxCommand.VNAK, IaxCommand.TXCNT, IaxCommand.TXACC}
)


def is_unsequenced(frame: FullFrame) -> bool:
    """True for ACK, INVAL, VNAK, TXCNT and TXACC."""
    return frame.frame_type == FrameType.IAX and frame.subclass in _UNSEQUENCED


class Arrival(enum.Enum):
    IN_ORDER = "in order"
    DUPLICATE = "duplicate"
    GAP = "gap"


@dataclass(slots=True)
class Pending:
    """A sent frame that waits for its acknowledgement."""

    frame: FullFrame
    data: bytes
    deadline: float
    interval: float
    sends: int = 1
    last_sent: float = 0.0
    vnak_resent: bool = False
    max_retries: int | None = None  # the policy's unless this frame has its own budget


def earliest(*times: float | None) -> float | None:
    """The soonest of the deadlines given, ignoring None (None if there is none)."""
    best = None
    for time in times:
        if time is not None and (best is None or time < best):
            best = time
    return best


@dataclass(slots=True)
class RetryPolicy:
    """How long to wait for an ACK.

    ``initial`` seconds, doubling up to ``maximum``; a frame is sent ``1 + max_retries`` times.
    """

    initial: float = 0.25
    maximum: float = 2.0
    max_retries: int = 4

    def give_up_after(self, max_retries: int | None = None) -> float:
        """Seconds from the first send of a frame until it is given up on."""
        total, interval = 0.0, self.initial
        for _ in range((self.max_retries if max_retries is None else max_retries) + 1):
            total += interval
            interval = min(interval * 2, self.maximum)
        return total


class Reliability:
    """Per-session seqno state and the retransmission queue."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.oseqno = 0
        self.iseqno = 0
        self.pending: list[Pending] = []
        self.retransmissions = 0
        self.duplicates = 0
        self.gaps = 0

    # -- sending ----------------------------------------------------------------

    def stamp(self, frame: FullFrame) -> None:
        """Give an outgoing frame its oseqno/iseqno, consuming a seqno when it must."""
        frame.oseqno = self.oseqno
        frame.iseqno = self.iseqno
        if not is_unsequenced(frame):
            self.oseqno = seq_add(self.oseqno, 1)

    def track(
        self,
        frame: FullFrame,
        data: bytes,
        now: float,
        interval: float | None = None,
        max_retries: int | None = None,
    ) -> None:
        """Keep a sent frame until it is acknowledged (unsequenced frames are not kept)."""
        if is_unsequenced(frame):
            return
        first = self.policy.initial if interval is None else interval
        self.pending.append(
            Pending(frame, data, now + first, first, last_sent=now, max_retries=max_retries)
        )

    def next_deadline(self) -> float | None:
        if not self.pending:
            return None
        return min(p.deadline for p in self.pending)

    def due(self, now: float) -> tuple[list[Pending], Pending | None]:
        """Frames to send again now, and the first frame that ran out of retries (if any)."""
        resend: list[Pending] = []
        for pending in self.pending:
            if pending.deadline > now:
                continue
            budget = self.policy.max_retries if pending.max_retries is None else pending.max_retries
            if pending.sends > budget:
                return resend, pending
            pending.sends += 1
            pending.last_sent = now
            pending.interval = min(pending.interval * 2, self.policy.maximum)
            pending.deadline = now + pending.interval
            self.retransmissions += 1
            resend.append(pending)
        return resend, None

    def acknowledge_before(self, iseqno: int) -> None:
        """The peer expects ``iseqno`` next: every frame we sent before it arrived."""
        self.pending = [p for p in self.pending if seq_diff(p.frame.oseqno, iseqno) >= 0]

    def resend_from(self, iseqno: int, now: float) -> list[Pending]:
        """VNAK: the peer lost frames from ``iseqno`` on; resend those pending from there.

        A frame resent for a VNAK is not resent for another VNAK within
        ``initial / 2`` s, so VNAKs cannot make a retransmission storm; such
        resends do not use up the retry budget (the timer's retransmissions
        still give up on a frame that is never acknowledged).
        """
        again = []
        for pending in self.pending:
            if seq_diff(pending.frame.oseqno, iseqno) < 0:
                continue
            if pending.vnak_resent and now - pending.last_sent < self.policy.initial / 2:
                continue
            pending.last_sent = now
            pending.vnak_resent = True
            again.append(pending)
        self.retransmissions += len(again)
        return again

    def forget(self) -> None:
        """Drop every pending frame (the session is over or being restarted)."""
        self.pending.clear()

    # -- receiving --------------------------------------------------------------

    def receive(self, frame: FullFrame) -> Arrival:
        """Classify an arriving full frame and update what we acknowledge."""
        self.acknowledge_before(frame.iseqno)
        if is_unsequenced(frame):
            return Arrival.IN_ORDER
        distance = seq_diff(frame.oseqno, self.iseqno)
        if distance == 0:
            self.iseqno = seq_add(self.iseqno, 1)
            return Arrival.IN_ORDER
        if distance < 0:
            self.duplicates += 1
            return Arrival.DUPLICATE
        self.gaps += 1
        return Arrival.GAP
