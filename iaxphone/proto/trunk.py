"""IAX2 trunking: every call's voice to one peer batched in meta trunk frames.

Theory of operation
-------------------
*Sending.*  A call whose account is a trunk hands its voice (what would
have been a mini frame) to the :class:`TrunkBatcher` of its peer address
instead of sending it.  The first entry of an empty batch sets a deadline
one trunk interval ahead (``trunkfreq``, 20 ms); when it passes - or when
a call's next frame comes before it, which would delay that call - the
endpoint flushes the batch as meta trunk frames - one datagram for all the
calls, split where the next entry would pass the MTU (``trunkmtu``).
Each datagram carries the trunk's own 32-bit millisecond clock and, with
``timestamps`` (Asterisk's ``trunktimestamps``), each entry its call's
16-bit timestamp; without, receivers rebuild call timestamps from the
trunk clock.  Payload bytes are copied once, into the datagram.

*Receiving.*  Entries are split back to their calls by (peer address, call
number).  With per-call timestamps each is unwrapped like a mini frame's;
without, as Asterisk's ``fix_peerts`` does: the trunk timestamp plus the
difference between when this peer's trunk clock and this call's clock
began, by our own clock.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from iaxphone.wire.frames import MetaTrunkFrame, TrunkEntry

META_HEADER = 8  # zeros(2) metacmd(1) cmddata(1) ts(4)
ENTRY_WITH_TS = 6  # len, callno, ts
ENTRY_WITHOUT_TS = 4  # callno, len
DEFAULT_MTU = 1240
_U32 = struct.Struct("!I")


@dataclass(slots=True)
class TrunkBatcher:
    """Pending voice for one peer address."""

    interval: float = 0.020
    mtu: int = DEFAULT_MTU
    timestamps: bool = True
    started: float | None = None  # our trunk clock's zero
    deadline: float | None = None
    entries: list[TrunkEntry] = field(default_factory=list)
    pending_calls: set[int] = field(default_factory=set)
    datagrams_sent: int = 0
    entries_sent: int = 0

    def add(self, call_number: int, timestamp16: int, payload: bytes, now: float) -> list[bytes]:
        """Queue one call's frame; returns datagrams to send now (see below), usually none.

        A call's next frame arriving before the batch went out means the
        trunk interval and the call's frame clock have drifted apart: the
        batch is sent at once rather than delaying that call by a frame.
        """
        ready: list[bytes] = []
        if call_number in self.pending_calls:
            ready = self.flush(now)
        if self.started is None:
            self.started = now
        if self.deadline is None:
            self.deadline = now + self.interval
        self.pending_calls.add(call_number)
        stamp = timestamp16 if self.timestamps else None
        self.entries.append(TrunkEntry(call_number, payload, stamp))
        return ready

    def trunk_timestamp(self, now: float) -> int:
        assert self.started is not None
        return round((now - self.started) * 1000) & 0xFFFFFFFF

    def flush(self, now: float) -> list[bytes]:
        """The meta trunk datagrams for everything pending (split at the MTU)."""
        self.deadline = None
        if not self.entries:
            return []
        per_entry = ENTRY_WITH_TS if self.timestamps else ENTRY_WITHOUT_TS
        ts = self.trunk_timestamp(now)
        datagrams: list[bytes] = []
        batch: list[TrunkEntry] = []
        size = META_HEADER
        for entry in self.entries:
            cost = per_entry + len(entry.payload)
            if batch and size + cost > self.mtu:
                datagrams.append(MetaTrunkFrame(ts, self.timestamps, batch).to_bytes())
                batch, size = [], META_HEADER
            batch.append(entry)
            size += cost
        datagrams.append(MetaTrunkFrame(ts, self.timestamps, batch).to_bytes())
        self.entries_sent += len(self.entries)
        self.datagrams_sent += len(datagrams)
        self.entries = []
        self.pending_calls.clear()
        return datagrams


@dataclass(slots=True)
class TrunkReceiver:
    """What a peer's trunk clock means in our time: its ts 0 happened at ``zero`` (ours)."""

    zero: float | None = None

    def call_timestamp(self, trunk_ts: int, now: float, call_zero: float) -> int:
        """A call's 32-bit timestamp for a trunk timestamp (Asterisk's fix_peerts)."""
        if self.zero is None or trunk_ts == 0:
            self.zero = now - trunk_ts / 1000.0
        offset_ms = round((self.zero - call_zero) * 1000)
        return (trunk_ts + offset_ms) & 0xFFFFFFFF
