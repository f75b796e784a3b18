"""Telling the user a call is coming in when the window is not in front.

Theory of operation
-------------------
:meth:`IncomingNotifier.incoming` raises and activates the window, asks
the window system to draw attention to it (``QApplication.alert``: a
blinking task-bar entry where activation is refused) and, when the desktop
has a system tray that shows messages, pops a tray message "Incoming call
from ...".  Without a tray (the offscreen platform, some Wayland desktops)
the tray step is skipped: the raise and the alert are the notification.
The window title carries the caller while the call rings, so task bars
show it too; :meth:`IncomingNotifier.done` puts the title back.
``shown`` records every notice text (what a test or a log can read).
"""

from __future__ import annotations

from PyQt6.QtWidgets import QApplication, QStyle, QSystemTrayIcon, QWidget

TITLE = "iaxphone"


class IncomingNotifier:
    def __init__(self, window: QWidget) -> None:
        self.window = window
        self.tray: QSystemTrayIcon | None = None
        self.shown: list[str] = []
        if QSystemTrayIcon.isSystemTrayAvailable():
            icon = window.windowIcon()
            if icon.isNull():
                style = window.style()
                if style is not None:
                    icon = style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxInformation)
            self.tray = QSystemTrayIcon(icon, window)
            self.tray.setToolTip(TITLE)
            self.tray.show()

    @property
    def uses_tray(self) -> bool:
        return self.tray is not None and QSystemTrayIcon.supportsMessages()

    def incoming(self, who: str) -> None:
        text = f"Incoming call from {who}"
        self.shown.append(text)
        self.window.setWindowTitle(f"{text} - {TITLE}")
        if self.window.isMinimized():
            self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()
        QApplication.alert(self.window)
        if self.tray is not None and self.uses_tray:
            self.tray.showMessage(TITLE, text, QSystemTrayIcon.MessageIcon.Information, 10_000)

    def done(self) -> None:
        self.window.setWindowTitle(TITLE)
