"""The main window: the handset in the middle, contacts and history beside it.

Theory of operation
-------------------
:class:`MainWindow` only assembles and wires; every part is its own
widget that knows the Phone model or the PbxClient, never the protocols:

* the :class:`~iaxphone.gui.handset.HandsetWindow` is the central widget
  (given the PbxClient and the ringing sink too);
* :class:`~iaxphone.gui.directory.DirectoryPanel` and
  :class:`~iaxphone.gui.history_view.HistoryView` are dock widgets, tabbed
  on the right;
* ``call_requested`` from either panel dials through the handset
  (``HandsetWindow.dial``, whose display shows the call and any error);
* a contact dropped on the handset during a call blind-transfers the active
  line (``HandsetWindow.transfer_to``) through a
  :class:`~iaxphone.gui.directory.TransferDropTarget`;
* the history is re-read when a line ends (the phone's ``LineChanged``);
* a :class:`~iaxphone.gui.theme.ThemeFollower` (owned by the window) keeps
  the graphs in the system's light or dark scheme;
* a :class:`~iaxphone.gui.tray.PhoneTray` shows registration and missed
  calls in the system tray and sends the desktop notifications (an incoming
  call's Answer answers that line and raises this window, Decline declines
  it); its menu's Show raises this window (which also clears the missed count, as does
  activating it), DND is the handset's DND key, Quit closes the window;
* Settings, Add another account opens the account assistant
  (:class:`~iaxphone.gui.assistant.AccountAssistant`); the account it saved
  is added to the running phone (``Phone.reconfigure``), which registers it;
* the Settings menu opens :class:`~iaxphone.gui.settings.SettingsDialog`
  window-modally (``open()``, not ``exec()``: no nested event loop under
  qasync).  Saved settings apply at once through ``Phone.reconfigure``: the
  account re-registers when its login changed; codec order and frame size
  apply from the next call; a different sound device needs a restart.

Without a PbxClient the contacts dock stays, disabled, saying why.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from PyQt6 import sip
from PyQt6.QtCore import QEvent, Qt, QTimer
from PyQt6.QtGui import QAction
from PyQt6.QtWidgets import QApplication, QDockWidget, QMainWindow, QWidget

from iaxphone import config
from iaxphone.gui.assistant import (
    AccountAssistant,
    AssistantResult,
    phone_account,
    saved_phone_account,
)
from iaxphone.gui.directory import NO_AMI, DirectoryPanel, TransferDropTarget
from iaxphone.gui.handset import HandsetWindow
from iaxphone.gui.history_view import HistoryView
from iaxphone.gui.icons import icon
from iaxphone.gui.settings import SettingsDialog
from iaxphone.gui.theme import ThemeFollower
from iaxphone.gui.tray import PhoneTray
from iaxphone.history import History
from iaxphone.media.virtual import Sink
from iaxphone.pbx.ami import PbxClient
from iaxphone.pbx.names import pbx_names
from iaxphone.phone import LineState, Phone
from iaxphone.target import TargetError, parse_server
from iaxphone.viewmodels.suggest import Suggestion, entries_from

TRANSFERABLE = (LineState.TALKING, LineState.HELD)


def known_names(history: History | None, limit: int = 500) -> dict[str, str]:
    """Names the history has seen for numbers (the newest name wins)."""
    if history is None:
        return {}
    return {call.number: call.name for call in reversed(history.recent(limit)) if call.name}


class MainWindow(QMainWindow):
    def __init__(
        self,
        phone: Phone,
        *,
        pbx: PbxClient | None = None,
        history: History | None = None,
        config_path: Path | None = None,
        account_name: str | None = None,
        no_ami_reason: str = NO_AMI,
        audio_backend: Any = None,
        ring_sink: Sink | None = None,
    ) -> None:
        super().__init__()
        self.phone = phone
        self.pbx = pbx
        self.config_path = config_path
        self.account_name = account_name
        self.audio_backend = audio_backend
        self.setWindowTitle("iaxphone")
        self.resize(980, 640)

        self.handset = HandsetWindow(phone, pbx=pbx, ring_sink=ring_sink)
        self.setCentralWidget(self.handset)

        self.directory = DirectoryPanel(
            pbx, names=known_names(history), no_ami_reason=no_ami_reason
        )
        self.directory.call_requested.connect(self.dial)
        self._names: asyncio.Task[None] | None = None
        if pbx is not None:  # the PBX's own names (voicemail, caller ID) over the history's
            with contextlib.suppress(RuntimeError):  # no running loop: history names only
                self._names = asyncio.get_running_loop().create_task(self._pbx_names(pbx))
        contacts = self._dock("Contacts", self.directory)
        self.history = history
        self.handset.suggestion_source = self.suggestion_entries
        self.history_view: HistoryView | None = None
        if history is not None:
            self.history_view = HistoryView(history)
            self.history_view.call_requested.connect(self.dial)
            heard = phone.subscribe(self.history_view.on_phone_event)
            self.history_view.destroyed.connect(heard.close)  # no events for a deleted panel
            self.tabifyDockWidget(contacts, self._dock("History", self.history_view))
            contacts.raise_()

        app = QApplication.instance()
        self.theme = ThemeFollower(app, parent=self) if isinstance(app, QApplication) else None

        self.tray = PhoneTray(phone, parent=self)
        self.tray.show_requested.connect(self.show_from_tray)
        self.tray.dnd_requested.connect(self.set_dnd)
        self.tray.quit_requested.connect(self.close)
        self.tray.answer_requested.connect(self.answer_from_notice)
        self.tray.decline_requested.connect(self.handset.model.decline_line)
        self.handset.dnd_button.toggled.connect(lambda _on: self.tray.model.dnd_changed())
        self.destroyed.connect(self.tray.model.close)

        self.handset.compact_button.toggled.connect(self.set_compact)
        self._wide_size = self.size()

        self.transfer_target = TransferDropTarget(self.handset, self.can_transfer)
        self.transfer_target.transfer_requested.connect(self.transfer)

        menu = self.menuBar()
        assert menu is not None
        settings_menu = menu.addMenu("&Settings")
        assert settings_menu is not None
        self.settings_action = QAction(icon("settings"), "&Account, audio and codecs…", self)
        self.settings_action.triggered.connect(self.open_settings)
        settings_menu.addAction(self.settings_action)
        self.add_account_action = QAction("Add another a&ccount…", self)
        self.add_account_action.triggered.connect(self.open_assistant)
        settings_menu.addAction(self.add_account_action)
        self.assistant: AccountAssistant | None = None
        self.settings_dialog: SettingsDialog | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def _dock(self, title: str, widget: QWidget) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title.lower())
        dock.setWidget(widget)
        dock.setMinimumWidth(320)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        return dock

    def set_compact(self, compact: bool) -> None:
        """Compact view: the docks go too, and the window shrinks to the handset."""
        for dock in self.findChildren(QDockWidget):
            dock.setVisible(not compact)
        if compact:
            self._wide_size = self.size()
            QTimer.singleShot(0, lambda: self.resize(self.minimumSizeHint()))
        else:
            self.resize(self._wide_size)

    def show_from_tray(self) -> None:
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()
        self.tray.model.seen()

    def suggestion_entries(self) -> list[Suggestion]:
        """What the number field suggests from: the PBX's extensions, then the history."""
        names = self.directory.names
        numbers = sorted(self.pbx.state.extensions, key=lambda n: (len(n), n)) if self.pbx else []
        contacts = [(number, names.get(number, "")) for number in numbers]
        recent = self.history.recent(300) if self.history is not None else []
        return entries_from(contacts, ((call.number, call.name or "") for call in recent))

    def answer_from_notice(self, line_id: int) -> None:
        """A notification's Answer: answer that line and bring the window up."""
        self.handset.model.answer_line(line_id)
        self.show_from_tray()

    def set_dnd(self, on: bool) -> None:
        """DND from the tray's menu: the same as the handset's key (published with AMI)."""
        self.handset.dnd_button.setChecked(on)
        self.handset.toggle_dnd()

    def changeEvent(self, event: QEvent | None) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if (
            event is not None
            and event.type() is QEvent.Type.ActivationChange
            and self.isActiveWindow()
        ):
            self.tray.model.seen()  # the missed calls are in the History dock now

    def say(self, text: str) -> None:
        bar = self.statusBar()
        if bar is not None:
            bar.showMessage(text, 10_000)

    # ------------------------------------------------------------------ commands

    async def _pbx_names(self, pbx: PbxClient) -> None:
        for number, name in (await pbx_names(pbx)).items():
            if sip.isdeleted(self.directory):
                return
            self.directory.set_name(number, name)

    def dial(self, number: str) -> None:
        self.say(f"calling {number}")
        self.handset.dial(number)

    def bring_to_front(self) -> None:
        """Another ``iaxphone gui`` or a clicked link asked for this window."""
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()

    def open_assistant(self) -> None:
        """The account assistant, for one more account beside the phone's."""
        assistant = AccountAssistant(
            self.config_path,
            first=False,
            taken=tuple(self.phone.accounts),
            backend=self.audio_backend,
            parent=self,
        )
        assistant.result_future().add_done_callback(
            lambda done: self.add_account(done.result()) if not done.cancelled() else None
        )
        self.assistant = assistant
        assistant.open()

    def add_account(self, result: AssistantResult | None) -> None:
        if result is None:
            return
        task = asyncio.ensure_future(self.phone.reconfigure(phone_account(result)))
        self._tasks.add(task)
        task.add_done_callback(self._applied)
        self.say(f"account {result.account.name} added: registering")

    def can_transfer(self) -> bool:
        line = self.phone.active_line
        return line is not None and line.info.state in TRANSFERABLE

    def transfer(self, number: str) -> None:
        line = self.phone.active_line
        if line is None or not self.can_transfer():
            self.say("no call to transfer")
            return
        self.handset.transfer_to(number)  # the handset shows the transfer's outcome
        self.say(f"transferring {line.info.number} to {number}")

    def open_settings(self) -> None:
        dialog = SettingsDialog(
            self.config_path, self.account_name, backend=self.audio_backend, parent=self
        )
        dialog.accepted.connect(lambda: self.apply_settings(dialog))
        self.settings_dialog = dialog
        dialog.open()

    def apply_settings(self, dialog: SettingsDialog) -> None:
        """The saved account, codecs and frame size take effect now (audio devices at restart)."""
        saved = dialog.saved
        if saved is None:
            return
        try:
            server = parse_server(saved.server)
        except TargetError as exc:  # the dialog validated it; the file may have changed since
            self.say(f"settings saved, not applied: {exc}")
            return
        previous = self.account_name or self.phone.default_account
        old = self.phone.accounts.get(previous)
        secret = config.resolve_secret(saved) or (old.secret if old is not None else "")
        rsa = old.rsa_private_key if old is not None else None
        account = saved_phone_account(saved, server, secret, rsa)
        self.account_name = saved.name
        task = asyncio.ensure_future(
            self.phone.reconfigure(
                account,
                replaces=previous,
                formats=list(saved.codecs) or None,
                frame_ms=saved.frame_ms,
            )
        )
        self._tasks.add(task)
        task.add_done_callback(self._applied)
        self.say("settings saved and applied (a new sound device needs a restart)")

    def _applied(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.say(f"settings saved, not applied: {task.exception()}")
