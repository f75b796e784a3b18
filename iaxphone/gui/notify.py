"""Telling the user a call is coming in, or was missed, when the window is not in front.

Theory of operation
-------------------
:class:`DesktopNotifier` sends a notification through the best route the
desktop has, tried in order:

1. ``dbus``: the freedesktop notification service
   (``org.freedesktop.Notifications`` on the session bus, what GNOME, KDE,
   Xfce, dunst and mako all serve), called with Qt's own D-Bus module, so
   no further dependency; only when the session bus is there and the
   service has an owner;
2. ``tray``: the tray icon's balloon message (``QSystemTrayIcon.showMessage``),
   where the desktop has a tray that shows messages;
3. ``none``: nothing to send it through; the window's raise and alert are
   the notice.

``sent`` records every notice with its route (what a test or a log reads).
The call to the service is asynchronous: a slow notification daemon never
holds up the window.

Actions.  A notice may carry buttons (an incoming call's *Answer* and
*Decline*): they go to the service as the ``actions`` list (key, label,
key, label ...) and the notice's callback is kept under the id the
service's reply gives it.  The service emits ``ActionInvoked(id, key)``
when one is clicked: the callback runs with the key, once, and the id is
forgotten (also on ``NotificationClosed``).  :meth:`DesktopNotifier.close`
withdraws a notice that is no longer news (the call was answered or given
up).  The tray's balloons have no buttons: there the window is the way.

:class:`IncomingNotifier` is the handset's part: it raises and activates the
window, asks the window system to draw attention to it
(``QApplication.alert``: a blinking task-bar entry where activation is
refused), and puts the caller in the window title while the call rings, so
task bars show it too; :meth:`IncomingNotifier.done` puts the title back.
The desktop notification of that call is the tray's business
(:mod:`.tray`), which knows missed calls too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PyQt6.QtCore import QMetaType, QObject, pyqtSlot
from PyQt6.QtDBus import (
    QDBusArgument,
    QDBusConnection,
    QDBusMessage,
    QDBusPendingCallWatcher,
    QDBusPendingReply,
)
from PyQt6.QtWidgets import QApplication, QSystemTrayIcon, QWidget

TITLE = "iaxphone"
SERVICE = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
TIMEOUT_MS = 10_000
# The freedesktop icon-naming specification's names, per kind of notice.
ICONS = {"incoming": "call-start", "missed": "call-stop"}
# D-Bus argument types the Notify signature needs: u (replaces_id) and as (actions).
UINT: int = QMetaType.Type.UInt.value  # type: ignore[assignment]  # an int at run time
STRING_LIST: int = QMetaType.Type.QStringList.value  # type: ignore[assignment]


@dataclass(frozen=True)
class Sent:
    route: str  # "dbus", "tray" or "none"
    summary: str
    body: str


@dataclass(frozen=True)
class Action:
    """A button on a notice: ``key`` comes back in ActionInvoked, ``label`` is shown."""

    key: str
    label: str


class DesktopNotifier(QObject):
    """Notifications through D-Bus, else the tray's messages, else none (see above)."""

    def __init__(self, tray: QSystemTrayIcon | None = None) -> None:
        super().__init__(tray)
        self.tray = tray
        self.sent: list[Sent] = []
        self.waiting: dict[int, Callable[[str], None]] = {}  # notice id -> its action callback
        self.ids: dict[str, int] = {}  # tag -> the service's id of that notice
        self._watchers: set[QDBusPendingCallWatcher] = set()
        self._listening = False

    def route(self) -> str:
        bus = QDBusConnection.sessionBus()
        if bus.isConnected():
            interface = bus.interface()
            if interface is not None and interface.isServiceRegistered(SERVICE).value():
                return "dbus"
        if self.tray is not None and self.tray.isVisible() and QSystemTrayIcon.supportsMessages():
            return "tray"
        return "none"

    def notify(
        self,
        summary: str,
        body: str,
        kind: str = "incoming",
        actions: tuple[Action, ...] = (),
        on_action: Callable[[str], None] | None = None,
        tag: str = "",
    ) -> Sent:
        """Send a notice; ``on_action(key)`` runs if one of its ``actions`` is invoked.

        ``tag`` names the notice for :meth:`close` (say, the line it is about).
        """
        route = self.route()
        if route == "dbus":
            self._send_dbus(summary, body, kind, actions, on_action, tag)
        elif route == "tray" and self.tray is not None:
            information = QSystemTrayIcon.MessageIcon.Information
            self.tray.showMessage(summary, body, information, TIMEOUT_MS)
        sent = Sent(route, summary, body)
        self.sent.append(sent)
        return sent

    def close(self, tag: str) -> None:
        """Withdraw the notice sent with ``tag`` (its buttons no longer apply)."""
        notice_id = self.ids.pop(tag, None)
        if notice_id is None:
            return
        self.waiting.pop(notice_id, None)
        message = QDBusMessage.createMethodCall(SERVICE, PATH, SERVICE, "CloseNotification")
        closing = QDBusArgument()
        closing.add(notice_id, UINT)
        message.setArguments([closing])
        QDBusConnection.sessionBus().asyncCall(message)

    def _send_dbus(
        self,
        summary: str,
        body: str,
        kind: str,
        actions: tuple[Action, ...],
        on_action: Callable[[str], None] | None,
        tag: str,
    ) -> None:
        bus = QDBusConnection.sessionBus()
        if actions and not self._listening:
            for name in ("ActionInvoked", "NotificationClosed"):
                bus.connect(SERVICE, PATH, SERVICE, name, self._signal)
            self._listening = True
        message = QDBusMessage.createMethodCall(SERVICE, PATH, SERVICE, "Notify")
        replaces = QDBusArgument()
        replaces.add(0, UINT)
        keys = QDBusArgument()
        keys.add([text for action in actions for text in (action.key, action.label)], STRING_LIST)
        hints = {"category": "im.received" if kind == "incoming" else "im"}
        if actions:
            hints["urgency"] = "2"  # critical: stays until acted on, as a ringing phone does
        message.setArguments(
            [TITLE, replaces, ICONS.get(kind, ""), summary, body, keys, hints, TIMEOUT_MS]
        )
        pending = bus.asyncCall(message)
        if on_action is None and not tag:
            return
        watcher = QDBusPendingCallWatcher(pending, self)
        self._watchers.add(watcher)

        def replied(call: QDBusPendingCallWatcher) -> None:
            self._watchers.discard(call)
            reply = QDBusPendingReply(call)
            if not reply.isError():
                notice_id = int(reply.argumentAt(0))
                if on_action is not None:
                    self.waiting[notice_id] = on_action
                if tag:
                    self.ids[tag] = notice_id
            call.deleteLater()

        watcher.finished.connect(replied)

    @pyqtSlot(QDBusMessage)
    def _signal(self, message: QDBusMessage) -> None:
        """ActionInvoked(id, key) runs the notice's callback; NotificationClosed(id) forgets it."""
        arguments = message.arguments()
        if not arguments:
            return
        notice_id = int(arguments[0])
        callback = self.waiting.pop(notice_id, None)
        for tag, known in list(self.ids.items()):
            if known == notice_id:
                del self.ids[tag]
        if message.member() == "ActionInvoked" and callback is not None and len(arguments) > 1:
            callback(str(arguments[1]))


class IncomingNotifier:
    def __init__(self, window: QWidget) -> None:
        self.window = window
        self.shown: list[str] = []

    def incoming(self, who: str) -> None:
        text = f"Incoming call from {who}"
        self.shown.append(text)
        self.window.setWindowTitle(f"{text} - {TITLE}")
        if self.window.isMinimized():
            self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()
        QApplication.alert(self.window)

    def done(self) -> None:
        self.window.setWindowTitle(TITLE)
