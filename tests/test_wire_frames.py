"""Golden vectors for iaxphone.wire.frames, built by hand from the RFC 5456 layouts.

Each vector is written out byte by byte with the field it encodes, parsed,
checked field by field, and serialised back byte for byte.  Every prefix of
every vector must either raise FrameParseError or be itself a valid frame
(a prefix that cuts a full frame's payload is still a full frame).
"""

from __future__ import annotations

import datetime as dt

import pytest

from iaxphone.wire.constants import (
    Cause,
    ControlType,
    Format,
    FrameType,
    IaxCommand,
)
from iaxphone.wire.errors import FrameParseError
from iaxphone.wire.frames import (
    FullFrame,
    MetaTrunkFrame,
    MetaVideoFrame,
    MiniFrame,
    TrunkEntry,
    compress_subclass,
    describe,
    parse_frame,
    uncompress_subclass,
)
from iaxphone.wire.ies import InformationElements, SockAddr, codec_prefs_to_formats


def h(text: str) -> bytes:
    """Hex with spaces/newlines and '#' comments ignored."""
    cleaned = "".join(line.split("#", 1)[0] for line in text.splitlines())
    return bytes.fromhex(cleaned)


NEW = h(
    """
    80 01              # F=1, source call 1
    00 00              # R=0, destination call 0
    00 00 00 03        # timestamp 3 ms
    00 00              # oseqno 0, iseqno 0
    06 01              # type IAX, subclass NEW
    0b 02 00 02        # VERSION = 2
    01 03 36 30 30     # CALLED NUMBER = "600"
    02 03 31 30 30     # CALLING NUMBER = "100"
    08 04 00 00 00 0c  # CAPABILITY = ulaw|alaw
    09 04 00 00 00 04  # FORMAT = ulaw
    06 05 61 6c 69 63 65  # USERNAME = "alice"
    36 00              # CALLTOKEN, empty: "please send me a token"
    """
)

NEW_FORMAT2 = h(
    """
    80 02 00 00 00 00 00 00 00 00 06 01
    09 04 00 00 00 00                    # FORMAT: opus does not fit in 32 bits
    38 09 00 00 00 00 04 00 00 00 00     # FORMAT2 = version 0, opus (1 << 34)
    08 04 00 00 10 0c                    # CAPABILITY = ulaw|alaw|g722
    37 09 00 00 00 00 04 00 00 10 0c     # CAPABILITY2 = opus|g722|ulaw|alaw
    2d 03 44 4f 50                       # CODEC_PREFS "DOP": ulaw, g722, slin16
    """
)

REGREQ = h(
    """
    80 02 00 00        # source call 2, destination 0
    00 00 00 05 00 00  # timestamp 5, seqnos 0/0
    06 0d              # IAX REGREQ
    06 05 61 6c 69 63 65                    # USERNAME "alice"
    13 02 00 3c                             # REFRESH 60
    36 0e 31 37 30 30 30 30 30 30 30 30 3f 61 62 63  # CALLTOKEN "1700000000?abc"
    """
)

REGACK = h(
    """
    80 07 80 02        # source call 7, destination 2 with the R bit (retransmission)
    00 00 00 64 01 01  # timestamp 100, oseqno 1, iseqno 1
    06 0f              # IAX REGACK
    06 05 61 6c 69 63 65              # USERNAME "alice"
    1f 04 4f 35 84 2f                 # DATETIME 2039-09-21 16:33:30
    13 02 00 3c                       # REFRESH 60
    12 10 02 00 11 d9 c0 00 02 05 00 00 00 00 00 00 00 00
                                      # APPARENT ADDR 192.0.2.5:4569 (Linux sockaddr_in)
    18 02 00 03                       # MSGCOUNT 3
    """
)

ACK = h(
    """
    80 01 00 05        # source call 1, destination 5
    00 00 00 03        # timestamp 3
    01 01              # oseqno 1, iseqno 1
    06 04              # IAX ACK, no IEs
    """
)

HANGUP = h(
    """
    80 05 00 01 00 00 27 10 04 02 06 05
    16 0f 4e 6f 72 6d 61 6c 20 43 6c 65 61 72 69 6e 67   # CAUSE "Normal Clearing"
    2a 01 10                                             # CAUSECODE 16
    c8 02 ab cd                                          # unknown IE 200, kept
    """
)

VOICE_ULAW = h(
    """
    80 01 00 05 00 00 00 14 02 03
    02 04              # VOICE, ulaw (4 < 0x80: sent as is)
    """
) + bytes([0xFF] * 160)

VOICE_G722 = h(
    """
    80 01 80 05 00 00 01 00 03 03   # R bit set
    02 8c              # VOICE, g722 = 1 << 12: 0x80 | 12
    """
) + bytes(range(80))

VOICE_OPUS = h("80 01 00 05 00 01 00 00 04 03 02 a2") + b"opus"  # 1 << 34: 0x80 | 34

VIDEO_H264_MARK = (
    h(
        """
    80 03 00 09 00 00 00 28 00 00
    03 d5              # VIDEO, h264 = 1 << 21: 0x80 | 21, 0x40 = end-of-picture mark
    """
    )
    + b"\x00\x00\x00\x01\x67"
)

CONTROL_RINGING = h("80 05 00 01 00 00 00 32 01 02 04 03")
CONTROL_STOP = h("80 05 00 01 00 00 00 33 02 02 04 ff")  # subclass -1
DTMF_5 = h("80 01 00 05 00 00 01 2c 05 04 01 35")  # DTMF_END '5'

MINI = h(
    """
    00 05              # call 5, high bit clear
    12 34              # low 16 bits of the timestamp
    """
) + bytes([0xD5] * 160)

TRUNK_SUPERMINI = h(
    """
    00 00 01 00        # meta, command TRUNK, mode 0 (no per-call timestamps)
    00 00 03 e8        # trunk timestamp 1000
    00 05 00 03 aa bb cc   # call 5, 3 bytes
    00 07 00 02 dd ee      # call 7, 2 bytes
    """
)

TRUNK_TIMESTAMPS = h(
    """
    00 00 01 01        # meta, command TRUNK, mode 1 (trunk timestamps)
    00 00 03 e8        # trunk timestamp 1000
    00 03 00 05 00 14 aa bb cc   # 3 bytes, call 5, ts 20
    00 00 00 07 00 28            # 0 bytes, call 7, ts 40
    """
)

META_VIDEO = (
    h(
        """
    00 00              # zeros
    80 05              # high bit: video, call 5
    80 64              # high bit: mark, timestamp 100
    """
    )
    + b"frame"
)

GOLDEN: dict[str, bytes] = {
    "new": NEW,
    "new_format2": NEW_FORMAT2,
    "regreq": REGREQ,
    "regack": REGACK,
    "ack": ACK,
    "hangup": HANGUP,
    "voice_ulaw": VOICE_ULAW,
    "voice_g722": VOICE_G722,
    "voice_opus": VOICE_OPUS,
    "video_h264_mark": VIDEO_H264_MARK,
    "control_ringing": CONTROL_RINGING,
    "control_stop": CONTROL_STOP,
    "dtmf_5": DTMF_5,
    "mini": MINI,
    "trunk_supermini": TRUNK_SUPERMINI,
    "trunk_timestamps": TRUNK_TIMESTAMPS,
    "meta_video": META_VIDEO,
}


def full(data: bytes) -> FullFrame:
    frame = parse_frame(data)
    assert isinstance(frame, FullFrame)
    return frame


# ---------------------------------------------------------------------------
# Golden vectors, field by field
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_round_trip(name: str) -> None:
    data = GOLDEN[name]
    frame = parse_frame(data)
    assert bytes(frame) == data
    assert frame.to_bytes() == data
    assert parse_frame(bytes(frame)) == frame
    assert describe(frame)


def test_new() -> None:
    f = full(NEW)
    assert (f.source_call, f.dest_call, f.timestamp) == (1, 0, 3)
    assert (f.oseqno, f.iseqno, f.retransmitted) == (0, 0, False)
    assert f.frame_type is FrameType.IAX
    assert f.subclass is IaxCommand.NEW
    assert f.payload == b""
    assert f.ies is not None
    assert f.ies.version == 2
    assert f.ies.called_number == "600"
    assert f.ies.calling_number == "100"
    assert f.ies.capability == Format.ULAW | Format.ALAW
    assert f.ies.format == Format.ULAW
    assert f.ies.username == "alice"
    assert f.ies.call_token == b""
    assert f.ies.password is None


def test_new_built_from_fields_matches_vector() -> None:
    ies = InformationElements(
        version=2,
        called_number="600",
        calling_number="100",
        capability=Format.ULAW | Format.ALAW,
        format=Format.ULAW,
        username="alice",
        call_token=b"",
    )
    frame = FullFrame(
        source_call=1,
        dest_call=0,
        timestamp=3,
        oseqno=0,
        iseqno=0,
        frame_type=FrameType.IAX,
        subclass=IaxCommand.NEW,
        ies=ies,
    )
    assert bytes(frame) == NEW
    assert frame == parse_frame(NEW)


def test_new_format2() -> None:
    ies = full(NEW_FORMAT2).ies
    assert ies is not None
    assert ies.format == 0
    assert ies.format2 == Format.OPUS
    assert ies.capability2 == Format.OPUS | Format.G722 | Format.ULAW | Format.ALAW
    assert ies.codec_prefs == "DOP"
    assert codec_prefs_to_formats("DOP") == [Format.ULAW, Format.G722, Format.SLINEAR16]


def test_regreq() -> None:
    f = full(REGREQ)
    assert f.subclass == IaxCommand.REGREQ
    assert f.ies is not None
    assert f.ies.username == "alice"
    assert f.ies.refresh == 60
    assert f.ies.call_token == b"1700000000?abc"


def test_regack() -> None:
    f = full(REGACK)
    assert (f.source_call, f.dest_call, f.retransmitted) == (7, 2, True)
    assert (f.timestamp, f.oseqno, f.iseqno) == (100, 1, 1)
    assert f.subclass == IaxCommand.REGACK
    assert f.ies is not None
    assert f.ies.date_time == dt.datetime(2039, 9, 21, 16, 33, 30)
    assert f.ies.apparent_addr == SockAddr("192.0.2.5", 4569)
    assert f.ies.msg_count == 3


def test_ack_has_no_ies() -> None:
    f = full(ACK)
    assert f.subclass == IaxCommand.ACK
    assert f.ies is not None
    assert len(f.ies) == 0
    assert (f.source_call, f.dest_call, f.oseqno, f.iseqno) == (1, 5, 1, 1)


def test_hangup_keeps_unknown_ie() -> None:
    f = full(HANGUP)
    assert f.subclass == IaxCommand.HANGUP
    assert f.timestamp == 10000
    assert f.ies is not None
    assert f.ies.cause == "Normal Clearing"
    assert f.ies.cause_code == Cause.NORMAL_CLEARING
    assert f.ies.unknown == [(200, b"\xab\xcd")]


def test_voice_ulaw() -> None:
    f = full(VOICE_ULAW)
    assert f.frame_type == FrameType.VOICE
    assert f.subclass == Format.ULAW
    assert f.ies is None
    assert f.payload == b"\xff" * 160
    assert (f.oseqno, f.iseqno, f.timestamp) == (2, 3, 20)


def test_voice_log_compressed_subclass() -> None:
    g722 = full(VOICE_G722)
    assert g722.subclass == Format.G722
    assert g722.retransmitted
    assert g722.payload == bytes(range(80))
    opus = full(VOICE_OPUS)
    assert opus.subclass == Format.OPUS
    assert opus.timestamp == 0x10000
    assert opus.payload == b"opus"


def test_video_full_frame_marker() -> None:
    f = full(VIDEO_H264_MARK)
    assert f.frame_type == FrameType.VIDEO
    assert f.subclass == Format.H264
    assert f.marker
    unmarked = FullFrame(
        source_call=3,
        dest_call=9,
        timestamp=40,
        oseqno=0,
        iseqno=0,
        frame_type=FrameType.VIDEO,
        subclass=Format.H264,
        payload=f.payload,
    )
    assert bytes(unmarked)[11] == 0x95


def test_control_and_dtmf() -> None:
    ringing = full(CONTROL_RINGING)
    assert ringing.frame_type == FrameType.CONTROL
    assert ringing.subclass is ControlType.RINGING
    stop = full(CONTROL_STOP)
    assert stop.subclass == -1
    dtmf = full(DTMF_5)
    assert dtmf.frame_type == FrameType.DTMF_END
    assert chr(dtmf.subclass) == "5"
    assert "Subclass: 5" in describe(dtmf)


def test_mini() -> None:
    f = parse_frame(MINI)
    assert f == MiniFrame(5, 0x1234, bytes([0xD5] * 160))


def test_trunk_supermini() -> None:
    f = parse_frame(TRUNK_SUPERMINI)
    assert f == MetaTrunkFrame(
        1000, False, [TrunkEntry(5, b"\xaa\xbb\xcc"), TrunkEntry(7, b"\xdd\xee")]
    )


def test_trunk_with_timestamps() -> None:
    f = parse_frame(TRUNK_TIMESTAMPS)
    assert f == MetaTrunkFrame(
        1000, True, [TrunkEntry(5, b"\xaa\xbb\xcc", 20), TrunkEntry(7, b"", 40)]
    )


def test_meta_video() -> None:
    assert parse_frame(META_VIDEO) == MetaVideoFrame(5, 100, b"frame", marker=True)


def test_empty_trunk_is_valid() -> None:
    assert parse_frame(h("00 00 01 00 00 00 00 01")) == MetaTrunkFrame(1, False, [])


def test_accepts_bytearray_and_memoryview() -> None:
    assert parse_frame(bytearray(MINI)) == parse_frame(MINI)
    assert parse_frame(memoryview(NEW)) == parse_frame(NEW)


# ---------------------------------------------------------------------------
# Subclass compression
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "marker", "byte"),
    [
        (0, False, 0x00),
        (4, False, 0x04),
        (0x40, False, 0x40),  # slinear still fits uncompressed
        (0x7F, False, 0x7F),
        (0x80, False, 0x87),  # lpc10
        (Format.G729, False, 0x88),
        (Format.G722, False, 0x8C),
        (Format.OPUS, False, 0xA2),
        (Format.H264, True, 0xD5),
        (1 << 63, False, 0xBF),
        (-1, False, 0xFF),
    ],
)
def test_subclass_compression(value: int, marker: bool, byte: int) -> None:
    assert compress_subclass(value, marker) == byte
    assert uncompress_subclass(byte) == (value, marker)


@pytest.mark.parametrize("value", [0x81, 0x100 | 0x200, 1 << 64, -2])
def test_subclass_not_compressible(value: int) -> None:
    with pytest.raises(ValueError, match="cannot"):
        compress_subclass(value)


def test_non_canonical_subclass_is_normalised() -> None:
    # 0x82 means 1 << 2 = ulaw; Asterisk never sends it but would accept it.
    data = h("80 01 00 05 00 00 00 14 02 03 02 82") + b"x"
    frame = full(data)
    assert frame.subclass == Format.ULAW
    assert bytes(frame)[11] == 0x04
    assert parse_frame(bytes(frame)) == frame


# ---------------------------------------------------------------------------
# Malformed input
# ---------------------------------------------------------------------------


def _valid_prefix_lengths(name: str, data: bytes) -> set[int]:
    """Prefix lengths that are themselves valid frames."""
    frame = parse_frame(data)
    if isinstance(frame, MiniFrame):
        return set(range(4, len(data) + 1))
    if isinstance(frame, MetaVideoFrame):
        return set(range(6, len(data) + 1))
    if isinstance(frame, MetaTrunkFrame):
        cuts = {8}
        pos = 8
        for entry in frame.entries:
            pos += (6 if frame.with_timestamps else 4) + len(entry.payload)
            cuts.add(pos)
        return cuts
    assert isinstance(frame, FullFrame)
    if frame.ies is None:
        return set(range(12, len(data) + 1))
    cuts = {12}
    pos = 12
    for _ie, raw in frame.ies.items:
        pos += 2 + len(raw)
        cuts.add(pos)
    return cuts


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_every_prefix_is_valid_or_raises_frame_parse_error(name: str) -> None:
    data = GOLDEN[name]
    valid = _valid_prefix_lengths(name, data)
    for n in range(len(data) + 1):
        prefix = data[:n]
        if n in valid:
            assert bytes(parse_frame(prefix)) == prefix
        else:
            with pytest.raises(FrameParseError):
                parse_frame(prefix)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty datagram"),
        (b"\x00", "datagram too short: 1 bytes, need at least 4"),
        (b"\x80\x01\x00", "full frame truncated: 3 bytes, need 12"),
        (NEW[:7], "full frame truncated: 7 bytes, need 12"),
        (META_VIDEO[:5], "meta video frame truncated: 5 bytes, need 6"),
        (TRUNK_SUPERMINI[:6], "meta trunk frame truncated: 6 bytes, need 8"),
        (h("00 00 02 00 00 00 00 00"), "unsupported meta command 2"),
        (h("00 00 01 02 00 00 00 00"), "unknown meta trunk mode 2"),
        (TRUNK_SUPERMINI[:10], "trunk entry 0 header truncated at offset 8: 2 bytes left, need 4"),
        (TRUNK_SUPERMINI[:14], "trunk entry 0 (call 5) at offset 8 claims 3 bytes, only 2 remain"),
        (
            TRUNK_TIMESTAMPS[:21],
            "trunk entry 1 header truncated at offset 17: 4 bytes left, need 6",
        ),
        (NEW[:13], "IAX NEW frame: IE header truncated at offset 0: 1 byte left, need 2"),
        (NEW[:15], "IAX NEW frame: IE 11 (VERSION) at offset 0 claims 2 bytes, only 1 remain"),
    ],
)
def test_error_messages(data: bytes, message: str) -> None:
    with pytest.raises(FrameParseError) as info:
        parse_frame(data)
    assert message in str(info.value)


IAX_HEADER = h("80 01 00 00 00 00 00 00 00 00 06 01")


@pytest.mark.parametrize(
    ("ies", "message"),
    [
        ("0b 03 00 02 00", "IE 11 (VERSION) has length 3, expected 2"),
        ("0b 01 02", "IE 11 (VERSION) has length 1, expected 2"),
        ("08 02 00 04", "IE 8 (CAPABILITY) has length 2, expected 4"),
        ("2a 02 00 10", "IE 42 (CAUSE CODE) has length 2, expected 1"),
        ("19 01 00", "IE 25 (AUTO ANSWER REQ) has length 1, expected 0"),
        ("38 05 00 00 00 00 04", "IE 56 (FORMAT2): version 0 value has length 5, expected 9"),
        ("38 00", "IE 56 (FORMAT2): versioned value is empty"),
        ("12 0a 02 00 11 d9 c0 00 02 05 00 00", "address of 10 bytes"),
        ("1f 04 4f b5 84 2f", "invalid packed date/time 0x4fb5842f"),
        ("01 05 36 30 30", "IE 1 (CALLED NUMBER) at offset 0 claims 5 bytes, only 3 remain"),
        ("0b 02 00 02 06", "IE header truncated at offset 4: 1 byte left, need 2"),
    ],
)
def test_invalid_ies(ies: str, message: str) -> None:
    with pytest.raises(FrameParseError) as info:
        parse_frame(IAX_HEADER + h(ies))
    assert message in str(info.value)


def test_unknown_format2_version_is_kept_but_reads_absent() -> None:
    data = IAX_HEADER + h("38 03 01 aa bb")
    f = full(data)
    assert f.ies is not None
    assert f.ies.format2 is None
    assert f.subclass == IaxCommand.NEW
    assert bytes(f) == data
    assert "Unknown version 1" in describe(f)


# ---------------------------------------------------------------------------
# Serialising invalid objects is a local error (ValueError, not FrameParseError)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        MiniFrame(0, 1, b""),  # call 0 would read back as a meta frame
        MiniFrame(0x8000, 1, b""),
        MiniFrame(1, 0x10000, b""),
        MetaVideoFrame(1, 0x8000, b""),
        MetaTrunkFrame(0, True, [TrunkEntry(1, b"", None)]),
        MetaTrunkFrame(0, False, [TrunkEntry(1, b"", 5)]),
        MetaTrunkFrame(1 << 32, False, []),
        FullFrame(
            source_call=1, dest_call=0, timestamp=0, oseqno=256, iseqno=0, frame_type=2, subclass=4
        ),
        FullFrame(
            source_call=1, dest_call=0, timestamp=0, oseqno=0, iseqno=0, frame_type=2, subclass=0x81
        ),
    ],
)
def test_serialising_out_of_range_raises_value_error(
    frame: FullFrame | MiniFrame | MetaVideoFrame | MetaTrunkFrame,
) -> None:
    with pytest.raises(ValueError) as info:
        bytes(frame)
    assert not isinstance(info.value, FrameParseError)


# ---------------------------------------------------------------------------
# Debug output
# ---------------------------------------------------------------------------


def test_describe_new_like_asterisk() -> None:
    text = describe(parse_frame(NEW)).splitlines()
    assert text[0] == ("Rx-Frame Retry[ No] -- OSeqno: 000 ISeqno: 000 Type: IAX     Subclass: NEW")
    assert text[1] == "   Timestamp: 00003ms  SCall: 00001  DCall: 00000"
    assert text[2] == "   VERSION         : 2"
    assert text[3] == "   CALLED NUMBER   : 600"
    assert "   CAPABILITY      : 12 (ulaw|alaw)" in text
    assert "   CALLTOKEN       : Present (empty: token requested)" in text


def test_describe_other_kinds() -> None:
    assert "Subclass: ulaw" in describe(parse_frame(VOICE_ULAW), direction="Tx")
    assert describe(parse_frame(VOICE_ULAW), direction="Tx").startswith("Tx-Frame")
    assert "Retry[Yes]" in describe(parse_frame(REGACK))
    assert "APPARENT ADDRES : IPV4 192.0.2.5:4569" in describe(parse_frame(REGACK))
    assert "DATE TIME       : 2039-09-21  16:33:30" in describe(parse_frame(REGACK))
    assert "Unknown IE 200  : Present (2 bytes: abcd)" in describe(parse_frame(HANGUP))
    assert "Subclass: h264 (mark)" in describe(parse_frame(VIDEO_H264_MARK))
    assert "Subclass: RINGING" in describe(parse_frame(CONTROL_RINGING))
    assert "Call: 00005  Timestamp: 04660  Payload: 160 bytes" in describe(parse_frame(MINI))
    trunk = describe(parse_frame(TRUNK_TIMESTAMPS)).splitlines()
    assert trunk[0].startswith("Rx-Trunk -- Timestamp: 01000ms  Mode: MINI")
    assert trunk[2] == "   Call: 00007  Timestamp: 00040  Payload: 0 bytes"
    assert "Mark: yes" in describe(parse_frame(META_VIDEO))


def test_describe_unknown_type_and_payload() -> None:
    frame = parse_frame(h("80 01 00 00 00 00 00 00 00 00 0d 07") + b"abc")
    assert isinstance(frame, FullFrame)
    assert frame.frame_type == 13
    text = describe(frame)
    assert "Type: (13?)   Subclass: 7" in text
    assert "   Payload: 3 bytes" in text
