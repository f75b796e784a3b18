"""The account assistant against the bundled PBX: no config file to a registered phone.

The first test goes the way a new user does: ``iaxphone gui``'s own
first-run path (:func:`iaxphone.cli.gui.first_run_assistant`) opens the
assistant; a wrong secret gets the PBX's refusal in words, the right one
registers; the sound page's meter moves and the test tone plays (a fake
PortAudio); the account lands in config.toml and the secret in a keyring of
the test's own; then the window is built from what was saved, as ``run_gui``
does, and registers without a restart.  A second account is added later from
the window's Settings menu.  The pages are saved under
test-output/screenshots (assistant-*.png).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QApplication, QWizard
from pytestqt.qtbot import QtBot

from iaxphone import config
from iaxphone.cli import build_parser, handoff
from iaxphone.cli.gui import first_run_assistant, make_phone, server_address
from iaxphone.gui.app import MainWindow
from iaxphone.gui.assistant import (
    TONE_DRAIN_TICKS,
    TONE_HZ,
    TONE_TICK_MS,
    TONE_TICKS,
    AccountAssistant,
    CheckStep,
)
from iaxphone.gui.assistant_check import check_account
from iaxphone.gui.settings import METER_FLOOR_DBFS
from tests.guiloop import run_on_qt_loop, screenshot, until
from tests.pbx import Pbx
from tests.soundserver import DEVICE, SoundServer, paced
from tests.test_devices import FakeBackend, dominant_frequency, rms
from tests.test_gui_settings import MemoryKeyring, memory_keyring  # noqa: F401 (a fixture)
from tests.test_sound_server import loopback  # noqa: F401 (a fixture)

NEXT = QWizard.WizardButton.NextButton
FINISH = QWizard.WizardButton.FinishButton


async def shown_assistant(app: QApplication) -> AccountAssistant:
    """The assistant that ``first_run_assistant`` has just shown."""
    for _ in range(200):
        for widget in app.topLevelWidgets():
            if isinstance(widget, AccountAssistant) and widget.isVisible():
                return widget
        await asyncio.sleep(0)
    raise AssertionError("no account assistant opened")


async def checked(step: CheckStep) -> None:
    """Wait for the live registration test the page started."""
    task = step.task
    assert task is not None
    await asyncio.wait_for(task, 20)
    assert step.result is not None


def on_qt_loop_as_the_app(qapp: QApplication, scenario: Coroutine[Any, Any, None]) -> None:
    """As ``iaxphone gui`` runs: closing the assistant (the only window) does not quit."""
    before = qapp.quitOnLastWindowClosed()
    qapp.setQuitOnLastWindowClosed(False)
    try:
        run_on_qt_loop(qapp, scenario)
    finally:
        qapp.setQuitOnLastWindowClosed(before)


def type_into(qtbot: QtBot, field: object, text: str) -> None:
    field.clear()  # type: ignore[attr-defined]
    qtbot.keyClicks(field, text)


def test_no_config_to_a_registered_phone_through_the_assistant_alone(
    qtbot: QtBot, qapp: QApplication, pbx: Pbx, memory_keyring: MemoryKeyring,  # noqa: F811
    own_folders: Path,
) -> None:  # fmt: skip
    user, secret = pbx.extension(6005)
    path = config.config_path()
    assert not path.exists()  # a new user: no config at all
    args = build_parser().parse_args(["gui"])
    backend = FakeBackend()

    async def scenario() -> None:
        opening = asyncio.ensure_future(first_run_assistant(args, backend))
        assistant = await shown_assistant(qapp)
        step = assistant.account_step
        assert not assistant.button(NEXT).isEnabled()  # nothing typed yet
        screenshot(assistant, "assistant-1-empty")
        type_into(qtbot, step.server, f"{pbx.host}:99999")
        type_into(qtbot, step.user, user)
        type_into(qtbot, step.secret, "not-the-secret")
        assert "port must be a number" in step.problem_label.text()
        assert not assistant.button(NEXT).isEnabled()
        type_into(qtbot, step.server, f"{pbx.host}:{pbx.iax_port}")
        type_into(qtbot, step.caller_name, "Erin Example")
        assert step.problem_label.text() == "" and assistant.button(NEXT).isEnabled()
        screenshot(assistant, "assistant-2-account")

        # A wrong secret: the PBX's refusal in words, and no way on.
        assistant.next()
        await checked(assistant.check_step)
        said = assistant.check_step.status.text()
        assert not assistant.check_step.result.registered  # type: ignore[union-attr]
        assert said.startswith(f"The PBX at {pbx.host}:{pbx.iax_port} refused the login")
        assert "wrong username or password" in said.lower(), said
        assert not assistant.button(NEXT).isEnabled()
        assert assistant.check_step.retry.isVisibleTo(assistant)
        screenshot(assistant, "assistant-3-refused")

        assistant.back()
        type_into(qtbot, step.secret, secret)
        assistant.next()
        await checked(assistant.check_step)
        said = assistant.check_step.status.text()
        assert (
            said == f"Registered: extension {user} at {pbx.host}:{pbx.iax_port} is ready for calls."
        )
        assert assistant.button(NEXT).isEnabled()
        screenshot(assistant, "assistant-4-registered")

        # The sound page: the meter runs at once; the tone plays on the speaker.
        assistant.next()
        sound = assistant.sound_step
        meter = sound.audio
        assert meter.card is not None and meter.test_button.isChecked()
        microphone = backend.streams[-1]
        for _ in range(8):
            microphone.run(5)
            meter.meter_tick()
        assert meter.meter.value() > METER_FLOOR_DBFS + 20  # the fake's -15 dBFS tone
        sound.play_tone()
        speaker = backend.streams[-1]
        assert speaker.kind == "output"
        for _ in range(10):
            sound.tone_tick()
            speaker.run(5)
        played = speaker.output[-1600:]
        assert rms(played) > 1000
        assert abs(dominant_frequency(played, speaker.samplerate) - TONE_HZ) < 15
        screenshot(assistant, "assistant-5-sound")

        assistant.next()  # saves
        assert microphone.closed and speaker.closed
        saved = tomllib.loads(path.read_text(encoding="utf-8"))
        assert saved["default_account"] == "desk"
        assert saved["accounts"]["desk"]["server"] == f"{pbx.host}:{pbx.iax_port}"
        assert saved["accounts"]["desk"]["user"] == user
        assert saved["accounts"]["desk"]["caller_name"] == "Erin Example"
        assert secret not in path.read_text(encoding="utf-8")  # the secret is not in the file
        assert memory_keyring.passwords[("iaxphone", "desk")] == secret
        assert "secret is in the system keyring" in assistant.done_step.summary.text()
        screenshot(assistant, "assistant-6-done")
        qtbot.mouseClick(assistant.button(FINISH), Qt.MouseButton.LeftButton)
        me = await asyncio.wait_for(opening, 5)
        assert me is not None and me.user == user and me.secret == secret

        # The window, from what the assistant saved, as run_gui builds it.
        phone, history, ring_sink, _note = make_phone(args, me, server_address(me))
        async with phone:
            window = MainWindow(
                phone, history=history, account_name=me.account, ring_sink=ring_sink,
                audio_backend=backend,
            )  # fmt: skip
            qtbot.addWidget(window)
            window.show()
            assert phone.registered == {"desk": True}
            await until(phone, lambda: "desk: registered" in window.handset.model.registration)
            screenshot(window, "first-run-window")

            # Later: Settings, Add another account.
            window.add_account_action.trigger()
            second = window.assistant
            assert second is not None and second.account_step.name.text() == "account2"
            other_user, other_secret = pbx.extension(6006)
            type_into(qtbot, second.account_step.server, f"{pbx.host}:{pbx.iax_port}")
            type_into(qtbot, second.account_step.user, other_user)
            type_into(qtbot, second.account_step.secret, other_secret)
            second.next()
            await checked(second.check_step)
            assert second.check_step.result.registered  # type: ignore[union-attr]
            second.next()  # no sound page for a second account: saved, done
            assert second.currentPage() is second.done_step
            qtbot.mouseClick(second.button(FINISH), Qt.MouseButton.LeftButton)
            await until(phone, lambda: phone.registered.get("account2") is True)
            assert set(config.load(path).accounts) == {"desk", "account2"}
            assert config.load(path).default_account == "desk"
        history.close()

    on_qt_loop_as_the_app(qapp, scenario())


def test_cancel_saves_nothing(qtbot: QtBot, qapp: QApplication, own_folders: Path) -> None:
    args = build_parser().parse_args(["gui"])

    async def scenario() -> None:
        opening = asyncio.ensure_future(first_run_assistant(args, FakeBackend()))
        assistant = await shown_assistant(qapp)
        type_into(qtbot, assistant.account_step.server, "127.0.0.1")
        assistant.reject()
        assert await asyncio.wait_for(opening, 5) is None

    on_qt_loop_as_the_app(qapp, scenario())
    assert not config.config_path().exists()


def test_a_silent_server_is_said_in_words() -> None:
    """Nobody answers on the port: the check gives up and says what to look at."""

    async def scenario() -> str:
        result = await check_account(("127.0.0.1", 9), "6001", "x", timeout=1.0)
        assert not result.registered
        return result.text

    text = asyncio.run(scenario())
    assert text.startswith("No answer from 127.0.0.1:9 within 1 s") or text.startswith(
        "Not registered with 127.0.0.1:9"
    ), text


def test_a_server_name_that_does_not_resolve_is_said_in_words() -> None:
    result = asyncio.run(check_account(("no-such-host.invalid", 4569), "6001", "x"))
    assert not result.registered
    assert result.text.startswith("Cannot find the server:"), result.text


def test_no_keyring_still_finishes_and_says_how_to_go_on(qtbot: QtBot, own_folders: Path) -> None:
    assistant = AccountAssistant(backend=FakeBackend())
    qtbot.addWidget(assistant)
    step = assistant.account_step
    type_into(qtbot, step.server, "pbx.example.com")
    type_into(qtbot, step.user, "6001")
    type_into(qtbot, step.secret, "s3cret")
    assert assistant.save(config.AudioConfig()) is None  # the suite's keyring refuses
    assert assistant.result_value is not None and not assistant.result_value.in_keyring
    assert "IAXPHONE_SECRET" in assistant.done_step.summary.text()
    assert "s3cret" not in config.config_path().read_text(encoding="utf-8")


def test_account_names_already_taken_are_refused(qtbot: QtBot) -> None:
    assistant = AccountAssistant(first=False, taken=("desk", "account2"), backend=FakeBackend())
    qtbot.addWidget(assistant)
    step = assistant.account_step
    assert step.name.text() == "account3"
    type_into(qtbot, step.server, "pbx.example.com")
    type_into(qtbot, step.user, "6001")
    type_into(qtbot, step.secret, "s")
    assert step.isComplete()
    type_into(qtbot, step.name, "desk")
    assert step.problem() == "there is already an account called 'desk'"
    assert not step.isComplete()


def test_iaxphone_with_no_account_opens_the_assistant_not_an_error(own_folders: Path) -> None:
    """The real command: it waits in the assistant (and answers a second start), SIGTERM
    cancels it, nothing is saved; without a display it is the one-line error, exit 2."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    first = subprocess.Popen(  # a bare "iaxphone" on a desktop is "iaxphone gui"
        [sys.executable, "-m", "iaxphone"], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    inbox = own_folders / "state" / "iaxphone" / "window.sock"
    try:
        deadline = time.monotonic() + 30
        while handoff.send("show", path=inbox) is None:  # up, and showing the assistant
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "iaxphone gui did not come up"
            time.sleep(0.1)
        second = subprocess.run(
            [sys.executable, "-m", "iaxphone", "gui"], env=env,
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert second.returncode == 0
        assert second.stderr.strip() == "iaxphone: brought to the front the window already running"
        first.send_signal(signal.SIGTERM)
        _out, err = first.communicate(timeout=15)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == 0 and "Traceback" not in err, err
    assert not config.config_path().exists()
    assert not inbox.exists()

    env.pop("QT_QPA_PLATFORM")
    headless = subprocess.run(
        [sys.executable, "-m", "iaxphone", "gui"], env=env,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert headless.returncode == 2
    assert headless.stderr.startswith("iaxphone: no account: add one to the config file")
    assert len(headless.stderr.strip().splitlines()) == 1


def test_the_test_tone_reaches_the_meter_through_a_real_sound_server(
    qtbot: QtBot,
    loopback: SoundServer,  # noqa: F811 (the fixture imported above)
) -> None:
    """The sound page on PulseAudio, the microphone hearing the speaker (a null sink's
    monitor): silence on the meter, then the test tone played on the speaker shows on it."""
    assistant = AccountAssistant(config.config_path())
    qtbot.addWidget(assistant)
    sound = assistant.sound_step
    audio = sound.audio
    for combo in (audio.input, audio.output):
        assert combo.findText(DEVICE) >= 0
        combo.setCurrentText(DEVICE)
    sound.initializePage()  # the meter starts listening
    try:
        assert audio.card is not None
        quiet: list[int] = []
        paced(TONE_TICK_MS, 2.5, lambda i: (audio.meter_tick(), quiet.append(audio.meter.value())))
        sound.play_tone()
        assert sound.tone_card is not None
        loud: list[int] = []
        paced(  # the tone, then its drain: the card closes once the buffers played out
            TONE_TICK_MS,
            (TONE_TICKS + TONE_DRAIN_TICKS) * TONE_TICK_MS / 1000,
            lambda i: (sound.tone_tick(), audio.meter_tick(), loud.append(audio.meter.value())),
        )
    finally:
        sound.stop()
    assert audio.card is None and sound.tone_card is None
    assert quiet[-1] == METER_FLOOR_DBFS
    # The tone is -12 dBFS peak, -15 RMS; on a loaded machine the real-time streams run
    # dry now and then and a 50 ms reading catches only part of it: at least 20 dB over
    # the silence before, then.
    assert max(loud) >= max(quiet) + 20, loud
