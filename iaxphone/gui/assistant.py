"""The account assistant: the first run's way in, and "Add another account" later.

Theory of operation
-------------------
:class:`AccountAssistant` is a QWizard of four pages, in order:

==============  ===============================================  ==================
page            what it shows                                    Next is enabled
==============  ===============================================  ==================
AccountStep     server, extension, secret, caller name, name     the fields are valid
CheckStep       a live registration: "Registered" or the PBX's   the account registered
                reason in words (Try again, or Back to fix it)
SoundStep       microphone / speaker / ringing devices, a level  always (saves on Next)
                meter that runs while the page shows, a test tone
DoneStep        where it was saved, and what about the secret    Finish
==============  ===============================================  ==================

Leaving SoundStep saves: the secret into the system keyring
(:func:`iaxphone.config.save_account_secret`), then the account and the
``[audio]`` table into config.toml through :mod:`iaxphone.config_edit`
(comments and other accounts kept).  A machine without a keyring still
finishes: the secret is used for this session and DoneStep says how to
give it next time (IAXPHONE_SECRET).  A file that cannot be written keeps
the page open with the reason.

The wizard is opened non-modally (``show()``; no nested event loop under
qasync) and :meth:`AccountAssistant.result_future` resolves with an
:class:`AssistantResult` on Finish or ``None`` on Cancel; the caller then
builds or reconfigures the Phone, so the window works without a restart.

The live test runs the Qt-free :func:`~iaxphone.gui.assistant_check.check_account`
as an asyncio task; going Back cancels it.  ``backend`` is an object shaped
like the ``sounddevice`` module (tests pass a fake PortAudio).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QTimer
from PyQt6.QtGui import QFont
from PyQt6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from iaxphone import config, config_edit
from iaxphone.gui.assistant_check import CheckResult, check_account
from iaxphone.gui.icon import app_icon
from iaxphone.gui.settings import AudioPage, server_problem
from iaxphone.media import devices
from iaxphone.media.virtual import ToneSource
from iaxphone.phone import PhoneAccount
from iaxphone.target import parse_server

_NAME = re.compile(r"[A-Za-z0-9_-]+")
_USER = re.compile(r"[A-Za-z0-9_.+@-]+")
TONE_HZ = 440
TONE_RATE = 8000
TONE_TICK_MS = 50
TONE_TICKS = 30  # a second and a half of tone
TONE_DRAIN_TICKS = 10  # then half a second for the device's buffers to play it out
NO_KEYRING_NOTE = (
    "There is no system keyring on this computer, so the secret is used for this session"
    " only. Next time give it through IAXPHONE_SECRET, or install a keyring"
    " (gnome-keyring or KWallet)."
)


@dataclass(frozen=True)
class AssistantResult:
    account: config.AccountConfig
    secret: str
    path: Path
    in_keyring: bool


def saved_phone_account(
    saved: config.AccountConfig,
    server: tuple[str, int],
    secret: str | None,
    rsa_private_key: bytes | None = None,
) -> PhoneAccount:
    """The Phone's account for one saved in config.toml (by the assistant or Settings)."""
    return PhoneAccount(
        saved.name,
        server,
        saved.user,
        secret,
        saved.caller_name,
        saved.auto_answer,
        accept_calls_from=saved.accept_calls_from,
        intercom=saved.intercom,
        intercom_muted=saved.intercom_muted,
        voice=saved.voice,
        encryption=saved.encryption,
        trunk=saved.trunk,
        rsa_private_key=rsa_private_key,
    )


def phone_account(result: AssistantResult) -> PhoneAccount:
    """The Phone's account for what the assistant saved."""
    return saved_phone_account(result.account, parse_server(result.account.server), result.secret)


def _status_icon(label: QLabel, widget: QWidget, pixmap: QStyle.StandardPixmap | None) -> None:
    style = widget.style()
    if pixmap is None or style is None:
        label.clear()
        return
    label.setPixmap(style.standardIcon(pixmap).pixmap(32, 32))


# ---------------------------------------------------------------------- pages


class AccountStep(QWizardPage):
    def __init__(self, prefill: config.AccountConfig | None, name: str, taken: Collection[str]):
        super().__init__()
        self.taken = set(taken)
        self.setTitle("Your phone account")
        self.setSubTitle(
            "Your PBX administrator gives you these. The secret goes into the system"
            " keyring, never into the settings file."
        )
        self.server = QLineEdit(prefill.server if prefill else "")
        self.server.setPlaceholderText("pbx.example.com or pbx.example.com:4569")
        self.user = QLineEdit(prefill.user if prefill else "")
        self.user.setPlaceholderText("your extension, e.g. 6001")
        self.secret = QLineEdit()
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret.setPlaceholderText("the extension's password")
        self.caller_name = QLineEdit((prefill.caller_name or "") if prefill else "")
        self.caller_name.setPlaceholderText("optional: the name callers see")
        self.name = QLineEdit(prefill.name if prefill else name)
        self.problem_label = QLabel("")
        self.problem_label.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow("&Server", self.server)
        form.addRow("&Extension", self.user)
        form.addRow("S&ecret", self.secret)
        form.addRow("Your &name", self.caller_name)
        form.addRow("&Account name", self.name)
        form.addRow(self.problem_label)
        for edit in (self.server, self.user, self.secret, self.name):
            edit.textChanged.connect(self._changed)
        self._changed()

    def problem(self) -> str | None:
        """The first thing missing or wrong, in words, or None."""
        trouble = server_problem(self.server.text())
        if trouble:
            return trouble
        user = self.user.text().strip()
        if not user:
            return "the extension is missing"
        if not _USER.fullmatch(user):
            return f"extension {user!r}: letters, digits and . _ + @ - only"
        if not self.secret.text():
            return "the secret is missing"
        name = self.name.text().strip()
        if not _NAME.fullmatch(name):
            return "the account name may use letters, digits, - and _ only"
        if name in self.taken:
            return f"there is already an account called {name!r}"
        return None

    def _changed(self) -> None:
        trouble = self.problem()
        # Say what is wrong only once something was typed: an empty form is no mistake.
        typed = any(e.text() for e in (self.server, self.user, self.secret))
        self.problem_label.setText(trouble if trouble and typed else "")
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802 (Qt's name)
        return self.problem() is None

    def server_address(self) -> tuple[str, int]:
        return parse_server(self.server.text().strip(), option="server")


class CheckStep(QWizardPage):
    def __init__(self, account: AccountStep, save: Callable[[], str | None] | None = None) -> None:
        """``save``: run on Next (when no SoundStep follows), None or what went wrong."""
        super().__init__()
        self.account = account
        self.save = save
        self.setTitle("Checking the account")
        self.setSubTitle("iaxphone registers with the PBX once, to see that the account works.")
        self.icon = QLabel()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        font = QFont(self.status.font())
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.status.setFont(font)
        self.retry = QPushButton("&Try again")
        self.retry.clicked.connect(self.start)
        self.retry.setVisible(False)
        row = QHBoxLayout()
        row.addWidget(self.icon)
        row.addWidget(self.status, 1)
        again = QHBoxLayout()
        again.addWidget(self.retry)
        again.addStretch()
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addLayout(again)
        layout.addStretch()
        self.result: CheckResult | None = None
        self.task: asyncio.Task[None] | None = None

    def initializePage(self) -> None:  # noqa: N802 (Qt's name)
        self.start()

    def cleanupPage(self) -> None:  # noqa: N802 (Qt's name: Back)
        self.cancel()

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.task = None

    def start(self) -> None:
        self.cancel()
        self.result = None
        host, port = self.account.server_address()
        user = self.account.user.text().strip()
        self.status.setText(f"Registering extension {user} at {host}:{port}…")
        _status_icon(self.icon, self, QStyle.StandardPixmap.SP_BrowserReload)
        self.retry.setVisible(False)
        self.completeChanged.emit()
        self.task = asyncio.ensure_future(
            self._check((host, port), user, self.account.secret.text())
        )

    async def _check(self, server: tuple[str, int], user: str, secret: str) -> None:
        self.show_result(await check_account(server, user, secret))

    def show_result(self, result: CheckResult) -> None:
        self.task = None
        self.result = result
        self.status.setText(result.text)
        _status_icon(
            self.icon,
            self,
            QStyle.StandardPixmap.SP_DialogApplyButton
            if result.registered
            else QStyle.StandardPixmap.SP_MessageBoxWarning,
        )
        self.retry.setVisible(not result.registered)
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802 (Qt's name)
        return self.result is not None and self.result.registered

    def validatePage(self) -> bool:  # noqa: N802 (Qt's name: Next)
        problem = self.save() if self.save is not None else None
        if problem:
            self.status.setText(problem)
        return problem is None


class SoundStep(QWizardPage):
    def __init__(self, audio: config.AudioConfig, backend: Any, assistant: AccountAssistant):
        super().__init__()
        self.assistant = assistant
        self.backend = backend
        self.setTitle("Microphone and speaker")
        self.setSubTitle(
            "Speak: the level meter should move. Play the test tone: you should hear it."
        )
        self.audio = AudioPage(audio, backend)
        self.tone_button = QPushButton("&Play a test tone")
        self.tone_button.clicked.connect(self.play_tone)
        self.tone_card: devices.SoundCard | None = None
        self.tone: ToneSource | None = None
        self.tone_left = 0
        self.tone_timer = QTimer(self)
        self.tone_timer.setInterval(TONE_TICK_MS)
        self.tone_timer.timeout.connect(self.tone_tick)
        self.problem_label = QLabel("")
        self.problem_label.setWordWrap(True)
        tone = QHBoxLayout()
        tone.addWidget(self.tone_button)
        tone.addWidget(self.problem_label, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.audio)
        layout.addLayout(tone)
        layout.addStretch()

    def initializePage(self) -> None:  # noqa: N802 (Qt's name)
        if self.audio.found:
            self.audio.test_button.setChecked(True)  # the meter runs while the page shows

    def cleanupPage(self) -> None:  # noqa: N802 (Qt's name: Back)
        self.stop()

    def stop(self) -> None:
        self.audio.stop_level_test()
        self.stop_tone()

    def play_tone(self) -> None:
        """A second and a half of 440 Hz on the chosen speaker."""
        self.stop_tone()
        chosen = self.audio.output.currentText()
        try:
            self.tone_card = devices.SoundCard(
                None,
                None if chosen == "default" else chosen,
                rate=TONE_RATE,
                capture=False,
                backend=self.backend,
                stall_timeout=None,
            )
        except devices.DeviceError as exc:
            self.problem_label.setText(f"cannot play the tone: {exc}")
            return
        self.problem_label.setText(f"playing a tone on {self.tone_card.description}")
        self.tone = ToneSource(TONE_HZ, TONE_RATE)
        self.tone_left = TONE_TICKS + TONE_DRAIN_TICKS
        self.tone_tick()
        self.tone_timer.start()

    def tone_tick(self) -> None:
        if self.tone_card is None or self.tone is None:
            return
        if self.tone_left <= 0:
            self.stop_tone()
            return
        if self.tone_left > TONE_DRAIN_TICKS:
            self.tone_card.sink.write(self.tone.read(TONE_RATE * TONE_TICK_MS // 1000))
        self.tone_left -= 1

    def stop_tone(self) -> None:
        self.tone_timer.stop()
        if self.tone_card is not None:
            self.tone_card.close()
            self.tone_card = None
        self.tone = None

    def validatePage(self) -> bool:  # noqa: N802 (Qt's name: Next)
        self.stop()
        problem = self.assistant.save(self.audio.values())
        self.problem_label.setText(problem or "")
        return problem is None


class DoneStep(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle("All set")
        self.setSubTitle("Your phone is ready.")
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addStretch()

    def show_saved(self, result: AssistantResult) -> None:
        shown = str(result.path)
        home = str(Path.home())
        if shown.startswith(home + "/"):
            shown = "~" + shown[len(home) :]
        where = f"The account {result.account.name!r} is saved in {shown}."
        secret = "The secret is in the system keyring." if result.in_keyring else NO_KEYRING_NOTE
        self.summary.setText(
            f"{where} {secret}\n\nFinish opens the phone. Settings in its menu change any of"
            " this later; Settings, Add another account adds one more."
        )


# ---------------------------------------------------------------------- the wizard


class AccountAssistant(QWizard):
    """The first run's assistant (``first=True``) or "Add another account"."""

    def __init__(
        self,
        path: Path | None = None,
        *,
        first: bool = True,
        prefill: config.AccountConfig | None = None,
        taken: Collection[str] = (),
        backend: Any = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.path = path or config.config_path()
        self.first = first
        self.setWindowTitle("iaxphone: set up your phone" if first else "iaxphone: add an account")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setPixmap(QWizard.WizardPixmap.LogoPixmap, app_icon().pixmap(48, 48))
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)  # saved by then
        try:
            audio = config.load(self.path).audio
        except config.ConfigError:
            audio = config.AudioConfig()
        default_name = "desk" if first else self._free_name(taken)
        self.account_step = AccountStep(prefill, default_name, taken)
        # A second account shares the sound devices already set: no SoundStep.
        self.check_step = CheckStep(self.account_step, None if first else lambda: self.save(None))
        self.sound_step = SoundStep(audio, backend, self)
        self.done_step = DoneStep()
        pages = [self.account_step, self.check_step, self.sound_step, self.done_step]
        for page in pages if first else [p for p in pages if p is not self.sound_step]:
            self.addPage(page)
        self.result_value: AssistantResult | None = None
        self._future: asyncio.Future[AssistantResult | None] | None = None
        self.finished.connect(self._finished)
        self.resize(620, 460)

    @staticmethod
    def _free_name(taken: Collection[str]) -> str:
        number = 2
        while f"account{number}" in taken:
            number += 1
        return f"account{number}"

    def account(self) -> config.AccountConfig:
        step = self.account_step
        return config.AccountConfig(
            name=step.name.text().strip(),
            server=step.server.text().strip(),
            user=step.user.text().strip(),
            caller_name=step.caller_name.text().strip() or None,
        )

    def save(self, audio: config.AudioConfig | None) -> str | None:
        """Keyring, then config.toml; None when saved, else what went wrong."""
        account = self.account()
        secret = self.account_step.secret.text()
        in_keyring = True
        try:
            config.save_account_secret(account.name, secret)
        except config.ConfigError:
            in_keyring = False  # this session only: the DoneStep says how to go on
        try:
            config_edit.save_account(account, self.path, make_default=self.first)
            if audio is not None:
                config_edit.save_audio(audio, self.path)
        except (config.ConfigError, OSError) as exc:
            return f"cannot save: {exc}"
        saved = config.load(self.path).accounts[account.name]  # as iaxphone will read it
        self.result_value = AssistantResult(saved, secret, self.path, in_keyring)
        self.done_step.show_saved(self.result_value)
        return None

    def result_future(self) -> asyncio.Future[AssistantResult | None]:
        """Resolves with the saved account on Finish, None on Cancel (or a closed window)."""
        if self._future is None:
            self._future = asyncio.get_running_loop().create_future()
        return self._future

    def _finished(self, code: int) -> None:
        self.check_step.cancel()
        self.sound_step.stop()
        accepted = code == QWizard.DialogCode.Accepted.value and self.result_value is not None
        if self._future is not None and not self._future.done():
            self._future.set_result(self.result_value if accepted else None)

    def closeEvent(self, event: Any) -> None:  # noqa: N802 (Qt's name)
        with contextlib.suppress(RuntimeError):
            self.check_step.cancel()
        super().closeEvent(event)
