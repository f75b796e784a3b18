"""The one exception the wire layer raises for malformed input.

Every problem found while turning bytes into frames or information elements
(truncation, impossible lengths, unknown meta commands, bad field values)
raises :class:`FrameParseError` with a message that says what was wrong and
where, e.g. ``"full frame truncated: 7 bytes, need 12"``.  Bugs in *our* code
when building frames (a value out of range) raise ordinary ``ValueError`` or
``TypeError`` instead: the remote peer did not break any rule.
"""

from __future__ import annotations

from iaxphone.errors import RemoteProtocolError


class FrameParseError(RemoteProtocolError, ValueError):
    """A datagram or information element block is not valid IAX2."""
