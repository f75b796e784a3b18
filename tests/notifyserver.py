"""A tiny freedesktop notification service for the tests (``python -m tests.notifyserver``).

Run on a private session bus (DBUS_SESSION_BUS_ADDRESS): it owns
``org.freedesktop.Notifications``, answers ``Notify`` with a new id and
``GetCapabilities``, prints ``ready`` once it owns the name, then one JSON
line per notification received (id, app, icon, summary, body, actions,
hints, timeout) or withdrawn (``{"closed": id}``), which is what a test
reads.  A line ``invoke ID KEY`` on its standard input clicks that
notice's action: the service emits ``ActionInvoked(ID, KEY)`` and then
``NotificationClosed(ID, 2)``, as a desktop does.  Qt's D-Bus module, as
the phone's side uses.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from PyQt6.QtCore import (
    QCoreApplication,
    QMetaType,
    QObject,
    QSocketNotifier,
    pyqtClassInfo,
    pyqtSlot,
)
from PyQt6.QtDBus import QDBusAbstractAdaptor, QDBusArgument, QDBusConnection, QDBusMessage

PATH = "/org/freedesktop/Notifications"
SERVICE = "org.freedesktop.Notifications"
UINT: int = QMetaType.Type.UInt.value  # type: ignore[assignment]


@pyqtClassInfo("D-Bus Interface", "org.freedesktop.Notifications")
class Notifications(QDBusAbstractAdaptor):
    received = 0

    @pyqtSlot(str, "uint", str, str, str, "QStringList", "QVariantMap", int, result="uint")
    def Notify(
        self,
        app: str,
        replaces: int,
        icon: str,
        summary: str,
        body: str,
        actions: list[str],
        hints: dict[str, Any],
        timeout: int,
    ) -> int:
        Notifications.received += 1
        line = {
            "id": Notifications.received, "app": app, "icon": icon, "summary": summary,
            "body": body, "actions": list(actions), "hints": {k: str(v) for k, v in hints.items()},
            "timeout": timeout,
        }  # fmt: skip
        print(json.dumps(line), flush=True)
        return Notifications.received

    @pyqtSlot("uint")
    def CloseNotification(self, notice_id: int) -> None:
        print(json.dumps({"closed": notice_id}), flush=True)

    @pyqtSlot(result="QStringList")
    def GetCapabilities(self) -> list[str]:
        return ["actions", "body"]


def emit(name: str, *arguments: object) -> None:
    """Emit the service's signal ``name`` with uint id first, as the specification types it."""
    signal = QDBusMessage.createSignal(PATH, SERVICE, name)
    notice_id = QDBusArgument()
    notice_id.add(int(str(arguments[0])), UINT)
    rest: list[object] = []
    for value in arguments[1:]:
        if isinstance(value, int):
            typed = QDBusArgument()
            typed.add(value, UINT)
            rest.append(typed)
        else:
            rest.append(value)
    signal.setArguments([notice_id, *rest])
    QDBusConnection.sessionBus().send(signal)


def command(line: str) -> None:
    """``invoke ID KEY``: click action KEY of notice ID."""
    words = line.split()
    if len(words) == 3 and words[0] == "invoke":
        emit("ActionInvoked", words[1], words[2])
        emit("NotificationClosed", words[1], 2)  # 2: dismissed by the user
        print(json.dumps({"invoked": int(words[1]), "key": words[2]}), flush=True)


def main() -> None:
    app = QCoreApplication(sys.argv)
    bus = QDBusConnection.sessionBus()
    owner = QObject()
    Notifications(owner)
    if not bus.registerObject("/org/freedesktop/Notifications", owner):
        sys.exit("notifyserver: cannot register the object")
    if not bus.registerService("org.freedesktop.Notifications"):
        sys.exit(f"notifyserver: {bus.lastError().message()}")
    reader = QSocketNotifier(sys.stdin.fileno(), QSocketNotifier.Type.Read)

    def read() -> None:
        line = sys.stdin.readline()
        if not line:
            reader.setEnabled(False)  # standard input closed: no more commands
            return
        command(line)

    reader.activated.connect(read)
    print("ready", flush=True)
    app.exec()


if __name__ == "__main__":
    main()
