"""Tests for iaxphone.wire.ies: the IE table, typed access, repeats, unknowns, dump."""

from __future__ import annotations

import datetime as dt

import pytest

from iaxphone.wire.constants import IE, AuthMethod, Encryption, Format
from iaxphone.wire.errors import FrameParseError
from iaxphone.wire.ies import (
    IE_FIELDS,
    InformationElements,
    SockAddr,
    codec_prefs_to_formats,
    formats_to_codec_prefs,
    ie_label,
)


def test_table_covers_every_ie_number() -> None:
    assert set(IE_FIELDS) == {int(ie) for ie in IE}
    attrs = [f.attr for f in IE_FIELDS.values()]
    assert len(attrs) == len(set(attrs))
    assert ie_label(IE.CALLED_NUMBER) == "CALLED NUMBER"
    assert ie_label(250) == "Unknown IE"


@pytest.mark.parametrize(
    ("attr", "value", "raw"),
    [
        ("called_number", "600", b"\x01\x03600"),
        ("calling_name", "Zoë", b"\x04\x04Zo\xc3\xab"),
        ("version", 2, b"\x0b\x02\x00\x02"),
        ("auth_methods", AuthMethod.MD5 | AuthMethod.RSA, b"\x0e\x02\x00\x06"),
        ("encryption", Encryption.AES128 | Encryption.KEYROTATE, b"\x2b\x02\x80\x01"),
        ("cause_code", 17, b"\x2a\x01\x11"),
        ("capability", Format.ULAW, b"\x08\x04\x00\x00\x00\x04"),
        ("format2", Format.OPUS, b"\x38\x09\x00\x00\x00\x00\x04\x00\x00\x00\x00"),
        ("auto_answer", True, b"\x19\x00"),
        ("call_token", b"", b"\x36\x00"),
        ("call_token", b"123?abc", b"\x36\x07123?abc"),
        ("enc_key", b"\x00\x01", b"\x2c\x02\x00\x01"),
        (
            "apparent_addr",
            SockAddr("192.0.2.5", 4569),
            b"\x12\x10\x02\x00\x11\xd9\xc0\x00\x02\x05" + bytes(8),
        ),
        (
            "apparent_addr",
            SockAddr("2001:db8::1", 4569),
            b"\x12\x1c\x0a\x00\x11\xd9"
            + bytes(4)
            + bytes.fromhex("20010db8000000000000000000000001")
            + bytes(4),
        ),
        ("date_time", dt.datetime(2024, 2, 29, 23, 59, 58), b"\x1f\x04\x30\x5d\xbf\x7d"),
        ("rr_delay", 40, b"\x31\x02\x00\x28"),
        ("rr_loss", 0x05000010, b"\x2f\x04\x05\x00\x00\x10"),
    ],
)
def test_typed_values_encode_to_known_bytes(attr: str, value: object, raw: bytes) -> None:
    ies = InformationElements(**{attr: value})
    assert ies.to_bytes() == raw
    parsed = InformationElements.parse(raw)
    assert getattr(parsed, attr) == value
    assert parsed == ies


def test_datetime_layout() -> None:
    # 2024-02-29 23:59:58 -> year 24, month 2, day 29, hour 23, minute 59, second 58/2.
    v = (24 << 25) | (2 << 21) | (29 << 16) | (23 << 11) | (59 << 5) | 29
    assert v.to_bytes(4, "big") == b"\x30\x5d\xbf\x7d"


def test_order_and_repeats_round_trip_exactly() -> None:
    raw = bytes.fromhex("0103363030 0b020002 0103373030 3404613d6263 3404613d6465")
    ies = InformationElements.parse(raw)
    assert ies.to_bytes() == raw
    assert ies.called_number == "700"  # last occurrence, as Asterisk's parser
    assert ies.get_all(IE.CALLED_NUMBER) == ["600", "700"]
    assert ies.get(IE.CALLED_NUMBER) == "700"
    assert ies.variables() == {"a": "bcde"}  # continued VARIABLE, as Asterisk


def test_setting_replaces_in_place_and_none_removes() -> None:
    ies = InformationElements.parse(bytes.fromhex("0103363030 0b020002 0103373030"))
    ies.called_number = "800"
    assert ies.items == [(1, b"800"), (11, b"\x00\x02")]
    ies.called_number = None
    assert ies.items == [(11, b"\x00\x02")]
    assert ies.called_number is None
    assert IE.VERSION in ies
    assert IE.CALLED_NUMBER not in ies
    ies.username = "bob"
    assert ies.items[-1] == (IE.USERNAME, b"bob")


def test_append_and_unknown_ies() -> None:
    ies = InformationElements()
    ies.append(IE.CALLED_NUMBER, "1")
    ies.append(IE.CALLED_NUMBER, "2")
    ies.append(200, b"\x01\x02")
    ies.append_raw(201, b"")
    assert ies.get_all(IE.CALLED_NUMBER) == ["1", "2"]
    assert ies.unknown == [(200, b"\x01\x02"), (201, b"")]
    assert ies.get(200) == b"\x01\x02"
    parsed = InformationElements.parse(bytes(ies))
    assert parsed == ies
    assert len(parsed) == 4
    assert list(parsed) == ies.items


def test_raw_strings_survive_round_trip() -> None:
    raw = b"\x04\x03\xff\xfeA"  # not UTF-8
    ies = InformationElements.parse(raw)
    name = ies.calling_name
    assert name is not None
    ies2 = InformationElements(calling_name=name)
    assert bytes(ies2) == raw
    assert ies.dump() == ["   CALLING NAME    : \ufffd\ufffdA"]


def test_codec_prefs_helpers() -> None:
    prefs = formats_to_codec_prefs([Format.OPUS, Format.ULAW, Format.SPEEX16])
    assert prefs == "fDL"
    assert codec_prefs_to_formats(prefs) == [Format.OPUS, Format.ULAW, Format.SPEEX16]
    assert codec_prefs_to_formats("A~") == [0, 0]
    with pytest.raises(ValueError, match="no CODEC_PREFS code"):
        formats_to_codec_prefs([1 << 40])


@pytest.mark.parametrize(
    ("attr", "value", "error"),
    [
        ("version", 1 << 16, ValueError),
        ("version", -1, ValueError),
        ("version", "2", TypeError),
        ("version", True, TypeError),
        ("called_number", 600, TypeError),
        ("called_number", "x" * 256, ValueError),
        ("auto_answer", False, ValueError),
        ("date_time", dt.datetime(1999, 1, 1), ValueError),
        ("apparent_addr", SockAddr("192.0.2.1", 70000), ValueError),
        ("format2", 1 << 64, ValueError),
    ],
)
def test_building_invalid_values_is_a_local_error(
    attr: str, value: object, error: type[Exception]
) -> None:
    with pytest.raises(error) as info:
        InformationElements(**{attr: value})
    assert not isinstance(info.value, FrameParseError)


def test_unknown_keyword() -> None:
    with pytest.raises(TypeError, match="unknown information element 'nope'"):
        InformationElements(nope=1)


def test_dump_lines() -> None:
    ies = InformationElements(
        called_number="600",
        password="secret",
        auth_methods=AuthMethod.MD5,
        format=Format.ULAW | Format.G722,
        capability2=Format.OPUS,
        codec_prefs="DO",
        cause_code=17,
        apparent_addr=SockAddr("2001:db8::1", 4569),
    )
    ies.append(IE.CALLINGTNS, 1)
    ies.append_raw(IE.VERSION, b"\x00")  # invalid: not length checked when appended raw
    ies.append_raw(99, b"")
    lines = ies.dump()
    assert lines == [
        "   CALLED NUMBER   : 600",
        "   PASSWORD        : <hidden, 6 bytes>",
        "   AUTHMETHODS     : 2 (MD5)",
        "   FORMAT          : 4100 (ulaw|g722)",
        "   CAPABILITY2     : opus",
        "   CODEC_PREFS     : DO (ulaw|g722)",
        "   CAUSE CODE      : 17 (USER_BUSY)",
        "   APPARENT ADDRES : IPV6 2001:db8::1:4569",
        "   CALLING TRANSIT : 1",
        "   VERSION         : Invalid U16 (1 bytes: 00)",
        "   Unknown IE 099  : Present",
    ]
    assert "   PASSWORD        : secret" in ies.dump(reveal_secrets=True)


def test_repr_and_equality() -> None:
    ies = InformationElements(version=2)
    ies.append_raw(150, b"\x01")
    assert repr(ies) == "InformationElements(version=2, ie150=b'\\x01')"
    assert ies != InformationElements(version=2)
    assert ies != "x"


def test_class_attribute_is_the_field() -> None:
    field = InformationElements.called_number
    assert field.ie == IE.CALLED_NUMBER
    assert field.kind.name == "STR"
