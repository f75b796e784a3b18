"""Tests for iaxphone.wire.buffer and the constants that must match Asterisk exactly."""

from __future__ import annotations

import pytest

from iaxphone.wire import constants as c
from iaxphone.wire.buffer import Reader, Writer
from iaxphone.wire.errors import FrameParseError


def test_writer_then_reader_round_trip() -> None:
    w = Writer()
    w.push_u8(0xAB)
    w.push_u16(0x1234)
    w.push_u32(0xDEADBEEF)
    w.push_u64(1 << 34)
    w.push_bytes(b"xyz")
    data = bytes(w)
    assert len(w) == len(data) == 1 + 2 + 4 + 8 + 3
    assert w.data() == data
    assert data[:7] == bytes.fromhex("ab1234deadbeef")
    r = Reader(data)
    assert r.pull_u8() == 0xAB
    assert r.pull_u16() == 0x1234
    assert r.pull_u32() == 0xDEADBEEF
    assert r.pull_u64() == 1 << 34
    assert r.remaining == 3
    assert r.pull_bytes(1) == b"x"
    assert r.pos == 16
    assert r.pull_rest() == b"yz"
    assert r.eof()
    assert r.pull_rest() == b""


@pytest.mark.parametrize("method", ["pull_u8", "pull_u16", "pull_u32", "pull_u64"])
def test_reader_underflow_is_frame_parse_error(method: str) -> None:
    r = Reader(b"", what="trunk entry")
    with pytest.raises(FrameParseError, match="trunk entry truncated at offset 0"):
        getattr(r, method)()


def test_reader_underflow_message_and_position_unchanged() -> None:
    r = Reader(b"\x01\x02\x03", what="IE block")
    r.pull_u8()
    with pytest.raises(FrameParseError) as info:
        r.pull_u32()
    assert str(info.value) == "IE block truncated at offset 1: need 4 bytes, 2 left"
    assert r.pos == 1
    with pytest.raises(FrameParseError, match="negative length"):
        r.pull_bytes(-1)


@pytest.mark.parametrize(
    ("method", "value"),
    [("push_u8", 256), ("push_u16", -1), ("push_u32", 1 << 32), ("push_u64", 1 << 64)],
)
def test_writer_range_checks(method: str, value: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        getattr(Writer(), method)(value)


def test_constants_match_iax2_h() -> None:
    assert c.IAX_PROTO_VERSION == 2
    assert c.DEFAULT_PORT == 4569
    assert c.FrameType["DTMF"] is c.FrameType.DTMF_END
    assert int(c.FrameType.DTMF_END) == 1
    assert int(c.FrameType.DTMF_BEGIN) == 12
    assert int(c.IaxCommand.NEW) == 1
    assert int(c.IaxCommand.TXMEDIA) == 38
    assert int(c.IaxCommand.RTKEY) == 39
    assert int(c.IaxCommand.CALLTOKEN) == 40
    assert len(c.IaxCommand) == 40
    assert int(c.IE.CALLTOKEN) == 54
    assert int(c.IE.CAPABILITY2) == 55
    assert int(c.IE.FORMAT2) == 56
    assert int(c.IE.CALLINGANI2) == 57
    assert len(c.IE) == 57
    assert int(c.ControlType.SRCUPDATE) == 20
    assert int(c.ControlType.PVT_CAUSE_CODE) == 33
    assert int(c.AuthMethod.RSA) == 4
    assert int(c.Encryption.KEYROTATE) == 0x8000
    assert c.Cause["CONGESTION"] is c.Cause.NORMAL_CIRCUIT_CONGESTION
    assert int(c.Cause.CONGESTION) == 34
    assert int(c.Cause.BEARERCAPABILITY_NOTAVAIL) == 58


def test_format_bits_match_format_compatibility_h() -> None:
    f = c.Format
    assert (f.G723_1, f.GSM, f.ULAW, f.ALAW) == (1, 2, 4, 8)
    assert (f.G726_AAL2, f.ADPCM, f.SLINEAR, f.LPC10) == (16, 32, 64, 128)
    assert (f.G729, f.SPEEX, f.ILBC, f.G726, f.G722) == (256, 512, 1024, 2048, 4096)
    assert f.SLINEAR16 == 1 << 15
    assert f.H264 == 1 << 21
    assert f.OPUS == 1 << 34
    assert set(c.FORMAT_NAMES) == {m.value for m in f}
    assert c.format_names(f.ULAW | f.OPUS) == "ulaw|opus"
    assert c.format_names(0) == "(none)"
    assert c.format_names(1 << 40) == "0x10000000000"
    assert c.AUDIO_FORMATS & c.VIDEO_FORMATS == 0


def test_codec_pref_order_is_chan_iax2s_table() -> None:
    order = c.CODEC_PREF_ORDER
    assert order[0] == c.Format.G723_1
    assert order[4] == c.Format.G726
    assert order[10] == c.Format.SPEEX16
    assert order[12] == c.Format.G726_AAL2
    assert order[26] == 0
    assert order[36] == c.Format.OPUS
    assert order[37] == c.Format.VP8
    nonzero = [x for x in order if x]
    assert len(nonzero) == len(set(nonzero)) == len(c.Format)
