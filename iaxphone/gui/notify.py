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

:class:`IncomingNotifier` is the handset's part: it raises and activates the
window, asks the window system to draw attention to it
(``QApplication.alert``: a blinking task-bar entry where activation is
refused), and puts the caller in the window title while the call rings, so
task bars show it too; :meth:`IncomingNotifier.done` puts the title back.
The desktop notification of that call is the tray's business
(:mod:`.tray`), which knows missed calls too.
"""

from __future__ import annotations

from dataclasses import dataclass

from PyQt6.QtCore import QMetaType
from PyQt6.QtDBus import QDBusArgument, QDBusConnection, QDBusMessage
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


class DesktopNotifier:
    """Notifications through D-Bus, else the tray's messages, else none (see above)."""

    def __init__(self, tray: QSystemTrayIcon | None = None) -> None:
        self.tray = tray
        self.sent: list[Sent] = []
        self._replaces: dict[str, int] = {}

    def route(self) -> str:
        bus = QDBusConnection.sessionBus()
        if bus.isConnected():
            interface = bus.interface()
            if interface is not None and interface.isServiceRegistered(SERVICE).value():
                return "dbus"
        if self.tray is not None and self.tray.isVisible() and QSystemTrayIcon.supportsMessages():
            return "tray"
        return "none"

    def notify(self, summary: str, body: str, kind: str = "incoming") -> Sent:
        route = self.route()
        if route == "dbus":
            self._send_dbus(summary, body, kind)
        elif route == "tray" and self.tray is not None:
            information = QSystemTrayIcon.MessageIcon.Information
            self.tray.showMessage(summary, body, information, TIMEOUT_MS)
        sent = Sent(route, summary, body)
        self.sent.append(sent)
        return sent

    def _send_dbus(self, summary: str, body: str, kind: str) -> None:
        message = QDBusMessage.createMethodCall(SERVICE, PATH, SERVICE, "Notify")
        replaces = QDBusArgument()
        replaces.add(0, UINT)
        actions = QDBusArgument()
        actions.add([], STRING_LIST)
        hints = {"category": "im.received" if kind == "incoming" else "im"}
        message.setArguments(
            [TITLE, replaces, ICONS.get(kind, ""), summary, body, actions, hints, TIMEOUT_MS]
        )
        QDBusConnection.sessionBus().asyncCall(message)


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
