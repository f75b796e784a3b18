"""A seeded fuzzer for IAX2 endpoints: what a hostile LAN can send to a phone's port.

Three kinds of datagram, mixed by weight:

* **random** bytes, mostly short (headers are where parsers break), some up to
  an MTU;
* **mutations** of frames recorded from Asterisk (tests/golden): bit flips,
  byte rewrites, truncations, extensions and splices of two frames;
* **crafted** frames aimed at the live calls: full frames of every type and
  subclass with the call's destination number and plausible sequence
  numbers, mini voice frames and meta trunk frames carrying the peer's call
  numbers, NEWs, POKEs and REGREQs with and without call tokens.

Everything comes from one ``random.Random(seed)``, so a failing run replays
exactly.  The suite sends 100,000 of them at an in-memory endpoint with a
call up (tests/test_fuzz_endpoint.py); ``python -m benchmarks fuzz`` sends
1,000,000 at a live ``iaxphone`` endpoint on loopback.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from iaxphone.wire.constants import FrameType, IaxCommand
from iaxphone.wire.frames import FullFrame, MetaTrunkFrame, MiniFrame, TrunkEntry
from iaxphone.wire.ies import InformationElements

GOLDEN = Path(__file__).resolve().parent.parent / "tests" / "golden" / "asterisk_frames.txt"

# (local call number at the target, the peer's call number) of each live call
LiveCalls = Callable[[], Sequence[tuple[int, int]]]


def golden_frames(path: Path = GOLDEN) -> list[bytes]:
    """The frames recorded from Asterisk, as bytes."""
    frames = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2:
            frames.append(bytes.fromhex(parts[1]))
    return frames


class Fuzzer:
    """An endless, reproducible stream of hostile datagrams."""

    WEIGHTS = (("random", 3), ("mutated", 4), ("crafted", 3))

    def __init__(self, seed: int, live_calls: LiveCalls, golden: list[bytes] | None = None):
        self.rng = random.Random(seed)
        self.live_calls = live_calls
        self.golden = golden if golden is not None else golden_frames()
        kinds, weights = zip(*self.WEIGHTS, strict=True)
        self._kinds: list[str] = list(kinds)
        self._weights: list[int] = list(weights)
        self.counts = dict.fromkeys(self._kinds, 0)

    def __iter__(self) -> Iterator[bytes]:
        while True:
            yield self.datagram()

    def datagram(self) -> bytes:
        kind = self.rng.choices(self._kinds, self._weights)[0]
        self.counts[kind] += 1
        if kind == "random":
            return self.random_bytes()
        if kind == "mutated":
            return self.mutated()
        return self.crafted()

    # -- random -------------------------------------------------------------------

    def random_bytes(self) -> bytes:
        rng = self.rng
        size = rng.choice((0, 1, 2, 3, 4, 5, 11, 12, 13, rng.randrange(4, 64), rng.randrange(1500)))
        return rng.randbytes(size)

    # -- mutations ------------------------------------------------------------------

    def mutated(self) -> bytes:
        rng = self.rng
        data = bytearray(rng.choice(self.golden))
        for _ in range(rng.randrange(1, 4)):
            how = rng.randrange(5)
            if how == 0 and data:  # flip a bit
                i = rng.randrange(len(data))
                data[i] ^= 1 << rng.randrange(8)
            elif how == 1 and data:  # rewrite a byte
                data[rng.randrange(len(data))] = rng.randrange(256)
            elif how == 2:  # truncate
                del data[rng.randrange(len(data) + 1) :]
            elif how == 3:  # extend
                data += rng.randbytes(rng.randrange(1, 40))
            else:  # splice with another frame
                other = rng.choice(self.golden)
                cut = rng.randrange(len(data) + 1)
                data = data[:cut] + other[rng.randrange(len(other) + 1) :]
        return bytes(data)

    # -- crafted ----------------------------------------------------------------------

    def crafted(self) -> bytes:
        rng = self.rng
        calls = list(self.live_calls()) or [(rng.randrange(1, 0x8000), rng.randrange(1, 0x8000))]
        local, remote = rng.choice(calls)
        how = rng.randrange(6)
        if how == 0:
            return self._full_for_call(local, remote)
        if how == 1:
            payload = rng.randbytes(rng.choice((0, 1, 20, 33, 160, 320)))
            return MiniFrame(remote, rng.randrange(0x10000), payload).to_bytes()
        if how == 2:
            return self._trunk(remote)
        command = rng.choice((IaxCommand.NEW, IaxCommand.POKE, IaxCommand.REGREQ))
        token = rng.choice((None, b"", rng.randbytes(rng.randrange(1, 60))))
        ies = InformationElements(call_token=token) if token is not None else InformationElements()
        if command == IaxCommand.NEW:
            ies.called_number, ies.calling_number = "6001", str(rng.randrange(10000))
            if rng.random() < 0.5:
                ies.auto_answer = True
        return FullFrame(
            source_call=rng.randrange(1, 0x8000),
            dest_call=0,
            timestamp=rng.randrange(1 << 32),
            oseqno=0,
            iseqno=0,
            frame_type=FrameType.IAX,
            subclass=command,
            ies=ies,
        ).to_bytes()

    def _full_for_call(self, local: int, remote: int) -> bytes:
        rng = self.rng
        frame_type = rng.choice(list(FrameType))
        if frame_type == FrameType.IAX:
            subclass = int(rng.choice(list(IaxCommand)))
        else:
            subclass = rng.randrange(128)
        raw = FullFrame(
            source_call=rng.choice((remote, rng.randrange(1, 0x8000))),
            dest_call=local,
            timestamp=rng.randrange(1 << 32),
            oseqno=rng.randrange(256),
            iseqno=rng.randrange(256),
            frame_type=frame_type,
            subclass=subclass,
            payload=rng.randbytes(rng.randrange(1, 40)),
            retransmitted=rng.random() < 0.2,
        )
        try:
            return raw.to_bytes()
        except (ValueError, struct.error):
            return self.random_bytes()

    def _trunk(self, remote: int) -> bytes:
        rng = self.rng
        entries = list(
            TrunkEntry(
                rng.choice((remote, rng.randrange(1, 0x8000))),
                rng.randbytes(rng.choice((0, 1, 160))),
                rng.randrange(0x10000) if rng.random() < 0.5 else None,
            )
            for _ in range(rng.randrange(1, 6))
        )
        timestamps = all(e.timestamp is not None for e in entries)
        if not timestamps:
            entries = [TrunkEntry(e.call_number, e.payload, None) for e in entries]
        try:
            return MetaTrunkFrame(rng.randrange(1 << 32), timestamps, entries).to_bytes()
        except (ValueError, struct.error):
            return self.random_bytes()


__all__ = ["Fuzzer", "golden_frames"]
