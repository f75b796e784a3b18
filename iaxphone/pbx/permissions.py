"""Which AMI write classes each action needs, and what a console may offer.

Asterisk checks an action against the user's ``write`` classes in
manager.conf: the action is allowed when the user has *any* of the classes
it was registered with (``writeperm & authority`` in main/manager.c), and
actions registered with no class are open to every user.  The table below
is copied from Asterisk 22's ``ast_manager_register_xml`` calls (manager.c,
app_queue.c, app_confbridge.c, res_parking, chan_iax2.c, app_voicemail.c,
app_mixmonitor.c).

The PBX itself says what a user may send: ``ListCommands`` lists exactly
the actions the user's write classes allow.  :class:`Permissions` keeps
that list; a console greys a key out when its action is missing and names
the class from this table in the tooltip, the way
:class:`~iaxphone.pbx.ami.AmiPermissionError` names it in its message.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

# Action -> the write classes any one of which allows it ("" = open to all).
ACTION_CLASSES: dict[str, tuple[str, ...]] = {
    "Atxfer": ("call",),
    "BlindTransfer": ("call",),
    "CancelAtxfer": ("call",),
    "Command": ("command",),
    "ConfbridgeKick": ("call",),
    "ConfbridgeList": ("reporting",),
    "ConfbridgeListRooms": ("reporting",),
    "ConfbridgeLock": ("call",),
    "ConfbridgeMute": ("call",),
    "ConfbridgeStartRecord": ("system",),
    "ConfbridgeStopRecord": ("system",),
    "ConfbridgeUnlock": ("call",),
    "ConfbridgeUnmute": ("call",),
    "CoreShowChannels": ("system", "reporting"),
    "DBDel": ("system",),
    "DBGet": ("system", "reporting"),
    "DBPut": ("system",),
    "DeviceStateList": ("call", "reporting"),
    "ExtensionStateList": ("call", "reporting"),
    "Getvar": ("call", "reporting"),
    "Hangup": ("system", "call"),
    "IAXpeerlist": ("system", "reporting"),
    "MailboxCount": ("call", "reporting"),
    "MixMonitor": ("system",),
    "ModuleCheck": ("system",),
    "Originate": ("originate",),
    "Park": ("call",),
    "ParkedCalls": ("call",),
    "PresenceStateList": ("call", "reporting"),
    "QueueAdd": ("agent",),
    "QueuePause": ("agent",),
    "QueueRemove": ("agent",),
    "QueueStatus": (),
    "QueueSummary": (),
    "Redirect": ("call",),
    "SendText": ("call",),
    "Setvar": ("call",),
    "StopMixMonitor": ("system", "call"),
    "VoicemailUsersList": ("call", "reporting"),
}


def needed_classes(action: str) -> str:
    """The class(es) an action needs, as a tooltip or an error names them ("system or call")."""
    classes = ACTION_CLASSES.get(action)
    if classes is None:
        return "a privilege"
    return " or ".join(classes) if classes else "no class"


class Feature(enum.Enum):
    """What an operator console offers; each is sent as one AMI action (FEATURE_ACTION)."""

    TRANSFER = "blind transfer"
    ATTENDED_TRANSFER = "attended transfer"
    REDIRECT = "move a call"  # voicemail, queue, room, take a waiting caller, retrieve a slot
    PARK = "park"
    HANGUP = "hang up"
    DIAL = "call from the operator's phone"  # click-to-call, pick up a ringing phone
    SUPERVISE = "listen, whisper, barge"  # an Originate into ChanSpy
    PRESENCE = "presence and DND"
    QUEUE_ADD = "add a queue member"
    QUEUE_REMOVE = "remove a queue member"
    QUEUE_PAUSE = "pause a queue member"
    ROOM_MUTE = "mute in a room"
    ROOM_KICK = "kick from a room"
    ROOM_LOCK = "lock a room"
    ROOM_RECORD = "record a room"
    CHAT = "chat"  # a text message to a live channel (FOP2's "chat" permission)

    @property
    def action(self) -> str:
        return FEATURE_ACTION[self]


FEATURE_ACTION: dict[Feature, str] = {
    Feature.TRANSFER: "BlindTransfer",
    Feature.ATTENDED_TRANSFER: "Atxfer",
    Feature.REDIRECT: "Redirect",
    Feature.PARK: "Park",
    Feature.HANGUP: "Hangup",
    Feature.DIAL: "Originate",
    Feature.SUPERVISE: "Originate",
    Feature.PRESENCE: "Setvar",
    Feature.QUEUE_ADD: "QueueAdd",
    Feature.QUEUE_REMOVE: "QueueRemove",
    Feature.QUEUE_PAUSE: "QueuePause",
    Feature.ROOM_MUTE: "ConfbridgeMute",
    Feature.ROOM_KICK: "ConfbridgeKick",
    Feature.ROOM_LOCK: "ConfbridgeLock",
    Feature.ROOM_RECORD: "ConfbridgeStartRecord",
    Feature.CHAT: "SendText",
}


@dataclass(frozen=True)
class Permissions:
    """The actions the AMI user may send (``ListCommands``), and what follows from them."""

    actions: frozenset[str]

    @classmethod
    def from_list_commands(cls, reply: Mapping[str, object]) -> Permissions:
        """ListCommands answers with one header per allowed action: "Park: ... (Priv: call,all)"."""
        allowed = {
            name
            for name, value in reply.items()
            if name not in ("Response", "ActionID", "content", "Message") and "(Priv:" in str(value)
        }
        return cls(frozenset(allowed))

    @classmethod
    def everything(cls) -> Permissions:
        return cls(frozenset(ACTION_CLASSES))

    def allows(self, feature: Feature) -> bool:
        return feature.action in self.actions

    def missing(self, feature: Feature) -> str | None:
        """None when allowed; else the tooltip naming the missing class."""
        if self.allows(feature):
            return None
        return f"{feature.value} needs the AMI class {needed_classes(feature.action)}"
