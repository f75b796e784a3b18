"""Which PBX channels carry one of the phone's lines (for AMI features).

Theory of operation
-------------------
AMI actions name channels; the phone knows lines.  :func:`line_channels`
reads the PBX's channels once (``PbxClient.channels()``) and picks ours -
the channels of our account's device are ``IAX2/<user>-<n>`` - and the
party bridged to it.  With several calls of ours at the PBX (one held, one
talking) the right one is the call whose bridge peer is the line's number:
the peer's caller number (a call to us) or its device name (``IAX2/6002-``,
a call we made).  A channel in an application (echo test, voicemail) has no
bridge and so no far end.
"""

from __future__ import annotations

from dataclasses import dataclass

from iaxphone.errors import IaxphoneError
from iaxphone.pbx.ami import PbxClient
from iaxphone.pbx.models import ChannelInfo
from iaxphone.phone import LineInfo, Phone


class LineNotFoundError(IaxphoneError):
    """The PBX shows no channel (or no unambiguous one) for the line."""


@dataclass(frozen=True)
class LineChannels:
    ours: str
    far_end: str | None  # None: the call is with an application, not a phone


async def line_channels(pbx: PbxClient, phone: Phone, line: LineInfo) -> LineChannels:
    user = phone.accounts[line.account].user
    channels = await pbx.channels()
    mine = [c for c in channels if c.name.startswith(f"IAX2/{user}-")]
    if not mine:
        raise LineNotFoundError(f"the PBX shows no call of {user}")
    pairs = [
        (m, peer)
        for m in mine
        for peer in channels
        if m.bridge and peer.bridge == m.bridge and peer.name != m.name
    ]
    matching = [(m, peer) for m, peer in pairs if _is_number(peer, line.number)]
    if len(matching) == 1:
        return LineChannels(matching[0][0].name, matching[0][1].name)
    if not matching and len(pairs) == 1:
        return LineChannels(pairs[0][0].name, pairs[0][1].name)
    if not pairs and len(mine) == 1:
        return LineChannels(mine[0].name, None)
    raise LineNotFoundError(f"cannot tell which of {user}'s {len(mine)} calls is {line.number}")


def _is_number(channel: ChannelInfo, number: str) -> bool:
    device = channel.name.split("/", 1)[-1]
    return channel.caller_number == number or device.startswith(f"{number}-")
