"""IAX2 information elements: one table drives parsing, building and the debug dump.

An IAX frame's payload is a run of information elements (IEs), each one byte
of IE number, one byte of length and ``length`` bytes of value.  The class
:class:`InformationElements` keeps them as an ordered list of
``(ie_number, raw_value)`` pairs, so that parse -> serialise is byte exact
(order, repeats and unknown IEs included), and offers typed attribute access
on top::

    ies = InformationElements.parse(payload)
    ies.called_number            # "600" or None
    ies.version = 2              # replaces (or appends) the VERSION IE

The table is the set of :class:`Field` descriptors in the class body: each
names its IE number, its :class:`Kind` (how the value is encoded) and the
label the dump prints, like Asterisk's ``infoelts[]`` in ``iax2/parser.c``.
:data:`IE_FIELDS` maps IE number -> field for code that works by number.

Repeated IEs: every occurrence is kept.  The attribute returns the *last*
occurrence, which is what Asterisk's parser ends up with; :meth:`get_all`
returns all of them.  Assigning an attribute keeps one occurrence (at the
position of the first) and drops the others; assigning ``None`` removes it.

Lengths are checked strictly: an IE running past the end of the payload, a
stray trailing byte, or a fixed-size IE with the wrong length raises
:class:`~iaxphone.wire.errors.FrameParseError`.  (Asterisk logs and ignores a
wrongly sized fixed IE; we refuse the frame instead.)
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import IntFlag
from typing import Any, Generic, NamedTuple, TypeVar, overload

from .constants import (
    CODEC_PREF_ORDER,
    FORMAT_NAMES,
    IE,
    AuthMethod,
    Cause,
    Encryption,
    SamplingRate,
    format_names,
)
from .errors import FrameParseError

T = TypeVar("T")

_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
_U64 = struct.Struct("!Q")


# ---------------------------------------------------------------------------
# Value kinds
# ---------------------------------------------------------------------------


class SockAddr(NamedTuple):
    """Decoded APPARENT_ADDR value."""

    host: str
    port: int


@dataclass(frozen=True, slots=True)
class Kind(Generic[T]):
    """How one kind of IE value maps between bytes and Python.

    ``size`` is the exact length the IE must have, or None if variable.
    ``decode`` may return None for a value it cannot interpret but that is
    still legal to carry (an unknown FORMAT2 version); such an IE is kept and
    re-emitted but reads as absent.
    """

    name: str
    size: int | None
    decode: Callable[[bytes], T | None]
    encode: Callable[[T], bytes]


def _dec_str(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _enc_str(value: str) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"expected str, got {type(value).__name__}")
    return value.encode("utf-8", "surrogateescape")


def _dec_bytes(raw: bytes) -> bytes:
    return raw


def _enc_bytes(value: bytes) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise TypeError(f"expected bytes, got {type(value).__name__}")
    return bytes(value)


def _dec_empty(raw: bytes) -> bool:
    return True


def _enc_empty(value: bool) -> bytes:
    if value is not True:
        raise ValueError("an empty (flag) IE can only be set to True or None")
    return b""


def _int_kind(name: str, size: int) -> Kind[int]:
    limit = 1 << (8 * size)

    def decode(raw: bytes) -> int:
        return int.from_bytes(raw, "big")

    def encode(value: int) -> bytes:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"expected int, got {type(value).__name__}")
        if not 0 <= value < limit:
            raise ValueError(f"{name} value out of range: {value}")
        return value.to_bytes(size, "big")

    return Kind(name, size, decode, encode)


def _dec_versioned_u64(raw: bytes) -> int | None:
    # Asterisk: a version byte, then for version 0 a big-endian u64.  Other
    # versions are ignored (not rejected) by Asterisk, whatever their length.
    if not raw:
        raise FrameParseError("versioned value is empty, need a version byte")
    if raw[0] != 0:
        return None
    if len(raw) != 9:
        raise FrameParseError(f"version 0 value has length {len(raw)}, expected 9")
    return int(_U64.unpack_from(raw, 1)[0])


def _enc_versioned_u64(value: int) -> bytes:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected int, got {type(value).__name__}")
    if not 0 <= value < 1 << 64:
        raise ValueError(f"u64 value out of range: {value}")
    return b"\x00" + _U64.pack(value)


# APPARENT_ADDR is a raw struct sockaddr copied from the sender's memory: the
# family field is in *host* byte order (02 00 on little-endian Linux, 10 02
# with BSD's sin_len), port and address in network order.  Asterisk tells
# IPv4 from IPv6 by length alone, and so do we.
_SOCKADDR_IN_LEN = 16
_SOCKADDR_IN6_LEN = 28


def _dec_addr(raw: bytes) -> SockAddr:
    if len(raw) == _SOCKADDR_IN_LEN:
        return SockAddr(str(ipaddress.IPv4Address(raw[4:8])), int(_U16.unpack_from(raw, 2)[0]))
    if len(raw) == _SOCKADDR_IN6_LEN:
        return SockAddr(str(ipaddress.IPv6Address(raw[8:24])), int(_U16.unpack_from(raw, 2)[0]))
    raise FrameParseError(f"address of {len(raw)} bytes is neither sockaddr_in (16) nor _in6 (28)")


def _enc_addr(value: SockAddr | tuple[str, int]) -> bytes:
    host, port = value
    ip = ipaddress.ip_address(host)
    if not 0 <= port <= 0xFFFF:
        raise ValueError(f"port out of range: {port}")
    if isinstance(ip, ipaddress.IPv4Address):
        # Linux, little-endian: family AF_INET=2 in host order.
        return b"\x02\x00" + _U16.pack(port) + ip.packed + bytes(8)
    return b"\x0a\x00" + _U16.pack(port) + bytes(4) + ip.packed + bytes(4)


def _dec_datetime(raw: bytes) -> _dt.datetime:
    v = int(_U32.unpack_from(raw)[0])
    fields = (
        2000 + (v >> 25),
        (v >> 21) & 0x0F,
        (v >> 16) & 0x1F,
        (v >> 11) & 0x1F,
        (v >> 5) & 0x3F,
        (v & 0x1F) << 1,
    )
    try:
        return _dt.datetime(*fields)  # IAX2 carries naive local time
    except ValueError as exc:
        raise FrameParseError(f"invalid packed date/time 0x{v:08x}: {exc}") from None


def _enc_datetime(value: _dt.datetime) -> bytes:
    if not isinstance(value, _dt.datetime):
        raise TypeError(f"expected datetime, got {type(value).__name__}")
    if not 2000 <= value.year <= 2127:
        raise ValueError(f"year {value.year} does not fit the IAX2 date/time (2000-2127)")
    v = (
        ((value.year - 2000) << 25)
        | (value.month << 21)
        | (value.day << 16)
        | (value.hour << 11)
        | (value.minute << 5)
        | (value.second >> 1)
    )
    return _U32.pack(v)


STR: Kind[str] = Kind("STR", None, _dec_str, _enc_str)
BYTES: Kind[bytes] = Kind("BYTES", None, _dec_bytes, _enc_bytes)
EMPTY: Kind[bool] = Kind("EMPTY", 0, _dec_empty, _enc_empty)
U8 = _int_kind("U8", 1)
U16 = _int_kind("U16", 2)
U32 = _int_kind("U32", 4)
U64 = Kind("U64", None, _dec_versioned_u64, _enc_versioned_u64)
"""Asterisk's "versioned" u64 (FORMAT2/CAPABILITY2): version byte 0 then 8 bytes."""
ADDR: Kind[SockAddr] = Kind("ADDR", None, _dec_addr, _enc_addr)
DATETIME: Kind[_dt.datetime] = Kind("DATETIME", 4, _dec_datetime, _enc_datetime)
CODEC_PREFS: Kind[str] = Kind("CODEC_PREFS", None, _dec_str, _enc_str)


def codec_prefs_to_formats(prefs: str) -> list[int]:
    """Decode a CODEC_PREFS string to format bits, best first (unknown slots give 0)."""
    out = []
    for ch in prefs:
        index = ord(ch) - ord("A") - 1
        out.append(CODEC_PREF_ORDER[index] if 0 <= index < len(CODEC_PREF_ORDER) else 0)
    return out


def formats_to_codec_prefs(formats: Iterable[int]) -> str:
    """Encode format bits (best first) as a CODEC_PREFS string."""
    chars = []
    for fmt in formats:
        if fmt == 0 or fmt not in CODEC_PREF_ORDER:
            raise ValueError(f"format 0x{fmt:x} has no CODEC_PREFS code")
        chars.append(chr(ord("A") + CODEC_PREF_ORDER.index(fmt) + 1))
    return "".join(chars)


# ---------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------


class Field(Generic[T]):
    """Descriptor for one IE: number, kind, dump label and optional pretty printer."""

    __slots__ = ("attr", "ie", "kind", "label", "show")

    def __init__(
        self,
        ie: IE,
        kind: Kind[T],
        label: str,
        show: Callable[[T], str] | None = None,
    ) -> None:
        self.ie = ie
        self.kind = kind
        self.label = label
        self.show = show
        self.attr = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.attr = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Field[T]: ...
    @overload
    def __get__(self, obj: InformationElements, owner: type | None = None) -> T | None: ...
    def __get__(
        self, obj: InformationElements | None, owner: type | None = None
    ) -> Field[T] | T | None:
        if obj is None:
            return self
        for ie, raw in reversed(obj.items):
            if ie == self.ie:
                return self.kind.decode(raw)
        return None

    def __set__(self, obj: InformationElements, value: T | None) -> None:
        if value is None:
            obj.remove(self.ie)
        else:
            obj.set_raw(self.ie, self.encode(value))

    def encode(self, value: T) -> bytes:
        """Encode a typed value, checking it fits in one IE."""
        raw = self.kind.encode(value)
        if len(raw) > 255:
            raise ValueError(f"{self.attr}: value of {len(raw)} bytes exceeds 255")
        return raw

    def check(self, raw: bytes) -> None:
        """Raise FrameParseError unless ``raw`` is a valid value for this IE."""
        size = self.kind.size
        if size is not None and len(raw) != size:
            raise FrameParseError(
                f"IE {self.ie} ({self.label}) has length {len(raw)}, expected {size}"
            )
        try:
            self.kind.decode(raw)
        except FrameParseError as exc:
            raise FrameParseError(f"IE {self.ie} ({self.label}): {exc}") from None

    def describe(self, raw: bytes, reveal_secrets: bool = False) -> str:
        """Human-readable value for the debug dump (never raises)."""
        try:
            self.check(raw)
        except FrameParseError:
            return f"Invalid {self.kind.name} ({len(raw)} bytes: {raw.hex()})"
        if self.ie in _SECRET_IES and not reveal_secrets:
            return f"<hidden, {len(raw)} bytes>"
        value = self.kind.decode(raw)
        if value is None:
            return f"Unknown version {raw[0]} ({len(raw)} bytes)"
        if self.show is not None:
            return self.show(value)
        if isinstance(value, str):
            return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        if isinstance(value, bytes):
            return f"{len(value)} bytes" if value else "Present"
        if isinstance(value, bool):
            return "Present"
        if isinstance(value, SockAddr):
            family = "IPV6" if ":" in value.host else "IPV4"
            return f"{family} {value.host}:{value.port}"
        if isinstance(value, _dt.datetime):
            return value.strftime("%Y-%m-%d  %H:%M:%S")
        return str(value)


_SECRET_IES = frozenset({IE.PASSWORD})


def _show_formats(value: int) -> str:
    return f"{value} ({format_names(value)})"


def _show_format2(value: int) -> str:
    return format_names(value)


def _show_flags(names: type[IntFlag]) -> Callable[[int], str]:
    def show(value: int) -> str:
        parts = [m.name or "" for m in names if value & m.value]
        return f"{value} ({','.join(parts)})" if parts else str(value)

    return show


def _show_cause(value: int) -> str:
    try:
        return f"{value} ({Cause(value).name})"
    except ValueError:
        return str(value)


def _show_prefs(value: str) -> str:
    names = [FORMAT_NAMES.get(f, "?") for f in codec_prefs_to_formats(value)]
    return f"{value} ({'|'.join(names)})"


def _show_challenge(value: str) -> str:
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _show_token(value: bytes) -> str:
    if not value:
        return "Present (empty: token requested)"
    if value.isascii() and value.decode("ascii").isprintable():
        return value.decode("ascii")
    return f"{len(value)} bytes"


class InformationElements:
    """An ordered block of IEs with typed attribute access (see module docstring)."""

    __slots__ = ("items",)

    items: list[tuple[int, bytes]]
    """Every IE in wire order as ``(ie_number, raw_value)``; this is the source of truth."""

    called_number = Field(IE.CALLED_NUMBER, STR, "CALLED NUMBER")
    calling_number = Field(IE.CALLING_NUMBER, STR, "CALLING NUMBER")
    calling_ani = Field(IE.CALLING_ANI, STR, "ANI")
    calling_name = Field(IE.CALLING_NAME, STR, "CALLING NAME")
    called_context = Field(IE.CALLED_CONTEXT, STR, "CALLED CONTEXT")
    username = Field(IE.USERNAME, STR, "USERNAME")
    password = Field(IE.PASSWORD, STR, "PASSWORD")
    capability = Field(IE.CAPABILITY, U32, "CAPABILITY", _show_formats)
    format = Field(IE.FORMAT, U32, "FORMAT", _show_formats)
    language = Field(IE.LANGUAGE, STR, "LANGUAGE")
    version = Field(IE.VERSION, U16, "VERSION")
    adsicpe = Field(IE.ADSICPE, U16, "ADSICPE")
    dnid = Field(IE.DNID, STR, "DNID")
    auth_methods = Field(IE.AUTHMETHODS, U16, "AUTHMETHODS", _show_flags(AuthMethod))
    challenge = Field(IE.CHALLENGE, STR, "CHALLENGE", _show_challenge)
    md5_result = Field(IE.MD5_RESULT, STR, "MD5 RESULT")
    rsa_result = Field(IE.RSA_RESULT, STR, "RSA RESULT")
    apparent_addr = Field(IE.APPARENT_ADDR, ADDR, "APPARENT ADDRESS")
    refresh = Field(IE.REFRESH, U16, "REFRESH")
    dp_status = Field(IE.DPSTATUS, U16, "DIALPLAN STATUS")
    callno = Field(IE.CALLNO, U16, "CALL NUMBER")
    cause = Field(IE.CAUSE, STR, "CAUSE")
    iax_unknown = Field(IE.IAX_UNKNOWN, U8, "UNKNOWN IAX CMD")
    msg_count = Field(IE.MSGCOUNT, U16, "MESSAGE COUNT")
    auto_answer = Field(IE.AUTOANSWER, EMPTY, "AUTO ANSWER REQ")
    music_on_hold = Field(IE.MUSICONHOLD, STR, "MUSICONHOLD")
    transfer_id = Field(IE.TRANSFERID, U32, "TRANSFER ID")
    rdnis = Field(IE.RDNIS, STR, "REFERRING DNIS")
    provisioning = Field(IE.PROVISIONING, BYTES, "PROVISIONING")
    aes_provisioning = Field(IE.AESPROVISIONING, BYTES, "AES PROVISIONING")
    date_time = Field(IE.DATETIME, DATETIME, "DATE TIME")
    device_type = Field(IE.DEVICETYPE, STR, "DEVICE TYPE")
    service_ident = Field(IE.SERVICEIDENT, STR, "SERVICE IDENT")
    firmware_ver = Field(IE.FIRMWAREVER, U16, "FIRMWARE VER")
    fw_block_desc = Field(IE.FWBLOCKDESC, U32, "FW BLOCK DESC")
    fw_block_data = Field(IE.FWBLOCKDATA, BYTES, "FW BLOCK DATA")
    prov_ver = Field(IE.PROVVER, U32, "PROVISIONING VER")
    calling_pres = Field(IE.CALLINGPRES, U8, "CALLING PRESNTN")
    calling_ton = Field(IE.CALLINGTON, U8, "CALLING TYPEOFNUM")
    calling_tns = Field(IE.CALLINGTNS, U16, "CALLING TRANSITNET")
    sampling_rate = Field(IE.SAMPLINGRATE, U16, "SAMPLINGRATE", _show_flags(SamplingRate))
    cause_code = Field(IE.CAUSECODE, U8, "CAUSE CODE", _show_cause)
    encryption = Field(IE.ENCRYPTION, U16, "ENCRYPTION", _show_flags(Encryption))
    enc_key = Field(IE.ENCKEY, BYTES, "ENCRYPTION KEY")
    codec_prefs = Field(IE.CODEC_PREFS, CODEC_PREFS, "CODEC_PREFS", _show_prefs)
    rr_jitter = Field(IE.RR_JITTER, U32, "RR_JITTER")
    rr_loss = Field(IE.RR_LOSS, U32, "RR_LOSS")
    rr_pkts = Field(IE.RR_PKTS, U32, "RR_PKTS")
    rr_delay = Field(IE.RR_DELAY, U16, "RR_DELAY")
    rr_dropped = Field(IE.RR_DROPPED, U32, "RR_DROPPED")
    rr_ooo = Field(IE.RR_OOO, U32, "RR_OUTOFORDER")
    variable = Field(IE.VARIABLE, STR, "VARIABLE")
    osp_token = Field(IE.OSPTOKEN, BYTES, "OSPTOKEN")
    call_token = Field(IE.CALLTOKEN, BYTES, "CALLTOKEN", _show_token)
    capability2 = Field(IE.CAPABILITY2, U64, "CAPABILITY2", _show_format2)
    format2 = Field(IE.FORMAT2, U64, "FORMAT2", _show_format2)
    calling_ani2 = Field(IE.CALLINGANI2, U32, "CALLING ANI2")

    def __init__(self, items: Iterable[tuple[int, bytes]] = (), /, **values: Any) -> None:
        """Build from raw ``(ie, bytes)`` pairs and/or typed keyword values, in order."""
        self.items = [(int(ie), bytes(raw)) for ie, raw in items]
        for name, value in values.items():
            field = _FIELDS_BY_ATTR.get(name)
            if field is None:
                raise TypeError(f"unknown information element {name!r}")
            field.__set__(self, value)

    # -- parsing and serialising ------------------------------------------------

    @classmethod
    def parse(cls, data: bytes) -> InformationElements:
        """Parse an IE block; raises FrameParseError on any length problem."""
        items: list[tuple[int, bytes]] = []
        pos = 0
        end = len(data)
        while pos < end:
            if end - pos < 2:
                raise FrameParseError(f"IE header truncated at offset {pos}: 1 byte left, need 2")
            ie = data[pos]
            length = data[pos + 1]
            start = pos + 2
            if length > end - start:
                raise FrameParseError(
                    f"IE {ie} ({ie_label(ie)}) at offset {pos} claims {length} bytes, "
                    f"only {end - start} remain"
                )
            raw = data[start : start + length]
            field = IE_FIELDS.get(ie)
            if field is not None:
                field.check(raw)
            items.append((ie, raw))
            pos = start + length
        self = cls.__new__(cls)
        self.items = items
        return self

    def to_bytes(self) -> bytes:
        """Serialise in :attr:`items` order."""
        out = bytearray()
        for ie, raw in self.items:
            if not 0 <= ie <= 0xFF or len(raw) > 0xFF:
                raise ValueError(f"IE {ie} with {len(raw)} bytes does not fit the IE header")
            out.append(ie)
            out.append(len(raw))
            out += raw
        return bytes(out)

    def __bytes__(self) -> bytes:
        return self.to_bytes()

    # -- generic access -----------------------------------------------------------

    def get(self, ie: int) -> Any:
        """Typed value of the last occurrence of ``ie`` (raw bytes if unknown), or None."""
        field = IE_FIELDS.get(ie)
        for num, raw in reversed(self.items):
            if num == ie:
                return raw if field is None else field.kind.decode(raw)
        return None

    def get_all(self, ie: int) -> list[Any]:
        """Typed values of every occurrence of ``ie``, in wire order."""
        field = IE_FIELDS.get(ie)
        return [
            raw if field is None else field.kind.decode(raw) for num, raw in self.items if num == ie
        ]

    def append(self, ie: int, value: Any) -> None:
        """Add one more occurrence of ``ie`` (typed value; bytes for unknown IEs)."""
        field = IE_FIELDS.get(ie)
        raw = field.encode(value) if field is not None else _enc_bytes(value)
        self.append_raw(ie, raw)

    def append_raw(self, ie: int, raw: bytes) -> None:
        """Add an IE with an already encoded value (not validated)."""
        if not 0 <= ie <= 0xFF or len(raw) > 0xFF:
            raise ValueError(f"IE {ie} with {len(raw)} bytes does not fit the IE header")
        self.items.append((ie, bytes(raw)))

    def set_raw(self, ie: int, raw: bytes) -> None:
        """Keep exactly one occurrence of ``ie`` (where the first one was) with ``raw``."""
        if not 0 <= ie <= 0xFF or len(raw) > 0xFF:
            raise ValueError(f"IE {ie} with {len(raw)} bytes does not fit the IE header")
        out: list[tuple[int, bytes]] = []
        placed = False
        for item in self.items:
            if item[0] != ie:
                out.append(item)
            elif not placed:
                out.append((ie, bytes(raw)))
                placed = True
        if not placed:
            out.append((ie, bytes(raw)))
        self.items = out

    def remove(self, ie: int) -> None:
        """Drop every occurrence of ``ie``."""
        self.items = [item for item in self.items if item[0] != ie]

    @property
    def unknown(self) -> list[tuple[int, bytes]]:
        """IEs this module has no table entry for, as ``(ie, raw)``, in wire order."""
        return [item for item in self.items if item[0] not in IE_FIELDS]

    def variables(self) -> dict[str, str]:
        """VARIABLE IEs as a dict; repeats of one name concatenate, as in Asterisk.

        Asterisk splits values longer than one IE over several VARIABLE IEs
        with the same ``name=`` prefix.
        """
        out: dict[str, str] = {}
        for value in self.get_all(IE.VARIABLE):
            name, _, val = value.partition("=")
            out[name] = out.get(name, "") + val
        return out

    def __contains__(self, ie: object) -> bool:
        return any(num == ie for num, _ in self.items)

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, InformationElements):
            return NotImplemented
        return self.items == other.items

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        parts = []
        for ie, raw in self.items:
            field = IE_FIELDS.get(ie)
            if field is None:
                parts.append(f"ie{ie}={raw!r}")
            else:
                parts.append(f"{field.attr}={field.kind.decode(raw)!r}")
        return f"InformationElements({', '.join(parts)})"

    # -- debug dump -------------------------------------------------------------

    def dump(self, reveal_secrets: bool = False) -> list[str]:
        """One line per IE, in the style of Asterisk's ``iax2 set debug on``."""
        lines = []
        for ie, raw in self.items:
            field = IE_FIELDS.get(ie)
            if field is None:
                detail = f" ({len(raw)} bytes: {raw.hex()})" if raw else ""
                lines.append(f"   Unknown IE {ie:03d}  : Present{detail}")
            else:
                value = field.describe(raw, reveal_secrets)
                lines.append(f"   {field.label[:15]:<15} : {value}")
        return lines


IE_FIELDS: dict[int, Field[Any]] = {
    f.ie: f for f in vars(InformationElements).values() if isinstance(f, Field)
}
"""IE number -> its table entry."""

_FIELDS_BY_ATTR: dict[str, Field[Any]] = {f.attr: f for f in IE_FIELDS.values()}


def ie_label(ie: int) -> str:
    """The dump label of an IE number, or ``"Unknown IE"``."""
    field = IE_FIELDS.get(ie)
    return field.label if field is not None else "Unknown IE"
