"""What a PBX offers iaxphone, learnt at every AMI login.

Theory of operation
-------------------
Offices run many Asterisks: the bundled one, Debian's stock samples edited
by hand, FreePBX.  Some load no res_parking, app_queue or ConfBridge; an AMI
user may lack a class.  Rather than guess, :func:`probe` asks:

1. ``ListCommands``: the actions this AMI user may send.  Asterisk lists
   only actions that are registered (their module is loaded) *and* that the
   user's write classes allow, so it answers both questions at once.
2. ``ModuleCheck`` for the module behind each facility, when the user may
   send it (it needs the class ``system``).  Without it a missing action is
   put down to the module when the user holds the action's class (inferred
   from core actions that are always registered), else to the class.

The answer is one frozen :class:`Capabilities`: ``pbx status``, the handset
and the console read it and offer only what is there; :meth:`why_not`
says what is missing and why, e.g. "this PBX has no call parking
(res_parking is not loaded)".
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .dnd import DndMechanism
from .permissions import Permissions, needed_classes


class Facility(enum.Enum):
    PARKING = "call parking"
    QUEUES = "call queues"
    CONFERENCE = "conference rooms"
    PRESENCE = "presence"
    SUPERVISION = "listen, whisper and barge"
    VOICEMAIL = "voicemail"
    DEVICE_STATE = "device state listing"


# facility -> (module behind it, the AMI action that module registers or "")
FACILITY_MODULE: dict[Facility, tuple[str, str]] = {
    Facility.PARKING: ("res_parking", "ParkedCalls"),
    Facility.QUEUES: ("app_queue", "QueueStatus"),
    Facility.CONFERENCE: ("app_confbridge", "ConfbridgeListRooms"),
    Facility.PRESENCE: ("res_manager_presencestate", "PresenceStateList"),
    Facility.SUPERVISION: ("app_chanspy", ""),
    Facility.VOICEMAIL: ("app_voicemail", "VoicemailUsersList"),
    Facility.DEVICE_STATE: ("res_manager_devicestate", "DeviceStateList"),
}

# Core actions (always registered) that show the user holds a write class.
CLASS_WITNESS: dict[str, tuple[str, ...]] = {
    "system": ("DBPut", "ModuleCheck", "Reload"),
    "call": ("Redirect", "Setvar"),
    "originate": ("Originate",),
    "command": ("Command",),
    "config": ("GetConfig",),
    "reporting": ("CoreShowChannels", "ExtensionStateList", "Getvar", "CoreSettings"),
    "agent": ("QueueAdd", "QueuePause"),
}


@dataclass(frozen=True)
class Availability:
    facility: Facility
    available: bool
    reason: str = ""  # why not, as one sentence for a user; "" when available
    assumed: bool = False  # available only because nothing could ask (no ModuleCheck)


@dataclass(frozen=True)
class Capabilities:
    """What the PBX and this AMI user offer (one probe, after each login)."""

    actions: frozenset[str]
    write_classes: frozenset[str]
    facilities: tuple[Availability, ...]
    dnd: DndMechanism = DndMechanism.NONE
    dnd_reason: str = ""  # how the DND mechanism was chosen
    modules_checked: bool = False  # ModuleCheck answered (else inferred from ListCommands)

    @classmethod
    def everything(cls) -> Capabilities:
        """Before the first probe: assume all is there (the PBX will say otherwise)."""
        return cls(
            actions=Permissions.everything().actions,
            write_classes=frozenset(CLASS_WITNESS),
            facilities=tuple(Availability(f, True) for f in Facility),
            dnd=DndMechanism.PRESENCE,
        )

    def availability(self, facility: Facility) -> Availability:
        for item in self.facilities:
            if item.facility is facility:
                return item
        return Availability(facility, True)

    def has(self, facility: Facility) -> bool:
        return self.availability(facility).available

    def why_not(self, facility: Facility) -> str | None:
        """None when the facility is there, else the sentence that says why not."""
        item = self.availability(facility)
        return None if item.available else item.reason

    def may(self, action: str) -> bool:
        return action in self.actions

    @property
    def permissions(self) -> Permissions:
        return Permissions(self.actions)

    def with_dnd(self, mechanism: DndMechanism, reason: str) -> Capabilities:
        return Capabilities(
            self.actions,
            self.write_classes,
            self.facilities,
            mechanism,
            reason,
            self.modules_checked,
        )

    def summary(self) -> list[str]:
        """One line per facility, for ``pbx status``."""
        lines = []
        for item in self.facilities:
            if not item.available:
                lines.append(f"{item.facility.value}: {item.reason}")
            elif item.assumed:
                lines.append(f"{item.facility.value}: assumed (ModuleCheck needs the class system)")
            else:
                lines.append(f"{item.facility.value}: yes")
        lines.append(f"do-not-disturb: {self.dnd.value} ({self.dnd_reason})")
        classes = ", ".join(sorted(self.write_classes)) or "none"
        lines.append(f"AMI write classes: {classes} (as ListCommands shows them)")
        return lines


def infer_classes(actions: frozenset[str]) -> frozenset[str]:
    return frozenset(
        name for name, witnesses in CLASS_WITNESS.items() if any(w in actions for w in witnesses)
    )


ActionSender = Callable[..., Awaitable[list[Any]]]


async def probe(send: ActionSender) -> Capabilities:
    """Ask the PBX (``send(**fields)`` is :meth:`PbxClient.action`); never raises for a
    missing action or class: what cannot be asked is reported as unknown."""
    try:
        replies = await send(Action="ListCommands")
        actions = Permissions.from_list_commands(dict(replies[0])).actions
    except Exception:  # an Asterisk that will not list: assume everything, learn by errors
        return Capabilities.everything()
    classes = infer_classes(actions)
    loaded: dict[str, bool] = {}
    checked = "ModuleCheck" in actions
    if checked:
        for module, _action in FACILITY_MODULE.values():
            try:
                reply = (await send(Action="ModuleCheck", Module=module))[0]
                loaded[module] = reply.get("Response") == "Success"
            except Exception:  # "Module not loaded" comes back as Response: Error
                loaded[module] = False
    return Capabilities(
        actions=actions,
        write_classes=classes,
        facilities=tuple(
            _availability(facility, actions, classes, loaded if checked else None)
            for facility in Facility
        ),
        modules_checked=checked,
    )


def _availability(
    facility: Facility,
    actions: frozenset[str],
    classes: frozenset[str],
    loaded: Mapping[str, bool] | None,
) -> Availability:
    module, action = FACILITY_MODULE[facility]
    if loaded is not None and not loaded.get(module, True):
        return Availability(facility, False, not_loaded(facility, module))
    if not action:  # no action of its own: only ModuleCheck can tell
        return Availability(facility, True, assumed=loaded is None)
    if action in actions:
        return Availability(facility, True)
    needed = needed_classes(action)
    if needed == "no class":  # open to every user: only a missing module hides it
        return Availability(facility, False, not_loaded(facility, module))
    if loaded is not None or any(c in classes for c in needed.split(" or ")):
        # The module is loaded but the action is not listed: the class is missing;
        # or the user holds the class and the action is still not registered.
        if loaded is not None:
            return Availability(
                facility, False, f"{facility.value}: the AMI user needs the class {needed}"
            )
        return Availability(facility, False, not_loaded(facility, module))
    return Availability(
        facility, False, f"{facility.value}: the AMI user needs the class {needed} for {action}"
    )


def not_loaded(facility: Facility, module: str) -> str:
    return f"this PBX has no {facility.value} ({module} is not loaded)"
