"""IAX2 datagrams as objects: full, mini, meta trunk and meta video frames.

:func:`parse_frame` turns one UDP payload into a frame object and
``bytes(frame)`` (or ``frame.to_bytes()``) turns it back, byte for byte for
every encoding Asterisk produces.  Which kind a datagram is follows
chan_iax2's ``socket_process``::

    first u16 has bit 15 set            -> FullFrame  (12-byte header)
    first u16 non-zero, bit 15 clear    -> MiniFrame  (call number, 16-bit ts)
    first u16 zero, next u16 bit 15 set -> MetaVideoFrame (call, mark|15-bit ts)
    first u16 zero, otherwise           -> MetaTrunkFrame (meta command 1 only)

Subclass compression: the full frame's subclass byte holds values below 0x80
as they are; larger values must be a power of two and are sent as
``0x80 | log2(value)`` (so Opus, bit 34, is byte 0xA2).  Byte 0xFF means -1
(a CONTROL "stop indications").  For VIDEO, bit 0x40 of a compressed byte is
the end-of-picture mark, kept in :attr:`FullFrame.marker`.  Two non-canonical
encodings are accepted and normalised on output: a compressed byte for a
value below 0x80 (0x80..0x86) and the high bit of a trunk entry's call number.

Nothing here keeps state: mini frame timestamps are *not* unwrapped (see
:mod:`iaxphone.wire.seqnum`), and encrypted frames must be decrypted before
they are parsed.  Malformed input raises only
:class:`~iaxphone.wire.errors.FrameParseError`; invalid field values when
serialising raise ``ValueError``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from .constants import (
    FLAG_FULL,
    FLAG_RETRANS,
    FLAG_SC_LOG,
    FORMAT_NAMES,
    MAX_SHIFT,
    SC_VIDEO_MARK,
    ControlType,
    Format,
    FrameType,
    IaxCommand,
    MetaCommand,
    TrunkMode,
)
from .errors import FrameParseError
from .ies import InformationElements

FULL_HEADER_LEN = 12
MINI_HEADER_LEN = 4
VIDEO_HEADER_LEN = 6
TRUNK_HEADER_LEN = 8
_CALL_MASK = 0x7FFF

_FULL = struct.Struct("!HHIBBBB")
_HH = struct.Struct("!HH")
_HHH = struct.Struct("!HHH")
_U32 = struct.Struct("!I")
_TRUNK_HEAD = struct.Struct("!HBBI")
_VIDEO = struct.Struct("!HHH")

_FRAME_TYPES: dict[int, FrameType] = {m.value: m for m in FrameType}
_IAX_COMMANDS: dict[int, IaxCommand] = {m.value: m for m in IaxCommand}
_CONTROLS: dict[int, ControlType] = {m.value: m for m in ControlType}
_FORMAT_TYPES = frozenset({FrameType.VOICE, FrameType.VIDEO, FrameType.IMAGE})


# ---------------------------------------------------------------------------
# Subclass compression
# ---------------------------------------------------------------------------


def compress_subclass(value: int, marker: bool = False) -> int:
    """Encode a subclass value (and the video mark) as the one-byte wire form."""
    if value == -1:
        if marker:
            raise ValueError("subclass -1 cannot carry a marker")
        return 0xFF
    if 0 <= value < FLAG_SC_LOG and not marker:
        return value
    if value <= 0 or value & (value - 1) or value.bit_length() > MAX_SHIFT + 1:
        raise ValueError(
            f"subclass {value:#x} cannot be sent: values >= 0x80 (or with a marker) "
            "must be a single bit below 2**64"
        )
    encoded = FLAG_SC_LOG | (value.bit_length() - 1) | (SC_VIDEO_MARK if marker else 0)
    if encoded == 0xFF:
        raise ValueError("subclass 2**63 with a marker would read as -1 on the wire")
    return encoded


def uncompress_subclass(csub: int) -> tuple[int, bool]:
    """Decode the wire subclass byte to ``(value, marker)``."""
    if csub < FLAG_SC_LOG:
        return csub, False
    if csub == 0xFF:
        return -1, False
    return 1 << (csub & MAX_SHIFT), bool(csub & SC_VIDEO_MARK)


def _name_subclass(frame_type: int, value: int) -> int:
    """Wrap a subclass in the matching enum for readable reprs (plain int otherwise)."""
    if frame_type == FrameType.IAX:
        return _IAX_COMMANDS.get(value, value)
    if frame_type == FrameType.CONTROL:
        return _CONTROLS.get(value, value)
    if frame_type in _FORMAT_TYPES and value > 0:
        return Format(value)
    return value


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name} out of range {low}..{high}: {value}")


# ---------------------------------------------------------------------------
# Frame classes
# ---------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class FullFrame:
    """A reliable (acknowledged, sequenced) frame with the 12-byte header.

    ``subclass`` is the uncompressed value: an :class:`IaxCommand` for IAX
    frames, a :class:`ControlType` for CONTROL, a :class:`Format` bit for
    VOICE/VIDEO/IMAGE, the digit's character code for DTMF.  IAX frames carry
    their body in ``ies`` (``payload`` stays empty); all others in ``payload``.
    """

    source_call: int
    dest_call: int
    timestamp: int
    oseqno: int
    iseqno: int
    frame_type: int
    subclass: int
    payload: bytes = b""
    ies: InformationElements | None = None
    retransmitted: bool = False
    marker: bool = False

    def __post_init__(self) -> None:
        self.frame_type = _FRAME_TYPES.get(self.frame_type, self.frame_type)
        self.subclass = _name_subclass(self.frame_type, self.subclass)
        if self.frame_type == FrameType.IAX and self.ies is None and not self.payload:
            self.ies = InformationElements()

    def to_bytes(self) -> bytes:
        _check_range("source_call", self.source_call, 0, _CALL_MASK)
        _check_range("dest_call", self.dest_call, 0, _CALL_MASK)
        _check_range("timestamp", self.timestamp, 0, 0xFFFFFFFF)
        _check_range("oseqno", self.oseqno, 0, 0xFF)
        _check_range("iseqno", self.iseqno, 0, 0xFF)
        _check_range("frame_type", self.frame_type, 0, 0xFF)
        if self.ies is not None:
            if self.payload:
                raise ValueError("a full frame carries either ies or payload, not both")
            body = self.ies.to_bytes()
        else:
            body = self.payload
        header = _FULL.pack(
            self.source_call | FLAG_FULL,
            self.dest_call | (FLAG_RETRANS if self.retransmitted else 0),
            self.timestamp,
            self.oseqno,
            self.iseqno,
            self.frame_type,
            compress_subclass(self.subclass, self.marker),
        )
        return header + body

    def __bytes__(self) -> bytes:
        return self.to_bytes()


@dataclass(slots=True)
class MiniFrame:
    """An unreliable voice frame: call number, low 16 bits of the timestamp, data.

    The format is the one of the call's last full VOICE frame.
    """

    source_call: int
    timestamp: int
    payload: bytes

    def to_bytes(self) -> bytes:
        _check_range("source_call", self.source_call, 1, _CALL_MASK)
        _check_range("timestamp", self.timestamp, 0, 0xFFFF)
        return _HH.pack(self.source_call, self.timestamp) + self.payload

    def __bytes__(self) -> bytes:
        return self.to_bytes()


@dataclass(slots=True)
class MetaVideoFrame:
    """A video mini frame: call number, 15-bit timestamp, end-of-picture mark, data."""

    source_call: int
    timestamp: int
    payload: bytes
    marker: bool = False

    def to_bytes(self) -> bytes:
        _check_range("source_call", self.source_call, 0, _CALL_MASK)
        _check_range("timestamp", self.timestamp, 0, 0x7FFF)
        ts = self.timestamp | (0x8000 if self.marker else 0)
        return _VIDEO.pack(0, self.source_call | 0x8000, ts) + self.payload

    def __bytes__(self) -> bytes:
        return self.to_bytes()


@dataclass(slots=True)
class TrunkEntry:
    """One call's voice data inside a trunk frame.

    ``timestamp`` is the call's own 16-bit timestamp when the trunk was sent
    with trunk timestamps (:attr:`MetaTrunkFrame.with_timestamps`), else None.
    """

    call_number: int
    payload: bytes
    timestamp: int | None = None


@dataclass(slots=True)
class MetaTrunkFrame:
    """Voice for several calls to the same peer in one datagram.

    ``with_timestamps`` False is Asterisk's "supermini" layout (call number,
    length, data per entry; every entry uses the trunk ``timestamp``); True
    is the "trunktimestamps" layout (length, call number, 16-bit timestamp,
    data).
    """

    timestamp: int
    with_timestamps: bool
    entries: list[TrunkEntry] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        _check_range("timestamp", self.timestamp, 0, 0xFFFFFFFF)
        mode = TrunkMode.MINI if self.with_timestamps else TrunkMode.SUPERMINI
        parts = [_TRUNK_HEAD.pack(0, MetaCommand.TRUNK, mode, self.timestamp)]
        for i, entry in enumerate(self.entries):
            _check_range(f"entries[{i}].call_number", entry.call_number, 0, _CALL_MASK)
            _check_range(f"entries[{i}] payload length", len(entry.payload), 0, 0xFFFF)
            if self.with_timestamps:
                if entry.timestamp is None:
                    raise ValueError(f"entries[{i}] needs a timestamp in a timestamped trunk")
                _check_range(f"entries[{i}].timestamp", entry.timestamp, 0, 0xFFFF)
                parts.append(_HHH.pack(len(entry.payload), entry.call_number, entry.timestamp))
            else:
                if entry.timestamp is not None:
                    raise ValueError(f"entries[{i}] has a timestamp but the trunk has none")
                parts.append(_HH.pack(entry.call_number, len(entry.payload)))
            parts.append(entry.payload)
        return b"".join(parts)

    def __bytes__(self) -> bytes:
        return self.to_bytes()


Frame = FullFrame | MiniFrame | MetaTrunkFrame | MetaVideoFrame


# ---------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------


def parse_frame(data: bytes | bytearray | memoryview) -> Frame:
    """Parse one datagram; raises FrameParseError if it is not valid IAX2."""
    if type(data) is not bytes:
        data = bytes(data)
    n = len(data)
    if n >= MINI_HEADER_LEN:
        b0 = data[0]
        if b0 & 0x80:
            return _parse_full(data, n)
        if b0 or data[1]:
            # Hot path: a mini voice frame.
            return MiniFrame((b0 << 8) | data[1], (data[2] << 8) | data[3], data[4:])
        return _parse_meta(data, n)
    if n == 0:
        raise FrameParseError("empty datagram")
    if data[0] & 0x80:
        raise FrameParseError(f"full frame truncated: {n} bytes, need {FULL_HEADER_LEN}")
    raise FrameParseError(f"datagram too short: {n} bytes, need at least {MINI_HEADER_LEN}")


def _parse_full(data: bytes, n: int) -> FullFrame:
    if n < FULL_HEADER_LEN:
        raise FrameParseError(f"full frame truncated: {n} bytes, need {FULL_HEADER_LEN}")
    scall, dcall, ts, oseq, iseq, ftype, csub = _FULL.unpack_from(data)
    value, marker = uncompress_subclass(csub)
    body = data[FULL_HEADER_LEN:]
    ies = None
    if ftype == FrameType.IAX:
        try:
            ies = InformationElements.parse(body)
        except FrameParseError as exc:
            name = _IAX_COMMANDS.get(value)
            what = name.name if name is not None else f"command {value}"
            raise FrameParseError(f"IAX {what} frame: {exc}") from None
        body = b""
    return FullFrame(
        source_call=scall & _CALL_MASK,
        dest_call=dcall & _CALL_MASK,
        retransmitted=bool(dcall & FLAG_RETRANS),
        timestamp=ts,
        oseqno=oseq,
        iseqno=iseq,
        frame_type=ftype,
        subclass=value,
        marker=marker,
        payload=body,
        ies=ies,
    )


def _parse_meta(data: bytes, n: int) -> MetaVideoFrame | MetaTrunkFrame:
    if data[2] & 0x80:
        if n < VIDEO_HEADER_LEN:
            raise FrameParseError(f"meta video frame truncated: {n} bytes, need {VIDEO_HEADER_LEN}")
        _, call, ts = _VIDEO.unpack_from(data)
        return MetaVideoFrame(call & _CALL_MASK, ts & 0x7FFF, data[6:], bool(ts & 0x8000))
    command = data[2]
    if command != MetaCommand.TRUNK:
        raise FrameParseError(f"unsupported meta command {command} (only trunk, 1, is defined)")
    mode = data[3]
    if mode not in (TrunkMode.SUPERMINI, TrunkMode.MINI):
        raise FrameParseError(f"unknown meta trunk mode {mode} (expected 0 or 1)")
    if n < TRUNK_HEADER_LEN:
        raise FrameParseError(f"meta trunk frame truncated: {n} bytes, need {TRUNK_HEADER_LEN}")
    timestamp = int(_U32.unpack_from(data, 4)[0])
    with_ts = mode == TrunkMode.MINI
    entry_len = 6 if with_ts else 4
    entries: list[TrunkEntry] = []
    pos = TRUNK_HEADER_LEN
    while pos < n:
        left = n - pos
        if left < entry_len:
            raise FrameParseError(
                f"trunk entry {len(entries)} header truncated at offset {pos}: "
                f"{left} bytes left, need {entry_len}"
            )
        if with_ts:
            length, call, entry_ts = _HHH.unpack_from(data, pos)
            stamp: int | None = entry_ts
        else:
            call, length = _HH.unpack_from(data, pos)
            stamp = None
        pos += entry_len
        if length > n - pos:
            raise FrameParseError(
                f"trunk entry {len(entries)} (call {call & _CALL_MASK}) at offset "
                f"{pos - entry_len} claims {length} bytes, only {n - pos} remain"
            )
        entries.append(TrunkEntry(call & _CALL_MASK, data[pos : pos + length], stamp))
        pos += length
    return MetaTrunkFrame(timestamp, with_ts, entries)


# ---------------------------------------------------------------------------
# Debug output
# ---------------------------------------------------------------------------


def _subclass_text(frame: FullFrame) -> str:
    ftype, value = frame.frame_type, frame.subclass
    text: str
    if ftype in (FrameType.DTMF_BEGIN, FrameType.DTMF_END) and 0x20 <= value < 0x7F:
        text = chr(value)
    elif ftype in _FORMAT_TYPES and value > 0:
        text = FORMAT_NAMES.get(value, f"{value:#x}")
    elif isinstance(value, IaxCommand | ControlType):
        text = value.name
    else:
        text = str(int(value))
    return text + (" (mark)" if frame.marker else "")


def _type_text(frame_type: int) -> str:
    known = _FRAME_TYPES.get(frame_type)
    return known.name if known is not None else f"({frame_type}?)"


def describe(frame: Frame, direction: str = "Rx", reveal_secrets: bool = False) -> str:
    """Multi-line text like Asterisk's ``iax2 set debug on`` output.

    ``direction`` is the prefix ("Rx" or "Tx").  Passwords are hidden unless
    ``reveal_secrets`` is true.
    """
    lines: list[str]
    if isinstance(frame, FullFrame):
        retry = "Yes" if frame.retransmitted else " No"
        lines = [
            f"{direction}-Frame Retry[{retry}] -- OSeqno: {frame.oseqno:03d} "
            f"ISeqno: {frame.iseqno:03d} Type: {_type_text(frame.frame_type):<7} "
            f"Subclass: {_subclass_text(frame)}",
            f"   Timestamp: {frame.timestamp:05d}ms  SCall: {frame.source_call:05d}  "
            f"DCall: {frame.dest_call:05d}",
        ]
        if frame.ies is not None:
            lines.extend(frame.ies.dump(reveal_secrets))
        elif frame.payload:
            lines.append(f"   Payload: {len(frame.payload)} bytes")
    elif isinstance(frame, MiniFrame):
        lines = [
            f"{direction}-Mini  -- Call: {frame.source_call:05d}  "
            f"Timestamp: {frame.timestamp:05d}  Payload: {len(frame.payload)} bytes"
        ]
    elif isinstance(frame, MetaVideoFrame):
        lines = [
            f"{direction}-Video -- Call: {frame.source_call:05d}  "
            f"Timestamp: {frame.timestamp:05d}  Mark: {'yes' if frame.marker else 'no'}  "
            f"Payload: {len(frame.payload)} bytes"
        ]
    else:
        mode = "MINI (timestamps)" if frame.with_timestamps else "SUPERMINI"
        lines = [
            f"{direction}-Trunk -- Timestamp: {frame.timestamp:05d}ms  Mode: {mode}  "
            f"Entries: {len(frame.entries)}"
        ]
        for entry in frame.entries:
            stamp = "" if entry.timestamp is None else f"  Timestamp: {entry.timestamp:05d}"
            lines.append(
                f"   Call: {entry.call_number:05d}{stamp}  Payload: {len(entry.payload)} bytes"
            )
    return "\n".join(lines)
