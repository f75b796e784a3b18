"""The settings dialog: account, audio devices (with a level test) and call options.

Theory of operation
-------------------
:class:`SettingsDialog` reads config.toml with :func:`iaxphone.config.load`
and shows three pages:

* :class:`AccountPage`: account name, server ``host[:port]``, user, secret
  and caller name.  Every edit re-validates; while something is wrong the
  dialog says what, plainly, and its OK button stays disabled.
* :class:`AudioPage`: input, output and ringing devices from PortAudio's
  list (:func:`iaxphone.media.devices.list_devices`), and a level test: a
  capture-only :class:`~iaxphone.media.devices.SoundCard` on the chosen
  input, read by a Qt timer every 50 ms into a dBFS meter.
* :class:`CallPage`: the codecs this machine can run, in order of
  preference (drag, or the up/down buttons; unticked ones are not
  offered), the frame size and auto-answer.

OK first stores a new secret in the system keyring
(:func:`iaxphone.config.save_account_secret`; a renamed account's secret is
copied to its new name); a machine without a keyring
gets a one-line message and the dialog stays open (clear the secret to save
the rest, and give the secret through IAXPHONE_SECRET).  Then the account
and audio settings are written with :mod:`iaxphone.config_edit`, which keeps
the rest of the file (comments, other accounts) as it was.

``backend`` is an object shaped like the ``sounddevice`` module; tests
pass a fake PortAudio.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from iaxphone import config, config_edit
from iaxphone.media import devices
from iaxphone.media.codecs import CODECS, codec_by_name, codec_info, is_available
from iaxphone.target import TargetError, parse_server

from .icons import icon

FRAME_SIZES = (10, 20, 30, 40, 60)
DEFAULT_CODECS = ("ulaw", "alaw", "g722", "gsm", "opus", "g729")
METER_FLOOR_DBFS = -60
METER_INTERVAL_MS = 50
METER_RATE = 8000
_NAME = re.compile(r"[A-Za-z0-9_-]+")
_USER = re.compile(r"[A-Za-z0-9_.+@-]+")
_HOST = re.compile(r"\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?")


def server_problem(text: str) -> str | None:
    """Why ``host[:port]`` is not a usable server, or None."""
    if not text.strip():
        return "the server is missing (host or host:port)"
    try:
        host, _port = parse_server(text.strip(), option="server")
    except TargetError as exc:
        return str(exc)
    if not _HOST.fullmatch(host):
        return f"server {host!r}: not a host name or address"
    return None


# ---------------------------------------------------------------------- account


class AccountPage(QWidget):
    def __init__(self, account: config.AccountConfig | None) -> None:
        super().__init__()
        self.original = account
        self.original_name = account.name if account else None
        self.name = QLineEdit(account.name if account else "desk")
        self.server = QLineEdit(account.server if account else "")
        self.server.setPlaceholderText("pbx.example.com or pbx.example.com:4569")
        self.user = QLineEdit(account.user if account else "")
        self.user.setPlaceholderText("your extension, e.g. 6001")
        self.secret = QLineEdit()
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret.setPlaceholderText(
            "unchanged (kept in the keyring)" if account else "stored in the system keyring"
        )
        self.caller_name = QLineEdit((account.caller_name or "") if account else "")
        form = QFormLayout(self)
        form.addRow("Account name", self.name)
        form.addRow("Server", self.server)
        form.addRow("User", self.user)
        form.addRow("Secret", self.secret)
        form.addRow("Caller name", self.caller_name)

    def problem(self) -> str | None:
        """The first thing wrong on this page, in words, or None."""
        if not _NAME.fullmatch(self.name.text().strip()):
            return "the account name may use letters, digits, - and _ only"
        trouble = server_problem(self.server.text())
        if trouble:
            return trouble
        user = self.user.text().strip()
        if not user:
            return "the user (your extension) is missing"
        if not _USER.fullmatch(user):
            return f"user {user!r}: letters, digits and . _ + @ - only"
        return None


# ---------------------------------------------------------------------- audio


class AudioPage(QWidget):
    def __init__(self, audio: config.AudioConfig, backend: Any = None) -> None:
        super().__init__()
        self.backend = backend
        self.audio = audio
        self.found = devices.list_devices(backend)
        self.input = self._combo("input", audio.input)
        self.output = self._combo("output", audio.output)
        self.ringing = self._combo("output", audio.ringing)
        self.card: devices.SoundCard | None = None
        self.level_dbfs = -math.inf
        self.meter = QProgressBar()
        self.meter.setRange(METER_FLOOR_DBFS, 0)
        self.meter.setValue(METER_FLOOR_DBFS)
        self.meter.setFormat("%v dBFS")
        self.test_button = QPushButton("Test level")
        self.test_button.setCheckable(True)
        self.test_button.setIcon(icon("level"))
        self.test_button.toggled.connect(self._toggle_test)
        self.note = QLabel("" if self.found else devices.NO_DEVICE_NOTE)
        self.note.setWordWrap(True)
        self.timer = QTimer(self)
        self.timer.setInterval(METER_INTERVAL_MS)
        self.timer.timeout.connect(self.meter_tick)
        self.input.currentIndexChanged.connect(self._input_changed)
        form = QFormLayout(self)
        form.addRow("Microphone", self.input)
        form.addRow("Speaker", self.output)
        form.addRow("Ringing", self.ringing)
        level = QHBoxLayout()
        level.addWidget(self.meter)
        level.addWidget(self.test_button)
        form.addRow("Input level", level)
        form.addRow(self.note)

    def _combo(self, kind: devices.Kind, current: str) -> QComboBox:
        box = QComboBox()
        box.addItem("default")
        for device in self.found:
            if device.channels(kind) > 0 and box.findText(device.name) < 0:
                box.addItem(device.name)
        if box.findText(current) < 0:
            box.addItem(current)  # configured but not present now: keep it
        box.setCurrentText(current)
        return box

    def values(self) -> config.AudioConfig:
        return replace(
            self.audio,
            input=self.input.currentText(),
            output=self.output.currentText(),
            ringing=self.ringing.currentText(),
        )

    # ------------------------------------------------------------------ level test

    def _toggle_test(self, on: bool) -> None:
        if on:
            self.start_level_test()
        else:
            self.stop_level_test()

    def _input_changed(self) -> None:
        if self.card is not None:  # follow the new choice
            self.stop_level_test()
            self.start_level_test()

    def start_level_test(self) -> None:
        chosen = self.input.currentText()
        try:
            self.card = devices.SoundCard(
                None if chosen == "default" else chosen,
                rate=METER_RATE,
                playback=False,
                backend=self.backend,
                stall_timeout=None,  # a meter: no recovery machinery
            )
        except devices.DeviceError as exc:
            self.note.setText(str(exc))
            self.test_button.setChecked(False)
            return
        self.note.setText(f"listening to {self.card.description}")
        self.timer.start()

    def stop_level_test(self) -> None:
        self.timer.stop()
        if self.card is not None:
            self.card.close()
            self.card = None
        self.meter.setValue(METER_FLOOR_DBFS)
        if self.test_button.isChecked():
            self.test_button.setChecked(False)

    def meter_tick(self) -> None:
        """Read the last 50 ms of the microphone and show its level."""
        if self.card is None:
            return
        samples = self.card.source.read(METER_RATE * METER_INTERVAL_MS // 1000)
        rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if samples.size else 0.0
        self.level_dbfs = 20 * math.log10(rms / 32768) if rms > 0 else -math.inf
        if not math.isfinite(self.level_dbfs):  # digital silence (or the card's start-up)
            self.meter.setValue(METER_FLOOR_DBFS)
            return
        self.meter.setValue(max(METER_FLOOR_DBFS, min(0, round(self.level_dbfs))))


# ---------------------------------------------------------------------- call options


class CallPage(QWidget):
    def __init__(self, account: config.AccountConfig | None) -> None:
        super().__init__()
        chosen = (
            [codec_info(fmt).name for fmt in account.codecs]
            if account and account.codecs
            else list(DEFAULT_CODECS)
        )
        runnable = [info.name for info in CODECS.values() if is_available(info.format)]
        self.codecs = QListWidget()
        self.codecs.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.codecs.setDefaultDropAction(Qt.DropAction.MoveAction)
        ordered = [n for n in chosen if n in runnable] + [n for n in runnable if n not in chosen]
        for name in ordered:
            item = QListWidgetItem(f"{name}  ({codec_by_name(name).description})")
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if name in chosen else Qt.CheckState.Unchecked)
            self.codecs.addItem(item)
        self.up = QPushButton("Up")
        self.up.setIcon(icon("up"))
        self.up.clicked.connect(lambda: self.move_codec(-1))
        self.down = QPushButton("Down")
        self.down.setIcon(icon("down"))
        self.down.clicked.connect(lambda: self.move_codec(1))
        self.frame_ms = QComboBox()
        sizes = list(FRAME_SIZES)
        current = account.frame_ms if account else 20
        if current not in sizes:
            sizes = sorted([*sizes, current])
        for size in sizes:
            self.frame_ms.addItem(f"{size} ms", size)
        self.frame_ms.setCurrentIndex(sizes.index(current))
        self.auto_answer = QCheckBox("Answer every incoming call at once")
        self.auto_answer.setChecked(account.auto_answer if account else False)
        self.accept_from = QLineEdit(
            ", ".join(account.accept_calls_from if account else ["server"])
        )
        self.accept_from.setPlaceholderText('server, or "any", or hosts and networks')
        self.accept_from.setToolTip(
            "Who may ring this phone: server is the PBX above; add hosts or networks"
            " (192.0.2.0/24) separated by commas, or any for calls without a PBX."
            " Calls from anyone else are refused without ringing."
        )
        self.intercom = QCheckBox("Let the PBX answer for me (intercom and paging)")
        self.intercom.setChecked(account.intercom if account else True)
        self.intercom_muted = QCheckBox("Start intercom calls with the microphone muted")
        self.intercom_muted.setChecked(account.intercom_muted if account else True)
        self.intercom.toggled.connect(self.intercom_muted.setEnabled)
        self.intercom_muted.setEnabled(self.intercom.isChecked())
        self.echo_cancellation = QCheckBox("Cancel the echo of the speaker (laptop speakers)")
        self.echo_cancellation.setChecked(account.echo_cancellation if account else True)
        self.noise_suppression = QCheckBox("Suppress background noise")
        self.noise_suppression.setChecked(account.noise_suppression if account else True)
        self.gain_control = QCheckBox("Keep my voice at an even level (automatic gain)")
        self.gain_control.setChecked(account.gain_control if account else True)
        buttons = QVBoxLayout()
        buttons.addWidget(self.up)
        buttons.addWidget(self.down)
        buttons.addStretch()
        order = QHBoxLayout()
        order.addWidget(self.codecs)
        order.addLayout(buttons)
        form = QFormLayout(self)
        form.addRow("Codecs (first preferred)", order)
        form.addRow("Frame size", self.frame_ms)
        form.addRow(self.auto_answer)
        form.addRow("Accept calls from", self.accept_from)
        form.addRow(self.intercom)
        form.addRow(self.intercom_muted)
        form.addRow(self.echo_cancellation)
        form.addRow(self.noise_suppression)
        form.addRow(self.gain_control)

    def accept_entries(self) -> tuple[str, ...]:
        """The "Accept calls from" field as config entries; ValueError when it is wrong."""
        return config.parse_accept_from(
            [part for part in self.accept_from.text().split(",") if part.strip()]
        )

    def move_codec(self, step: int) -> None:
        """Move the selected codec one place up (-1) or down (+1)."""
        row = self.codecs.currentRow()
        target = row + step
        if row < 0 or not 0 <= target < self.codecs.count():
            return
        item = self.codecs.takeItem(row)
        self.codecs.insertItem(target, item)
        self.codecs.setCurrentRow(target)

    def codec_names(self) -> list[str]:
        """The ticked codecs, in order of preference."""
        names = []
        for row in range(self.codecs.count()):
            item = self.codecs.item(row)
            if item is not None and item.checkState() is Qt.CheckState.Checked:
                names.append(str(item.data(Qt.ItemDataRole.UserRole)))
        return names

    def problem(self) -> str | None:
        names = self.codec_names()
        if not names:
            return "tick at least one codec"
        frame_ms = int(self.frame_ms.currentData())
        for name in names:
            sizes = codec_by_name(name).frame_ms
            if frame_ms not in sizes:
                allowed = ", ".join(str(size) for size in sizes)
                return f"{name} cannot send {frame_ms} ms frames (only {allowed} ms)"
        try:
            self.accept_entries()
        except ValueError as exc:
            return f"accept calls from: {exc}"
        return None


# ---------------------------------------------------------------------- the dialog


class SettingsDialog(QDialog):
    """Settings of one account (``account_name``, else the default) and the audio devices."""

    def __init__(
        self,
        path: Path | None = None,
        account_name: str | None = None,
        *,
        backend: Any = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("iaxphone settings")
        self.path = path or config.config_path()
        self.saved: config.AccountConfig | None = None
        self.message = QLabel("")
        self.message.setWordWrap(True)
        problem = ""
        try:
            loaded = config.load(self.path)
            account = loaded.account(account_name)
        except config.ConfigError as exc:
            loaded, account, problem = config.Config(None), None, str(exc)
        self.account_page = AccountPage(account)
        self.audio_page = AudioPage(loaded.audio, backend)
        self.call_page = CallPage(account)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.account_page, "Account")
        self.tabs.addTab(self.audio_page, "Audio")
        self.tabs.addTab(self.call_page, "Calls")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        for which, name in (
            (QDialogButtonBox.StandardButton.Ok, "ok"),
            (QDialogButtonBox.StandardButton.Cancel, "cancel"),
        ):
            standard = self.buttons.button(which)
            if standard is not None:
                standard.setIcon(icon(name))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        page = self.account_page
        for field in (page.name, page.server, page.user, page.secret, page.caller_name):
            field.textChanged.connect(self.validate)
        self.call_page.codecs.itemChanged.connect(self.validate)
        self.call_page.frame_ms.currentIndexChanged.connect(self.validate)
        self.call_page.accept_from.textChanged.connect(self.validate)
        self.broken_file = problem
        self.validate()

    @property
    def ok_button(self) -> QPushButton:
        button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        assert button is not None
        return button

    def validate(self) -> None:
        problem = (
            (f"cannot edit {self.broken_file}" if self.broken_file else None)
            or self.account_page.problem()
            or self.call_page.problem()
        )
        self.message.setText(problem or "")
        self.ok_button.setEnabled(problem is None)

    def account(self) -> config.AccountConfig:
        """The dialog's account (keys it does not show are kept from the file's)."""
        page, calls = self.account_page, self.call_page
        return replace(
            page.original or config.AccountConfig("", "", ""),
            name=page.name.text().strip(),
            server=page.server.text().strip(),
            user=page.user.text().strip(),
            caller_name=page.caller_name.text().strip() or None,
            codecs=tuple(int(codec_by_name(name).format) for name in calls.codec_names()),
            frame_ms=int(calls.frame_ms.currentData()),
            auto_answer=calls.auto_answer.isChecked(),
            accept_calls_from=calls.accept_entries(),
            intercom=calls.intercom.isChecked(),
            intercom_muted=calls.intercom_muted.isChecked(),
            echo_cancellation=calls.echo_cancellation.isChecked(),
            noise_suppression=calls.noise_suppression.isChecked(),
            gain_control=calls.gain_control.isChecked(),
        )

    def accept(self) -> None:
        self.validate()
        if not self.ok_button.isEnabled():
            return
        account = self.account()
        secret = self.account_page.secret.text()
        previous = self.account_page.original_name
        if not secret and previous and previous != account.name:
            secret = config.keyring_secret(previous) or ""  # renamed: the secret moves along
        try:
            if secret:
                config.save_account_secret(account.name, secret)
            config_edit.save_account(account, self.path, previous_name=previous)
            config_edit.save_audio(self.audio_page.values(), self.path)
        except config.ConfigError as exc:
            hint = " (clear the secret to save the rest)" if "keyring" in str(exc) else ""
            self.message.setText(f"{exc}{hint}")
            return
        self.saved = config.load(self.path).accounts.get(account.name)  # as iaxphone will read it
        self.audio_page.stop_level_test()
        super().accept()

    def reject(self) -> None:
        self.audio_page.stop_level_test()
        super().reject()
