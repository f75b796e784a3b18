"""Shared fixtures: the bundled Asterisk PBX (session scope).

Integration tests take the `pbx` fixture and carry the `pbx` marker.  The
fixture runs `docker/pbx up` once per test session and `docker/pbx down` at
the end (unless the PBX was already running before the tests: then it is
left as it was).  Under CI (CI=true) a PBX that cannot start fails the run
with the reason; elsewhere the pbx tests are skipped with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backends.fail
import platformdirs
import pytest

from tests.pbx import Pbx, run_pbx
from tests.soundserver import SoundServer, SoundServerError

# No screen on CI machines: Qt draws offscreen (set before pytest-qt creates the app).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from tests.require import in_ci

# -- no test touches the user's own config, history or keyring ------------------------
#
# Every test gets its own config and data folders (XDG_CONFIG_HOME, XDG_DATA_HOME,
# XDG_STATE_HOME, inherited by the iaxphone processes the tests start), and no
# keyring at all (a test that needs one installs its own in-memory keyring).  The
# user's real iaxphone folders are fingerprinted when the suite starts and checked
# when it ends: any change fails the run.

_OVERRIDES = ("IAXPHONE_CONFIG", "IAXPHONE_DATA_DIR", "IAXPHONE_SECRET", "IAXPHONE_AMI_USER",
              "IAXPHONE_AMI_SECRET", "IAXPHONE_AMI", "IAXPHONE_ACCOUNT")  # fmt: skip
USER_FOLDERS = (
    Path(platformdirs.user_config_dir("iaxphone")),
    Path(platformdirs.user_data_dir("iaxphone")),
    Path(platformdirs.user_state_dir("iaxphone")),
)


def fingerprint(folders: tuple[Path, ...]) -> dict[str, tuple[int, int]]:
    """Every file under ``folders``: path -> (size, modification time)."""
    seen: dict[str, tuple[int, int]] = {}
    for folder in folders:
        if folder.is_dir():
            for path in folder.rglob("*"):
                if path.is_file():
                    stat = path.stat()
                    seen[str(path)] = (stat.st_size, stat.st_mtime_ns)
    return seen


_USER_BEFORE = fingerprint(USER_FOLDERS)
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
keyring.set_keyring(keyring.backends.fail.Keyring())


@pytest.fixture(autouse=True)
def own_folders(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own config, data and state folders (the user's are never seen)."""
    home = tmp_path_factory.mktemp("user")
    for variable, name in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"),
                           ("XDG_STATE_HOME", "state")):  # fmt: skip
        (home / name).mkdir()
        monkeypatch.setenv(variable, str(home / name))
    for variable in _OVERRIDES:
        monkeypatch.delenv(variable, raising=False)
    return home


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    changed = sorted(set(fingerprint(USER_FOLDERS).items()) ^ set(_USER_BEFORE.items()))
    if changed:
        files = sorted({path for path, _ in changed})
        print(f"\ntests wrote into the user's own iaxphone folders: {', '.join(files)}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def pbx() -> Iterator[Pbx]:
    started = run_pbx("up")
    if started.returncode != 0:
        reason = (started.stderr or started.stdout).strip() or f"exit {started.returncode}"
        message = f"bundled PBX could not start: {reason}"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    already_running = "already running" in started.stdout
    try:
        yield Pbx()
    finally:
        if not already_running:
            run_pbx("down")


@pytest.fixture(scope="session")
def sound_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoundServer]:
    """A PulseAudio daemon of this test session, with null sinks (see tests/soundserver.py).

    Under CI a server that cannot start fails the test; elsewhere it is skipped.
    """
    server = SoundServer(tmp_path_factory.mktemp("pulse"))
    try:
        server.start()
    except (SoundServerError, OSError) as exc:
        message = f"sound server could not start: {exc}"
        if in_ci():
            pytest.fail(f"{message} (CI installs pulseaudio: see the Makefile)", pytrace=False)
        pytest.skip(message)
    try:
        yield server
    finally:
        server.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses the PBX carries the pbx marker (select with -m pbx)."""
    for item in items:
        if "pbx" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.pbx)
