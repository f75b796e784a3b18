"""A tiny freedesktop notification service for the tests (``python -m tests.notifyserver``).

Run on a private session bus (DBUS_SESSION_BUS_ADDRESS): it owns
``org.freedesktop.Notifications``, answers ``Notify`` with a new id and
``GetCapabilities``, prints ``ready`` once it owns the name, then one JSON
line per notification received (app, icon, summary, body, timeout), which
is what a test reads.  Qt's D-Bus module, as the phone's side uses.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from PyQt6.QtCore import QCoreApplication, QObject, pyqtClassInfo, pyqtSlot
from PyQt6.QtDBus import QDBusAbstractAdaptor, QDBusConnection


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
        line = {"app": app, "icon": icon, "summary": summary, "body": body, "timeout": timeout}
        print(json.dumps(line), flush=True)
        return Notifications.received

    @pyqtSlot(result="QStringList")
    def GetCapabilities(self) -> list[str]:
        return ["body"]


def main() -> None:
    app = QCoreApplication(sys.argv)
    bus = QDBusConnection.sessionBus()
    owner = QObject()
    Notifications(owner)
    if not bus.registerObject("/org/freedesktop/Notifications", owner):
        sys.exit("notifyserver: cannot register the object")
    if not bus.registerService("org.freedesktop.Notifications"):
        sys.exit(f"notifyserver: {bus.lastError().message()}")
    print("ready", flush=True)
    app.exec()


if __name__ == "__main__":
    main()
