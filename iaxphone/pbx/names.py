"""The names the PBX gives its extensions: voicemail full names, else caller ID.

Asterisk keeps a person's name in two places an AMI user can read:
voicemail.conf (``VoicemailUsersList``: ``Fullname``, in whichever
voicemail context; FreePBX uses "default") and the IAX2 peer's
``callerid`` (``Getvar IAXPEER(6001,callerid_name)``).  The voicemail name
wins, as in the console's directory.  What the user may not read, or a PBX
without app_voicemail, just gives fewer names.
"""

from __future__ import annotations

import contextlib
import re

from .ami import AmiError, PbxClient


async def pbx_names(client: PbxClient, limit: int = 500) -> dict[str, str]:
    """number -> name for the extensions in ``client.state`` (at most ``limit`` lookups)."""
    names: dict[str, str] = {}
    with contextlib.suppress(AmiError):
        for m in await client.action(Action="VoicemailUsersList"):
            number, name = str(m.get("VoiceMailbox", "")), str(m.get("Fullname", "") or "")
            if m.get("Event") == "VoicemailUserEntry" and name and number not in names:
                names[number] = name
    for number, extension in list(client.state.extensions.items())[:limit]:
        devices = re.split(r"[&,]", extension.hint)
        if number in names or f"IAX2/{number}" not in devices:
            continue
        try:
            (reply,) = (
                await client.action(Action="Getvar", Variable=f"IAXPEER({number},callerid_name)")
            )[:1]
        except AmiError:
            continue
        name = str(reply.get("Value", "") or "")
        if name and name != number:
            names[number] = name
    return names
