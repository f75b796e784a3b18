"""The suite never sees the user's own config, history or keyring (see conftest.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import keyring
import pytest

from iaxphone import config
from tests.conftest import USER_FOLDERS, fingerprint


def test_config_and_data_folders_are_this_tests_own(own_folders: Path) -> None:
    assert config.config_path().is_relative_to(own_folders)
    assert config.data_dir().is_relative_to(own_folders)
    for folder in USER_FOLDERS:
        assert not config.config_path().is_relative_to(folder)


def test_there_is_no_keyring_to_write_to() -> None:
    with pytest.raises(keyring.errors.KeyringError):
        keyring.set_password("iaxphone", "isolation-test", "x")
    assert config.keyring_secret("isolation-test") is None


def test_a_started_iaxphone_writes_its_history_into_this_tests_folder(own_folders: Path) -> None:
    # An unreachable PBX: the call fails at once but still leaves a history row.
    result = subprocess.run(
        [sys.executable, "-m", "iaxphone", "call", "100", "--server", "no-such-host.invalid",
         "--user", "1", "--secret", "s"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert (own_folders / "data" / "iaxphone" / "history.sqlite3").exists()


def test_the_fingerprint_sees_a_changed_file(tmp_path: Path) -> None:
    (tmp_path / "history.sqlite3").write_bytes(b"one")
    before = fingerprint((tmp_path,))
    (tmp_path / "history.sqlite3").write_bytes(b"one more")
    assert fingerprint((tmp_path,)) != before
    assert fingerprint((tmp_path / "absent",)) == {}
