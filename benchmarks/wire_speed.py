"""Parse and serialise speed of IAX2 frames on one core (the voice hot path)."""

from __future__ import annotations

import time
from collections.abc import Callable

from benchmarks.results import Result
from iaxphone.wire.constants import Format, FrameType
from iaxphone.wire.frames import FullFrame, MiniFrame, parse_frame

MINI = MiniFrame(0x1234, 0xBEEF, bytes(160)).to_bytes()
FULL_VOICE = FullFrame(
    source_call=0x1234,
    dest_call=0x0567,
    timestamp=123456,
    oseqno=7,
    iseqno=9,
    frame_type=FrameType.VOICE,
    subclass=Format.ULAW,
    payload=bytes(160),
).to_bytes()


def per_second(operation: Callable[[], object], n: int = 200_000, repeats: int = 5) -> float:
    """Best of ``repeats`` runs of ``n`` calls, in operations per second."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(n):
            operation()
        best = min(best, time.perf_counter() - started)
    return n / best


def run() -> list[Result]:
    scenario = "Wire format speed (one core)"
    mini = MiniFrame(0x1234, 0xBEEF, bytes(160))
    parse_mini = per_second(lambda: parse_frame(MINI))
    return [
        Result(
            scenario,
            "parse mini voice frame",
            parse_mini,
            "frames/s",
            ">= 500,000",
            parse_mini >= 500_000,
        ),
        Result(scenario, "serialise mini voice frame", per_second(mini.to_bytes), "frames/s"),
        Result(
            scenario,
            "parse full voice frame",
            per_second(lambda: parse_frame(FULL_VOICE)),
            "frames/s",
        ),
    ]
