"""Live channels as the PBX reports them: who talks to whom, and since when.

Theory of operation
-------------------
:class:`ChannelTracker` keeps one frozen :class:`LiveChannel` per channel
``Uniqueid``.  A resync reads ``CoreShowChannels`` (its ``Duration`` dates
the channel's creation back from ``now``); from then on ``Newchannel``
adds a channel, ``Newstate`` moves its state (the first "Up" stamps
``answered_at``), ``NewConnectedLine`` and ``NewCallerid`` rename the
parties, ``BridgeEnter``/``BridgeLeave`` say which bridge it is in,
``Hold``/``Unhold`` flag it, and ``Hangup`` removes it.  Two channels in
the same bridge talk to each other; a bridge joined is stamped
``bridged_at``, which is the "talking since" a busy-lamp tile shows.

Every channel also carries ``moves``: a counter bumped whenever the
channel leaves a bridge or is hung up.  A console that captured a channel
with its ``moves`` can tell, before it acts, that the call has been moved
meanwhile (by another operator, or by the parties themselves).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

UNKNOWN = ("", "<unknown>", "unknown", "(null)")


def _text(message: Mapping[str, Any], key: str) -> str:
    value = str(message.get(key, "") or "")
    return "" if value in UNKNOWN else value


@dataclass(frozen=True)
class LiveChannel:
    uniqueid: str
    name: str  # "IAX2/6001-1234"
    linkedid: str = ""
    caller_number: str = ""
    caller_name: str = ""
    connected_number: str = ""
    connected_name: str = ""
    state: str = ""  # ChannelStateDesc: Down, Ring, Ringing, Up, Busy
    bridge: str = ""
    application: str = ""
    created_at: float = 0.0
    answered_at: float | None = None
    bridged_at: float | None = None
    held: bool = False
    moves: int = 0

    @property
    def device(self) -> str:
        """ "IAX2/6001-1234" -> "IAX2/6001" (Local channels keep their ";1" out too)."""
        return self.name.rsplit("-", 1)[0]


def duration_seconds(hms: str) -> int:
    total = 0
    try:
        for part in hms.split(":"):
            total = total * 60 + int(part)
    except ValueError:
        return 0
    return total


class ChannelTracker:
    def __init__(self, on_change: Callable[[LiveChannel, bool], None] | None = None) -> None:
        """``on_change(channel, gone)`` after every change."""
        self.channels: dict[str, LiveChannel] = {}
        self._on_change = on_change or (lambda _c, _g: None)

    # ---------------------------------------------------------------- queries

    def by_name(self, name: str) -> LiveChannel | None:
        for channel in self.channels.values():
            if channel.name == name:
                return channel
        return None

    def of_device(self, device: str) -> list[LiveChannel]:
        """The channels of one device ("IAX2/6001"), oldest first."""
        return sorted(
            (c for c in self.channels.values() if c.device == device), key=lambda c: c.created_at
        )

    def peers(self, channel: LiveChannel) -> list[LiveChannel]:
        """The other channels in the same bridge."""
        if not channel.bridge:
            return []
        return [
            c
            for c in self.channels.values()
            if c.bridge == channel.bridge and c.uniqueid != channel.uniqueid
        ]

    # ---------------------------------------------------------------- state

    def load(self, listing: list[Mapping[str, Any]], now: float) -> None:
        """Replace everything with a CoreShowChannels answer."""
        self.channels = {}
        for message in listing:
            if message.get("Event") != "CoreShowChannel":
                continue
            age = duration_seconds(str(message.get("Duration", "0")))
            channel = self._from(message, now - age)
            state = channel.state
            bridge = str(message.get("BridgeId", "") or "")
            channel = dataclasses.replace(
                channel,
                application=str(message.get("Application", "") or ""),
                answered_at=channel.created_at if state == "Up" else None,
                bridge=bridge,
                bridged_at=channel.created_at if bridge else None,
            )
            self.channels[channel.uniqueid] = channel

    def handle(self, message: Mapping[str, Any], now: float) -> None:
        handler = self._HANDLERS.get(str(message.get("Event", "")))
        uniqueid = str(message.get("Uniqueid", "") or "")
        if handler is not None and uniqueid:
            handler(self, message, uniqueid, now)

    @staticmethod
    def _from(message: Mapping[str, Any], created_at: float) -> LiveChannel:
        return LiveChannel(
            uniqueid=str(message.get("Uniqueid", "")),
            name=str(message.get("Channel", "")),
            linkedid=str(message.get("Linkedid", "") or ""),
            caller_number=_text(message, "CallerIDNum"),
            caller_name=_text(message, "CallerIDName"),
            connected_number=_text(message, "ConnectedLineNum"),
            connected_name=_text(message, "ConnectedLineName"),
            state=str(message.get("ChannelStateDesc", "") or ""),
            created_at=created_at,
        )

    def _put(self, channel: LiveChannel) -> None:
        self.channels[channel.uniqueid] = channel
        self._on_change(channel, False)

    def _update(
        self, message: Mapping[str, Any], uniqueid: str, now: float, **changes: Any
    ) -> None:
        channel = self.channels.get(uniqueid)
        if channel is None:  # an event for a channel that predates us: learn it
            channel = self._from(message, now)
        fresh = self._from(message, channel.created_at)
        self._put(
            dataclasses.replace(
                channel,
                name=fresh.name or channel.name,
                caller_number=fresh.caller_number or channel.caller_number,
                caller_name=fresh.caller_name or channel.caller_name,
                connected_number=fresh.connected_number or channel.connected_number,
                connected_name=fresh.connected_name or channel.connected_name,
                state=fresh.state or channel.state,
                **changes,
            )
        )

    def _on_new(self, message: Mapping[str, Any], uniqueid: str, now: float) -> None:
        self._put(self._from(message, now))

    def _on_state(self, message: Mapping[str, Any], uniqueid: str, now: float) -> None:
        channel = self.channels.get(uniqueid)
        answered = channel.answered_at if channel is not None else None
        if answered is None and message.get("ChannelStateDesc") == "Up":
            answered = now
        self._update(message, uniqueid, now, answered_at=answered)

    def _on_renamed(self, message: Mapping[str, Any], uniqueid: str, now: float) -> None:
        self._update(message, uniqueid, now)

    def _on_bridge_enter(self, message: Mapping[str, Any], uniqueid: str, now: float) -> None:
        bridge = str(message.get("BridgeUniqueid", ""))
        self._update(message, uniqueid, now, bridge=bridge, bridged_at=now)

    def _on_bridge_leave(self, message: Mapping[str, Any], uniqueid: str, now: float) -> None:
        channel = self.channels.get(uniqueid)
        moves = channel.moves + 1 if channel is not None else 1
        self._update(message, uniqueid, now, bridge="", bridged_at=None, moves=moves)

    def _on_hold(self, message: Mapping[str, Any], uniqueid: str, now: float) -> None:
        self._update(message, uniqueid, now, held=message.get("Event") == "Hold")

    def _on_hangup(self, message: Mapping[str, Any], uniqueid: str, now: float) -> None:
        channel = self.channels.pop(uniqueid, None)
        if channel is not None:
            self._on_change(dataclasses.replace(channel, moves=channel.moves + 1), True)

    def _on_app(self, message: Mapping[str, Any], uniqueid: str, now: float) -> None:
        self._update(message, uniqueid, now, application=str(message.get("Application", "")))

    _HANDLERS: ClassVar[
        dict[str, Callable[[ChannelTracker, Mapping[str, Any], str, float], None]]
    ] = {
        "Newchannel": _on_new,
        "Newstate": _on_state,
        "NewConnectedLine": _on_renamed,
        "NewCallerid": _on_renamed,
        "BridgeEnter": _on_bridge_enter,
        "BridgeLeave": _on_bridge_leave,
        "Hold": _on_hold,
        "Unhold": _on_hold,
        "Hangup": _on_hangup,
        "Newexten": _on_app,  # only with the dialplan read class
    }
