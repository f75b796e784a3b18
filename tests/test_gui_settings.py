"""The settings dialog: validation, keyring, config.toml round trip, level meter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
from keyring.backend import KeyringBackend
from PyQt6.QtCore import Qt
from pytestqt.qtbot import QtBot

from iaxphone import config
from iaxphone.config_edit import save_account, save_audio
from iaxphone.gui.settings import METER_FLOOR_DBFS, AudioPage, SettingsDialog
from iaxphone.media.codecs import codec_by_name
from tests.test_devices import FakeBackend

CONFIG = """\
# My phone: edited by hand, and by the settings dialog.
default_account = "office"

[accounts.office]  # the desk phone
server = "pbx.example.com:4569"
user = "6001"
codecs = ["ulaw", "alaw", "g722"]
frame_ms = 20
trunk = true             # not in the dialog: must survive

[accounts.home]
server = "home.example.net"
user = "7001"

[audio]
input = "default"
mute = "stop"
"""


class MemoryKeyring(KeyringBackend):
    """A keyring that lives in this process (headless machines have none)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.passwords.pop((service, username), None)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    before = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    try:
        yield ring
    finally:
        keyring.set_keyring(before)


@pytest.fixture
def no_keyring() -> Iterator[None]:
    before = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    try:
        yield
    finally:
        keyring.set_keyring(before)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def dialog(qtbot: QtBot, path: Path, account: str | None = None) -> SettingsDialog:
    window = SettingsDialog(path, account, backend=FakeBackend())
    qtbot.addWidget(window)
    return window


def retype(qtbot: QtBot, field: object, text: str) -> None:
    field.clear()  # type: ignore[attr-defined]
    qtbot.keyClicks(field, text)


def test_bad_server_or_user_says_why_and_disables_ok(qtbot: QtBot, config_file: Path) -> None:
    window = dialog(qtbot, config_file)
    page = window.account_page
    assert page.server.text() == "pbx.example.com:4569" and window.ok_button.isEnabled()
    for server, said in (
        ("pbx.example.com:99999", "port must be a number from 1 to 65535"),
        ("pbx.example.com:sip", "port must be a number from 1 to 65535"),
        ("", "the server is missing"),
        ("bad host!", "not a host name or address"),
        (":4569", "no host"),
    ):
        retype(qtbot, page.server, server)
        assert said in window.message.text(), server
        assert not window.ok_button.isEnabled()
    retype(qtbot, page.server, "10.0.0.5:4570")
    assert window.message.text() == "" and window.ok_button.isEnabled()
    retype(qtbot, page.user, "60 01")
    assert "user '60 01'" in window.message.text() and not window.ok_button.isEnabled()
    page.user.clear()
    assert "user (your extension) is missing" in window.message.text()
    retype(qtbot, page.user, "6001")
    retype(qtbot, page.name, "my office")
    assert "account name" in window.message.text() and not window.ok_button.isEnabled()
    retype(qtbot, page.name, "office")
    calls = window.call_page
    gsm = next(
        calls.codecs.item(r)
        for r in range(calls.codecs.count())
        if calls.codecs.item(r).data(Qt.ItemDataRole.UserRole) == "gsm"  # type: ignore[union-attr]
    )
    gsm.setCheckState(Qt.CheckState.Checked)  # type: ignore[union-attr]
    calls.frame_ms.setCurrentText("30 ms")
    assert window.message.text() == "gsm cannot send 30 ms frames (only 20, 40, 60 ms)"
    assert not window.ok_button.isEnabled()
    calls.frame_ms.setCurrentText("40 ms")
    assert window.message.text() == "" and window.ok_button.isEnabled()
    for row in range(window.call_page.codecs.count()):
        window.call_page.codecs.item(row).setCheckState(Qt.CheckState.Unchecked)  # type: ignore[union-attr]
    assert window.message.text() == "tick at least one codec" and not window.ok_button.isEnabled()
    # OK cannot be forced past validation (Enter in a field triggers accept()).
    window.accept()
    assert window.saved is None and config_file.read_text(encoding="utf-8") == CONFIG


def test_ok_writes_config_toml_and_the_keyring_keeping_the_rest(
    qtbot: QtBot, config_file: Path, memory_keyring: MemoryKeyring
) -> None:
    window = dialog(qtbot, config_file)
    page, calls = window.account_page, window.call_page
    retype(qtbot, page.server, "pbx.office.example:4570")
    retype(qtbot, page.user, "6002")
    retype(qtbot, page.secret, "s3cret")
    retype(qtbot, page.caller_name, "Bob Baker")
    # g722 first: select it and press Up twice; tick gsm too.
    names = [
        calls.codecs.item(r).data(Qt.ItemDataRole.UserRole) for r in range(calls.codecs.count())
    ]  # type: ignore[union-attr]
    assert names[:3] == ["ulaw", "alaw", "g722"]
    calls.codecs.setCurrentRow(2)
    qtbot.mouseClick(calls.up, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(calls.up, Qt.MouseButton.LeftButton)
    gsm = next(
        calls.codecs.item(r)
        for r in range(calls.codecs.count())
        if calls.codecs.item(r).data(Qt.ItemDataRole.UserRole) == "gsm"
    )  # type: ignore[union-attr]
    assert gsm.checkState() is Qt.CheckState.Unchecked
    gsm.setCheckState(Qt.CheckState.Checked)
    assert calls.codec_names() == ["g722", "ulaw", "alaw", "gsm"]
    calls.frame_ms.setCurrentText("40 ms")
    calls.auto_answer.setChecked(True)
    window.audio_page.input.setCurrentText("USB Headset: Audio (hw:1,0)")
    window.audio_page.ringing.setCurrentText("HDA Intel PCH: HDMI 0 (hw:0,3)")
    qtbot.mouseClick(window.ok_button, Qt.MouseButton.LeftButton)
    assert window.result() == SettingsDialog.DialogCode.Accepted

    loaded = config.load(config_file)
    office = loaded.accounts["office"]
    assert office.server == "pbx.office.example:4570" and office.user == "6002"
    assert office.caller_name == "Bob Baker"
    assert office.codecs == tuple(codec_by_name(n).format for n in ("g722", "ulaw", "alaw", "gsm"))
    assert office.frame_ms == 40 and office.auto_answer
    assert office.trunk  # a key the dialog does not show
    assert office.secret is None  # not in the file...
    assert memory_keyring.passwords == {("iaxphone", "office"): "s3cret"}  # ...in the keyring
    assert config.resolve_secret(office) == "s3cret"
    assert loaded.accounts["home"] == config.AccountConfig("home", "home.example.net", "7001")
    assert loaded.default_account == "office"
    assert loaded.audio == config.AudioConfig(
        "USB Headset: Audio (hw:1,0)", "default", "HDA Intel PCH: HDMI 0 (hw:0,3)", "stop"
    )
    text = config_file.read_text(encoding="utf-8")
    assert text.startswith("# My phone: edited by hand, and by the settings dialog.\n")
    assert "[accounts.office]  # the desk phone" in text
    assert "trunk = true             # not in the dialog: must survive" in text
    assert window.saved == office

    # A second dialog shows what the first saved.
    again = dialog(qtbot, config_file)
    assert again.account_page.server.text() == "pbx.office.example:4570"
    assert again.call_page.codec_names() == ["g722", "ulaw", "alaw", "gsm"]
    assert again.call_page.frame_ms.currentData() == 40
    assert again.audio_page.input.currentText() == "USB Headset: Audio (hw:1,0)"


def test_without_a_keyring_the_dialog_says_so_and_stays_open(
    qtbot: QtBot, config_file: Path, no_keyring: None
) -> None:
    window = dialog(qtbot, config_file, "home")
    retype(qtbot, window.account_page.secret, "s3cret")
    qtbot.mouseClick(window.ok_button, Qt.MouseButton.LeftButton)
    assert window.result() != SettingsDialog.DialogCode.Accepted
    assert window.message.text().startswith("no system keyring to store the secret in")
    assert "IAXPHONE_SECRET" in window.message.text()
    assert "clear the secret to save the rest" in window.message.text()
    assert config_file.read_text(encoding="utf-8") == CONFIG  # nothing half-written
    window.account_page.secret.clear()
    retype(qtbot, window.account_page.user, "7002")
    qtbot.mouseClick(window.ok_button, Qt.MouseButton.LeftButton)
    assert window.result() == SettingsDialog.DialogCode.Accepted
    assert config.load(config_file).accounts["home"].user == "7002"


def test_a_new_config_file_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "new" / "config.toml"
    account = config.AccountConfig(
        "desk", "127.0.0.1:4569", "6001", caller_name="Alice", codecs=(codec_by_name("opus").format,),
        frame_ms=60, auto_answer=True,
    )  # fmt: skip
    save_account(account, path)
    save_audio(config.AudioConfig("mic", "speaker", "bell", "silence"), path)
    loaded = config.load(path)
    assert loaded.accounts == {"desk": account}
    assert loaded.default_account == "desk"
    assert loaded.audio == config.AudioConfig("mic", "speaker", "bell", "silence")
    renamed = config.AccountConfig("office", "127.0.0.1:4569", "6001")
    save_account(renamed, path, previous_name="desk")
    again = config.load(path)
    assert list(again.accounts) == ["office"] and again.default_account == "office"
    assert again.accounts["office"].frame_ms == 20 and not again.accounts["office"].auto_answer


def test_level_meter_shows_the_chosen_input(qtbot: QtBot) -> None:
    backend = FakeBackend()  # a 1 kHz tone at -12 dBFS peak (-15 dBFS RMS) on every input
    page = AudioPage(config.AudioConfig(), backend)
    qtbot.addWidget(page)
    inputs = [page.input.itemText(i) for i in range(page.input.count())]
    assert inputs == [
        "default",
        "HDA Intel PCH: ALC257 Analog (hw:0,0)",
        "USB Headset: Audio (hw:1,0)",
        "pulse",
    ]
    outputs = [page.output.itemText(i) for i in range(page.output.count())]
    assert "HDA Intel PCH: HDMI 0 (hw:0,3)" in outputs and len(outputs) == 5
    page.input.setCurrentText("USB Headset: Audio (hw:1,0)")
    try:
        qtbot.mouseClick(page.test_button, Qt.MouseButton.LeftButton)
        assert page.card is not None and page.timer.isActive()
        (stream,) = backend.streams
        assert stream.kind == "input" and stream.kwargs["device"] == 1  # capture only

        def measure() -> float:
            for _ in range(8):  # 8 x 50 ms: past the resampler's start-up
                stream.run(5)  # five 10 ms blocks
                page.meter_tick()
            return page.level_dbfs

        assert measure() == pytest.approx(-15.05, abs=0.5)
        assert page.meter.value() == -15
        backend.amplitude = 820.0  # 20 dB quieter
        assert measure() == pytest.approx(-35.05, abs=0.5)
        assert page.meter.value() == -35
    finally:
        qtbot.mouseClick(page.test_button, Qt.MouseButton.LeftButton)
    assert page.card is None and stream.closed and not page.timer.isActive()
    assert page.meter.value() == METER_FLOOR_DBFS


def test_level_test_on_a_device_that_will_not_open_says_why(qtbot: QtBot) -> None:
    backend = FakeBackend()
    backend.open_errors.append(FileNotFoundError("Device unavailable"))
    page = AudioPage(config.AudioConfig(), backend)
    qtbot.addWidget(page)
    qtbot.mouseClick(page.test_button, Qt.MouseButton.LeftButton)
    assert page.card is None and not page.test_button.isChecked()
    assert "Device unavailable" in page.note.text()


def test_renaming_an_account_moves_it_and_its_secret(
    qtbot: QtBot, config_file: Path, memory_keyring: MemoryKeyring
) -> None:
    memory_keyring.passwords[("iaxphone", "office")] = "old-secret"
    window = dialog(qtbot, config_file, "office")
    retype(qtbot, window.account_page.name, "desk")
    qtbot.mouseClick(window.ok_button, Qt.MouseButton.LeftButton)
    assert window.result() == SettingsDialog.DialogCode.Accepted
    loaded = config.load(config_file)
    assert set(loaded.accounts) == {"desk", "home"} and loaded.default_account == "desk"
    assert loaded.accounts["desk"].trunk and loaded.accounts["desk"].user == "6001"
    assert memory_keyring.passwords[("iaxphone", "desk")] == "old-secret"


def test_voice_processing_stages_switch_per_account(
    qtbot: QtBot, config_file: Path, memory_keyring: MemoryKeyring
) -> None:
    window = dialog(qtbot, config_file, "home")
    calls = window.call_page
    boxes = (calls.echo_cancellation, calls.noise_suppression, calls.gain_control)
    assert all(box.isChecked() for box in boxes)  # on by default: a laptop on speakers
    calls.echo_cancellation.setChecked(False)
    calls.gain_control.setChecked(False)
    qtbot.mouseClick(window.ok_button, Qt.MouseButton.LeftButton)
    assert window.result() == SettingsDialog.DialogCode.Accepted
    saved = config.load(config_file)
    home, office = saved.account("home"), saved.account("office")
    assert home is not None and office is not None
    assert (home.echo_cancellation, home.noise_suppression, home.gain_control) == (
        False,
        True,
        False,
    )
    assert office.echo_cancellation and office.gain_control  # the other account is untouched
