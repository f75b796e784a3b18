"""Big-endian reader and writer over bytes, in the spirit of aioquic's ``Buffer``.

:class:`Reader` pulls unsigned integers and byte strings from the front of a
``bytes`` object and raises :class:`~iaxphone.wire.errors.FrameParseError`
(never ``IndexError`` or ``struct.error``) when the data runs out.
:class:`Writer` appends the same kinds of values to a growing buffer.
All integers are network byte order, as everywhere in IAX2.
"""

from __future__ import annotations

import struct

from .errors import FrameParseError

_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
_U64 = struct.Struct("!Q")


class Reader:
    """Sequential big-endian reader; ``what`` names the data in error messages."""

    __slots__ = ("_data", "_pos", "what")

    def __init__(self, data: bytes, what: str = "data", pos: int = 0) -> None:
        self._data = data
        self._pos = pos
        self.what = what

    @property
    def pos(self) -> int:
        """Offset of the next byte to read."""
        return self._pos

    @property
    def remaining(self) -> int:
        """Number of bytes not read yet."""
        return len(self._data) - self._pos

    def eof(self) -> bool:
        """True when every byte has been read."""
        return self._pos >= len(self._data)

    def _need(self, n: int) -> int:
        start = self._pos
        if len(self._data) - start < n:
            raise FrameParseError(
                f"{self.what} truncated at offset {start}: "
                f"need {n} bytes, {len(self._data) - start} left"
            )
        self._pos = start + n
        return start

    def pull_u8(self) -> int:
        start = self._need(1)
        return self._data[start]

    def pull_u16(self) -> int:
        start = self._need(2)
        return int(_U16.unpack_from(self._data, start)[0])

    def pull_u32(self) -> int:
        start = self._need(4)
        return int(_U32.unpack_from(self._data, start)[0])

    def pull_u64(self) -> int:
        start = self._need(8)
        return int(_U64.unpack_from(self._data, start)[0])

    def pull_bytes(self, n: int) -> bytes:
        if n < 0:
            raise FrameParseError(f"{self.what}: negative length {n}")
        start = self._need(n)
        return self._data[start : start + n]

    def pull_rest(self) -> bytes:
        """Everything not read yet (possibly empty)."""
        start = self._pos
        self._pos = len(self._data)
        return self._data[start:]


class Writer:
    """Appends big-endian values; ``bytes(writer)`` or :meth:`data` gives the result.

    Values out of range raise ``ValueError``: building a frame is our side's job.
    """

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def __len__(self) -> int:
        return len(self._buf)

    def __bytes__(self) -> bytes:
        return bytes(self._buf)

    def data(self) -> bytes:
        return bytes(self._buf)

    def push_u8(self, value: int) -> None:
        if not 0 <= value <= 0xFF:
            raise ValueError(f"u8 out of range: {value}")
        self._buf.append(value)

    def push_u16(self, value: int) -> None:
        if not 0 <= value <= 0xFFFF:
            raise ValueError(f"u16 out of range: {value}")
        self._buf += _U16.pack(value)

    def push_u32(self, value: int) -> None:
        if not 0 <= value <= 0xFFFFFFFF:
            raise ValueError(f"u32 out of range: {value}")
        self._buf += _U32.pack(value)

    def push_u64(self, value: int) -> None:
        if not 0 <= value <= 0xFFFFFFFFFFFFFFFF:
            raise ValueError(f"u64 out of range: {value}")
        self._buf += _U64.pack(value)

    def push_bytes(self, value: bytes) -> None:
        self._buf += value
