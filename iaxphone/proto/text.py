"""Text messages in IAX2 TEXT full frames: the splitting and rejoining rule.

Theory of operation
-------------------
A TEXT frame's payload is the message's UTF-8 bytes and one NUL, as
Asterisk's ``iax2_sendtext`` sends it (``strlen(text) + 1``).  Asterisk
NUL-terminates a TEXT frame that arrives without one, and when it bridges
text on to another channel it passes the string up to the first NUL: so a
NUL inside a message would cut it short at the far end, and
:func:`split_text` drops NULs from what it sends.  A received payload is
read up to its first NUL, like Asterisk does.

*Length.*  Asterisk reads a datagram into a 4096-byte buffer, but IAX2
clients built on iaxclient (Zoiper 2, Kiax, iaxComm and their kin) copy a
received text into a 256-byte event buffer, and an information element
holds at most 255 bytes: so one TEXT frame carries at most
:data:`MAX_CHUNK` (255) bytes of text plus its NUL.  Such a frame also fits
in one Ethernet datagram even when encrypted.

*Splitting.*  A longer message is cut at UTF-8 character boundaries into
chunks filled as far as they go (255 bytes, or 252 to 254 when a character
would straddle the cut) and sent as consecutive TEXT frames.  IAX2 full
frames arrive in order and each is retransmitted until acknowledged, and a
PBX that bridges the call forwards each one as it comes, so the chunks stay
in order end to end.  Every other peer shows each chunk as a message of
its own, which is the best it can do.  A message is at most
:data:`MAX_MESSAGE` bytes (16 chunks, a quarter of the send window).

*Rejoining.*  A received chunk of :data:`FULL_CHUNK` to :data:`MAX_CHUNK`
(252-255) bytes may have a continuation: :class:`TextJoiner` holds it and
appends the chunks that follow, until a shorter chunk ends the message or
:data:`REJOIN_WINDOW_S` passes with nothing more (a peer's standalone
message of 252-255 bytes is then delivered that much later, unchanged).
A longer frame was cut by no splitter (Asterisk's SendText and AMI send a
message in one frame, whatever its length): it is a message on its own,
delivered at once, after whatever was held.
Bytes are joined before they are decoded, so a character a byte-wise
splitter cut in two is whole again; bytes that are not UTF-8 become U+FFFD.
"""

from __future__ import annotations

MAX_CHUNK = 255  # bytes of text in one TEXT frame (plus the NUL)
FULL_CHUNK = MAX_CHUNK - 3  # a chunk this long may be continued (a 4-byte character was moved on)
MAX_CHUNKS = 16
MAX_MESSAGE = MAX_CHUNK * MAX_CHUNKS  # bytes of UTF-8 in one message
REJOIN_WINDOW_S = 2.0  # how long a full chunk waits for its continuation


def split_text(text: str) -> list[bytes]:
    """The TEXT frame payloads (each ending in NUL) that carry ``text``.

    Raises ``ValueError`` for an empty message (NULs removed) and one
    longer than :data:`MAX_MESSAGE` bytes.
    """
    data = text.replace("\0", "").encode("utf-8", "replace")
    if not data:
        raise ValueError("empty text message")
    if len(data) > MAX_MESSAGE:
        raise ValueError(f"text too long: {len(data)} bytes of UTF-8, at most {MAX_MESSAGE}")
    chunks: list[bytes] = []
    start = 0
    while start < len(data):
        end = min(start + MAX_CHUNK, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # inside a character: cut before it
            end -= 1
        chunks.append(data[start:end] + b"\0")
        start = end
    return chunks


def text_of(payload: bytes) -> bytes:
    """A TEXT frame's text bytes: up to the first NUL (Asterisk's reading)."""
    return payload.split(b"\0", 1)[0]


class TextJoiner:
    """Rejoins the chunks of long messages from one peer (see the module docstring)."""

    def __init__(self) -> None:
        self.pending = b""
        self.deadline: float | None = None

    def receive(self, payload: bytes, now: float) -> list[str]:
        """One TEXT frame's payload; the messages it completes (none, one, or two)."""
        chunk = text_of(payload)
        if len(chunk) > MAX_CHUNK:  # no splitter made it: a whole message, nothing to join
            return [m for m in (self._release(), chunk.decode("utf-8", "replace")) if m]
        self.pending += chunk
        if len(chunk) >= FULL_CHUNK and len(self.pending) < MAX_MESSAGE:
            self.deadline = now + REJOIN_WINDOW_S
            return []
        message = self._release()
        return [message] if message else []

    def flush(self, now: float) -> str | None:
        """The held message once its window has passed (None before, or with nothing held)."""
        if self.deadline is None or now < self.deadline:
            return None
        return self._release()

    def _release(self) -> str | None:
        data, self.pending, self.deadline = self.pending, b"", None
        return data.decode("utf-8", "replace") if data else None


__all__ = [
    "FULL_CHUNK",
    "MAX_CHUNK",
    "MAX_MESSAGE",
    "REJOIN_WINDOW_S",
    "TextJoiner",
    "split_text",
    "text_of",
]
