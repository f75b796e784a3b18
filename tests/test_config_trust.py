"""accept_calls_from, intercom and intercom_muted: in config.toml, the Settings dialog and
the command line; host names looked up as the endpoint needs them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PyQt6.QtCore import Qt
from pytestqt.qtbot import QtBot

from iaxphone import config
from iaxphone.aio.callers import caller_policy
from iaxphone.cli import exitcodes
from tests.test_config import write
from tests.test_gui_settings import MemoryKeyring, config_file, dialog, memory_keyring, retype

__all__ = ["config_file", "memory_keyring"]  # fixtures, used by name

ACCOUNT = '[accounts.office]\nserver = "127.0.0.1"\nuser = "6001"\n'


def test_by_default_an_account_takes_calls_from_its_pbx_and_allows_muted_intercom(
    tmp_path: Path,
) -> None:
    office = config.load(write(tmp_path, ACCOUNT)).accounts["office"]
    assert office.accept_calls_from == ("server",)
    assert office.intercom and office.intercom_muted


@pytest.mark.parametrize(
    ("value", "entries"),
    [
        ('"any"', ("any",)),
        ('"Server"', ("server",)),
        ('["server", "192.0.2.0/24", "pbx2.example.com", "2001:db8::7"]',
         ("server", "192.0.2.0/24", "pbx2.example.com", "2001:db8::7")),
    ],
)  # fmt: skip
def test_accept_calls_from_takes_a_word_or_a_list(
    tmp_path: Path, value: str, entries: tuple[str, ...]
) -> None:
    text = ACCOUNT + f"accept_calls_from = {value}\nintercom = false\nintercom_muted = false\n"
    office = config.load(write(tmp_path, text)).accounts["office"]
    assert office.accept_calls_from == entries
    assert not office.intercom and not office.intercom_muted


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"10.0.0.300"', "line 4: accounts.office.accept_calls_from: '10.0.0.300' is not an IP"),
        ('"bad host!"', "'bad host!' is not a host name"),
        ("[]", "must name at least one source"),
        ("[3]", "3 is not a host, a network"),
        ("7", "accept_calls_from: must be a str or a list"),
    ],
)
def test_a_bad_accept_calls_from_is_one_line_naming_it(
    tmp_path: Path, value: str, message: str
) -> None:
    path = write(tmp_path, ACCOUNT + f"accept_calls_from = {value}\n")
    with pytest.raises(config.ConfigError) as failure:
        config.load(path)
    assert message in str(failure.value) and "\n" not in str(failure.value)


def test_names_are_looked_up_and_server_means_the_pbx() -> None:
    policy = asyncio.run(caller_policy(("server", "10.9.0.0/16"), "localhost"))
    assert policy.admits("127.0.0.1") and policy.admits("10.9.3.4")
    assert not policy.admits("127.0.0.2") and not policy.anyone


def test_a_name_that_does_not_resolve_admits_nobody() -> None:
    policy = asyncio.run(caller_policy(("no-such-host.invalid",), None))
    assert policy.networks == () and not policy.admits("127.0.0.1")


def test_any_admits_everyone() -> None:
    assert asyncio.run(caller_policy(("any",), "127.0.0.1")).admits("198.51.100.4")


def test_a_bad_accept_calls_from_option_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "iaxphone.cli", "listen", "--server", "127.0.0.1:9",
         "--user", "6001", "--secret", "x", "--accept-calls-from", "server,10.0.0.0/33"],
        capture_output=True, text=True, timeout=30,
        env={"IAXPHONE_CONFIG": os.devnull, "IAXPHONE_DATA_DIR": str(tmp_path),
             "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )  # fmt: skip
    assert result.returncode == exitcodes.USAGE
    assert result.stderr.strip().splitlines() == [
        "iaxphone: --accept-calls-from: '10.0.0.0/33' is not an IP address or network"
    ]


def test_the_settings_dialog_edits_who_may_call(
    qtbot: QtBot, config_file: Path, memory_keyring: MemoryKeyring
) -> None:
    window = dialog(qtbot, config_file)
    calls = window.call_page
    assert calls.accept_from.text() == "server"
    assert calls.intercom.isChecked() and calls.intercom_muted.isChecked()
    retype(qtbot, calls.accept_from, "server, 10.0.0.0/33")
    assert not window.ok_button.isEnabled()
    assert "accept calls from: '10.0.0.0/33'" in window.message.text()
    retype(qtbot, calls.accept_from, "server, 192.0.2.0/24")
    assert window.ok_button.isEnabled()
    calls.intercom.setChecked(False)
    assert not calls.intercom_muted.isEnabled()
    qtbot.mouseClick(window.ok_button, Qt.MouseButton.LeftButton)
    office = config.load(config_file).accounts["office"]
    assert office.accept_calls_from == ("server", "192.0.2.0/24")
    assert not office.intercom and office.intercom_muted
    again = dialog(qtbot, config_file)
    assert again.call_page.accept_from.text() == "server, 192.0.2.0/24"
    assert not again.call_page.intercom.isChecked()
