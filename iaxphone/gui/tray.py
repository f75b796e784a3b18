"""The tray icon: registration state and missed calls at a glance, and a menu.

Theory of operation
-------------------
:class:`PhoneTray` draws the Qt-free :class:`~iaxphone.viewmodels.tray.TrayModel`
as a :class:`QSystemTrayIcon`:

* the icon is a phone, green when the account is registered and red with
  a stroke when it is not; missed calls put a red badge with their count
  in its corner; the tooltip says the same in words;
* the menu has *Show iaxphone* (also a click on the icon), *Do not
  disturb* (checkable, the same switch as the handset's DND key) and
  *Quit*; it only emits ``show_requested``, ``dnd_requested(on)`` and
  ``quit_requested``: the main window carries them out;
* the model's notices (a call ringing here, a call missed) go to the
  desktop through :class:`~iaxphone.gui.notify.DesktopNotifier`, which
  falls back on this icon's balloon messages where there is no
  notification service.

Without a system tray (offscreen, some Wayland desktops) the icon is
made but never shown; the notifications still go out where a service is.
"""

from __future__ import annotations

from PyQt6.QtCore import QObject, QRectF, Qt, pyqtSignal
from PyQt6.QtGui import QAction, QColor, QFont, QIcon, QPainter, QPixmap
from PyQt6.QtWidgets import QMenu, QSystemTrayIcon

from iaxphone.phone import Phone
from iaxphone.viewmodels.tray import Notice, TrayModel, TrayView

from .icons import icon
from .notify import DesktopNotifier

SIZE = 64
REGISTERED = "#2e9d46"
NOT_REGISTERED = "#c0392b"
BADGE = "#d6392b"


def tray_pixmap(view: TrayView) -> QPixmap:
    """The tray's picture for ``view``: a green or red phone, a badge with the missed calls."""
    glyph = icon(
        "registered" if view.registered else "not registered",
        REGISTERED if view.registered else NOT_REGISTERED,
    )
    pixmap = glyph.pixmap(SIZE, SIZE)
    if view.missed:
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        badge = QRectF(SIZE * 0.48, 0, SIZE * 0.52, SIZE * 0.52)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(BADGE))
        painter.drawEllipse(badge)
        painter.setPen(QColor("white"))
        font = QFont()
        font.setBold(True)
        font.setPixelSize(int(SIZE * 0.36))
        painter.setFont(font)
        text = str(view.missed) if view.missed < 10 else "9+"
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)
        painter.end()
    return pixmap


class PhoneTray(QObject):
    show_requested = pyqtSignal()
    dnd_requested = pyqtSignal(bool)
    quit_requested = pyqtSignal()

    def __init__(self, phone: Phone, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = TrayModel(phone)
        self.icon = QSystemTrayIcon(self)
        self.notifier = DesktopNotifier(self.icon)
        self.menu = QMenu()
        self.show_action = QAction(icon("show"), "&Show iaxphone", self.menu)
        self.dnd_action = QAction(icon("dnd"), "&Do not disturb", self.menu)
        self.dnd_action.setCheckable(True)
        self.quit_action = QAction(icon("quit"), "&Quit", self.menu)
        for action in (self.show_action, self.dnd_action, self.quit_action):
            self.menu.addAction(action)
        self.menu.insertSeparator(self.quit_action)
        self.show_action.triggered.connect(self.show_requested.emit)
        self.dnd_action.triggered.connect(self.dnd_requested.emit)
        self.quit_action.triggered.connect(self.quit_requested.emit)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        self.model.on_change = self.draw
        self.model.on_notice = self.notice
        self.draw()
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.icon.show()

    @property
    def view(self) -> TrayView:
        return self.model.view()

    def draw(self) -> None:
        view = self.model.view()
        self.icon.setIcon(QIcon(tray_pixmap(view)))
        self.icon.setToolTip(view.tooltip)
        self.dnd_action.setChecked(view.dnd)

    def notice(self, notice: Notice) -> None:
        self.notifier.notify(notice.summary, notice.body, notice.kind)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.show_requested.emit()

    def close(self) -> None:
        self.model.close()
        self.icon.hide()
