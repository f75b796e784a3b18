"""Hypothesis round trips: random valid frames and IE blocks -> bytes -> parse -> equal."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from iaxphone.wire.constants import CODEC_PREF_ORDER, FrameType, IaxCommand
from iaxphone.wire.frames import (
    Frame,
    FullFrame,
    MetaTrunkFrame,
    MetaVideoFrame,
    MiniFrame,
    TrunkEntry,
    describe,
    parse_frame,
)
from iaxphone.wire.ies import (
    ADDR,
    BYTES,
    CODEC_PREFS,
    DATETIME,
    EMPTY,
    IE_FIELDS,
    STR,
    U8,
    U16,
    U32,
    U64,
    Field,
    InformationElements,
    Kind,
    SockAddr,
)

SETTINGS = settings(max_examples=150, deadline=None)

calls = st.integers(0, 0x7FFF)
payloads = st.binary(max_size=300)
short_text = st.text(max_size=40).filter(lambda s: len(s.encode("utf-8")) <= 255)

_KIND_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    STR.name: short_text,
    BYTES.name: st.binary(max_size=255),
    EMPTY.name: st.just(True),
    U8.name: st.integers(0, 0xFF),
    U16.name: st.integers(0, 0xFFFF),
    U32.name: st.integers(0, 0xFFFFFFFF),
    U64.name: st.integers(0, (1 << 64) - 1),
    ADDR.name: st.builds(
        SockAddr,
        st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).map(str),
        st.integers(0, 0xFFFF),
    ),
    DATETIME.name: st.datetimes(
        min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2127, 12, 31, 23, 59, 58)
    ).map(lambda d: d.replace(second=d.second & ~1, microsecond=0)),
    CODEC_PREFS.name: st.lists(
        st.sampled_from([chr(ord("A") + i + 1) for i, f in enumerate(CODEC_PREF_ORDER) if f]),
        max_size=20,
    ).map("".join),
}


def _value_for(field: Field[Any]) -> st.SearchStrategy[Any]:
    kind: Kind[Any] = field.kind
    return _KIND_STRATEGIES[kind.name]


known_ie = st.sampled_from(sorted(IE_FIELDS)).flatmap(
    lambda ie: st.tuples(st.just(ie), _value_for(IE_FIELDS[ie]))
)
unknown_ie = st.tuples(
    st.integers(0, 255).filter(lambda n: n not in IE_FIELDS), st.binary(max_size=255)
)


@st.composite
def ie_blocks(draw: st.DrawFn) -> tuple[InformationElements, list[tuple[int, Any]]]:
    pairs = draw(st.lists(st.one_of(known_ie, unknown_ie), max_size=12))
    ies = InformationElements()
    for ie, value in pairs:
        ies.append(ie, value)
    return ies, pairs


@given(ie_blocks())
@SETTINGS
def test_ie_round_trip(block: tuple[InformationElements, list[tuple[int, Any]]]) -> None:
    ies, pairs = block
    data = ies.to_bytes()
    parsed = InformationElements.parse(data)
    assert parsed == ies
    assert parsed.to_bytes() == data
    for ie, value in pairs:
        assert value in parsed.get_all(ie)
    assert len(parsed.dump()) == len(pairs)


@given(st.binary(max_size=255))
@SETTINGS
def test_any_bytes_survive_a_string_ie(raw: bytes) -> None:
    ies = InformationElements([(1, raw)])
    again = InformationElements(called_number=ies.called_number)
    assert again.to_bytes() == ies.to_bytes()


subclass_and_marker = st.one_of(
    st.tuples(st.integers(0, 0x7F), st.just(False)),
    st.tuples(st.integers(0, 63).map(lambda b: 1 << b), st.just(False)),
    # 0x80|63|0x40 is 0xFF, which means -1: bit 63 cannot carry the video mark.
    st.tuples(st.integers(0, 62).map(lambda b: 1 << b), st.booleans()),
    st.just((-1, False)),
)


@st.composite
def full_frames(draw: st.DrawFn) -> FullFrame:
    frame_type = draw(st.one_of(st.sampled_from(list(FrameType)), st.integers(0, 255)))
    common: dict[str, Any] = {
        "source_call": draw(calls),
        "dest_call": draw(calls),
        "retransmitted": draw(st.booleans()),
        "timestamp": draw(st.integers(0, 0xFFFFFFFF)),
        "oseqno": draw(st.integers(0, 255)),
        "iseqno": draw(st.integers(0, 255)),
        "frame_type": frame_type,
    }
    if frame_type == FrameType.IAX:
        command = draw(st.one_of(st.sampled_from(list(IaxCommand)), st.integers(0, 0x7F)))
        ies, _ = draw(ie_blocks())
        return FullFrame(subclass=command, ies=ies, **common)
    subclass, marker = draw(subclass_and_marker)
    return FullFrame(subclass=subclass, marker=marker, payload=draw(payloads), **common)


mini_frames = st.builds(MiniFrame, st.integers(1, 0x7FFF), st.integers(0, 0xFFFF), payloads)
video_frames = st.builds(
    MetaVideoFrame, calls, st.integers(0, 0x7FFF), payloads, marker=st.booleans()
)


@st.composite
def trunk_frames(draw: st.DrawFn) -> MetaTrunkFrame:
    with_ts = draw(st.booleans())
    stamp = st.integers(0, 0xFFFF) if with_ts else st.none()
    entries = draw(st.lists(st.builds(TrunkEntry, calls, st.binary(max_size=200), stamp)))
    return MetaTrunkFrame(draw(st.integers(0, 0xFFFFFFFF)), with_ts, entries)


any_frame = st.one_of(full_frames(), mini_frames, video_frames, trunk_frames())


@given(any_frame)
@settings(max_examples=400, deadline=None)
def test_frame_round_trip(frame: Frame) -> None:
    data = bytes(frame)
    parsed = parse_frame(data)
    assert parsed == frame
    assert type(parsed) is type(frame)
    assert bytes(parsed) == data
    assert describe(parsed)


@given(full_frames())
@SETTINGS
def test_full_frame_header_fields(frame: FullFrame) -> None:
    data = bytes(frame)
    assert data[0] & 0x80
    assert ((data[0] << 8 | data[1]) & 0x7FFF) == frame.source_call
    assert bool(data[2] & 0x80) == frame.retransmitted
    assert int.from_bytes(data[4:8], "big") == frame.timestamp
    assert (data[8], data[9], data[10]) == (frame.oseqno, frame.iseqno, frame.frame_type)
