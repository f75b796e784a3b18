"""Seeded fuzzing: only FrameParseError may escape parse_frame, and what parses re-serialises.

The corpus is 20,000 inputs: bit flips, byte rewrites, truncations, extensions
and splices of seed frames of every kind (built here through the API, so this
file stands alone; the hand-built golden vectors live in test_wire_frames.py),
plus pure random datagrams.  Every input
that parses must serialise to bytes that parse back to an equal frame
(idempotence; a few non-canonical encodings are normalised, so the bytes
themselves may differ) and must be describable.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from iaxphone.wire.constants import ControlType, Format, FrameType, IaxCommand
from iaxphone.wire.errors import FrameParseError
from iaxphone.wire.frames import (
    FullFrame,
    MetaTrunkFrame,
    MetaVideoFrame,
    MiniFrame,
    TrunkEntry,
    describe,
    parse_frame,
)
from iaxphone.wire.ies import InformationElements, SockAddr

SEED = 20240229
CORPUS_SIZE = 20_000


def _full(frame_type: int, subclass: int, **kw: Any) -> bytes:
    frame = FullFrame(
        source_call=3,
        dest_call=7,
        timestamp=123456,
        oseqno=4,
        iseqno=5,
        frame_type=frame_type,
        subclass=subclass,
        **kw,
    )
    return bytes(frame)


SEEDS: dict[str, bytes] = {
    "new": _full(
        FrameType.IAX,
        IaxCommand.NEW,
        ies=InformationElements(
            version=2,
            called_number="600",
            calling_name="Alice",
            capability=Format.ULAW | Format.ALAW,
            format=Format.ULAW,
            format2=Format.OPUS,
            capability2=Format.OPUS | Format.ULAW,
            codec_prefs="DE",
            username="alice",
            call_token=b"",
        ),
    ),
    "regack": _full(
        FrameType.IAX,
        IaxCommand.REGACK,
        ies=InformationElements(
            username="alice",
            date_time=dt.datetime(2030, 1, 2, 3, 4, 6),
            refresh=60,
            apparent_addr=SockAddr("198.51.100.7", 4569),
            msg_count=2,
        ),
    ),
    "hangup": _full(
        FrameType.IAX, IaxCommand.HANGUP, ies=InformationElements(cause="Busy", cause_code=17)
    ),
    "ack": _full(FrameType.IAX, IaxCommand.ACK),
    "voice": _full(FrameType.VOICE, Format.ULAW, payload=bytes(160)),
    "opus": _full(FrameType.VOICE, Format.OPUS, payload=b"\x01" * 40),
    "video": _full(FrameType.VIDEO, Format.H264, marker=True, payload=b"\x00\x00\x01"),
    "control": _full(FrameType.CONTROL, ControlType.ANSWER),
    "mini": bytes(MiniFrame(5, 0xFFFE, bytes(33))),
    "video_mini": bytes(MetaVideoFrame(5, 0x7FFF, b"abc", marker=True)),
    "trunk": bytes(MetaTrunkFrame(10, False, [TrunkEntry(1, b"ab"), TrunkEntry(2, b"")])),
    "trunk_ts": bytes(MetaTrunkFrame(10, True, [TrunkEntry(1, b"ab", 3), TrunkEntry(2, b"c", 4)])),
}


def _mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(7)
        if op == 0 and buf:  # flip a bit
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
        elif op == 1 and buf:  # rewrite a byte with an interesting value
            buf[rng.randrange(len(buf))] = rng.choice([0x00, 0x01, 0x7F, 0x80, 0xFF, 0x09, 0x38])
        elif op == 2:  # truncate
            del buf[rng.randint(0, len(buf)) :]
        elif op == 3:  # extend with random bytes
            buf += rng.randbytes(rng.randint(1, 12))
        elif op == 4 and buf:  # insert
            i = rng.randint(0, len(buf))
            buf[i:i] = rng.randbytes(rng.randint(1, 4))
        elif op == 5 and len(buf) > 1:  # delete a slice
            i = rng.randrange(len(buf))
            del buf[i : i + rng.randint(1, 4)]
        else:  # splice in a piece of another vector
            other = rng.choice(list(SEEDS.values()))
            i = rng.randint(0, len(buf))
            j = rng.randint(0, len(other))
            buf[i:] = other[j:]
    return bytes(buf)


def _corpus(rng: random.Random) -> list[bytes]:
    seeds = list(SEEDS.values())
    out: list[bytes] = []
    while len(out) < CORPUS_SIZE:
        r = rng.random()
        if r < 0.8:
            out.append(_mutate(rng, rng.choice(seeds)))
        elif r < 0.9:
            out.append(rng.randbytes(rng.randint(0, 64)))
        else:  # random bytes behind a plausible first word
            head = rng.choice([b"\x80", b"\x00\x00\x01", b"\x00\x00\x80", b"\x00\x05"])
            out.append(head + rng.randbytes(rng.randint(0, 40)))
    return out


def test_fuzz_only_frame_parse_error_escapes() -> None:
    rng = random.Random(SEED)
    corpus = _corpus(rng)
    parsed_ok = 0
    for data in corpus:
        try:
            frame = parse_frame(data)
        except FrameParseError as exc:
            assert str(exc)
            continue
        parsed_ok += 1
        again = parse_frame(bytes(frame))
        assert again == frame, data.hex()
        assert bytes(again) == bytes(frame)
        assert describe(frame)
    # Both outcomes must be well represented, or the corpus is not probing anything.
    assert CORPUS_SIZE * 0.2 < parsed_ok < CORPUS_SIZE * 0.9


def test_every_single_bit_flip_of_every_seed() -> None:
    for name, data in SEEDS.items():
        for i in range(len(data)):
            for bit in range(8):
                flipped = bytearray(data)
                flipped[i] ^= 1 << bit
                try:
                    frame = parse_frame(bytes(flipped))
                except FrameParseError:
                    continue
                assert parse_frame(bytes(frame)) == frame, (name, i, bit)
