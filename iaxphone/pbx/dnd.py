"""Do-not-disturb the way each PBX does it.

Theory of operation
-------------------
Asterisk has no DND of its own; each dialplan makes one up, and iaxphone
must read and set the same thing the PBX's feature codes do, or the phone
and the PBX disagree:

- ``presence`` (the bundled PBX): the presence state ``dnd`` of
  ``CustomPresence:NNNN``; the hint is ``IAX2/NNNN,CustomPresence:NNNN``.
- ``devstate`` (FreePBX, Issabel): the custom device state
  ``Custom:DNDNNNN`` is BUSY while DND is on, and the astdb key
  ``DND/NNNN`` is ``YES`` (deleted when off); the hint is
  ``IAX2/NNNN&Custom:DNDNNNN``, so the lamp shows busy too.
- ``astdb``: only the astdb key ``DND/NNNN`` (a hand-written dialplan that
  checks ``${DB(DND/${EXTEN})}``); nothing tells AMI when it changes, so it
  is read at each resync.
- ``none``: the PBX has no DND; setting it says so.

:func:`detect` picks the mechanism from the hints unless the config's
``[ami] dnd`` names one.  :func:`set_actions` gives the AMI actions that
switch DND: ``Setvar`` (class ``call``) for presence and device states,
``DBPut``/``DBDel`` (class ``system``, as FreePBX's own AMI user has) for
the astdb key.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable


class DndMechanism(enum.Enum):
    PRESENCE = "presence"
    DEVSTATE = "devstate"
    ASTDB = "astdb"
    NONE = "none"


DND_CHOICES = ("auto", *(m.value for m in DndMechanism))

_CUSTOM_DND = re.compile(r"Custom:DND(\d+)$", re.IGNORECASE)


def detect(hints: Iterable[str], configured: str = "auto") -> tuple[DndMechanism, str]:
    """(mechanism, how it was chosen) from the hints, unless ``configured`` names one."""
    if configured != "auto":
        return DndMechanism(configured), "set in the config ([ami] dnd)"
    parts = [part for hint in hints for part in re.split(r"[&,]", hint)]
    if any(_CUSTOM_DND.match(part) for part in parts):
        return DndMechanism.DEVSTATE, "hints carry Custom:DND device states"
    if any(part.startswith("CustomPresence:") for part in parts):
        return DndMechanism.PRESENCE, "hints carry CustomPresence"
    return DndMechanism.NONE, "no hint carries CustomPresence or Custom:DND; set [ami] dnd"


def dnd_device_number(device: str) -> str | None:
    """ "Custom:DND6001" -> "6001"; None for any other device."""
    match = _CUSTOM_DND.match(device)
    return match.group(1) if match else None


def devstate_means_dnd(state: str) -> bool:
    """A Custom:DND device state (DeviceStateChange "State") -> DND on."""
    return state.strip().upper() not in ("NOT_INUSE", "UNKNOWN", "INVALID", "UNAVAILABLE", "")


def astdb_means_dnd(value: str) -> bool:
    return value.strip().upper() not in ("", "NO", "0", "OFF")


def set_actions(mechanism: DndMechanism, number: str, on: bool) -> list[dict[str, str]]:
    """The AMI actions that switch ``number``'s DND the PBX's own way."""
    if mechanism is DndMechanism.PRESENCE:
        value = "dnd,," if on else "available,,"
        return [_setvar(f"PRESENCE_STATE(CustomPresence:{number})", value)]
    # DBPut/DBDel (class system): Asterisk refuses DB() writes through AMI Setvar.
    astdb = (
        {"Action": "DBPut", "Family": "DND", "Key": number, "Val": "YES"}
        if on
        else {"Action": "DBDel", "Family": "DND", "Key": number}
    )
    if mechanism is DndMechanism.ASTDB:
        return [astdb]
    if mechanism is DndMechanism.DEVSTATE:
        state = "BUSY" if on else "NOT_INUSE"
        return [astdb, _setvar(f"DEVICE_STATE(Custom:DND{number})", state)]
    return []


def _setvar(variable: str, value: str) -> dict[str, str]:
    return {"Action": "Setvar", "Variable": variable, "Value": value}
