"""The desktop side: the wheel with pipx, install-desktop, and a clicked iax: link.

Every test has its own XDG folders (conftest's ``own_folders``): the entry,
icons and mimeapps.list land there, never in the user's desktop.
"""

from __future__ import annotations

import configparser
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from iaxphone import config
from iaxphone.cli.desktop import entry_text, exec_quote
from iaxphone.desktop_files import ICON_SIZES, desktop_entry, icon_png, icon_svg
from iaxphone.history import CallRecord, History
from tests.pbx import Pbx
from tests.require import unavailable
from tests.test_gui_x11 import x_display  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).parent / "iaxphone"  # the virtualenv's console script


def iaxphone_command() -> list[str]:
    return [str(SCRIPT)] if SCRIPT.is_file() else [sys.executable, "-m", "iaxphone"]


def need(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            unavailable(f"{tool} is not installed (Debian package xdg-utils: see the Makefile)")


def run(*argv: str, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
    assert done.returncode == 0, f"{argv}: {done.stderr}"
    return done.stdout.strip()


def read_entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def pixels(image: Any) -> list[int]:
    """Every channel of every pixel of a QImage, as ARGB32."""
    from PyQt6.QtGui import QImage  # noqa: PLC0415

    argb = image.convertToFormat(QImage.Format.Format_ARGB32)
    data = argb.constBits()
    data.setsize(argb.sizeInBytes())
    return list(bytes(data))


def test_the_packaged_entry_and_icons_are_complete(qapp: Any) -> None:
    entry = read_entry(desktop_entry())
    assert entry["Type"] == "Application"
    assert entry["Exec"] == "iaxphone gui %u"
    assert entry["MimeType"] == "x-scheme-handler/iax;"
    assert entry["Icon"] == "iaxphone"
    assert "Telephony" in entry["Categories"].split(";")
    from PyQt6.QtGui import QImage  # noqa: PLC0415

    from iaxphone.gui.icon import render  # noqa: PLC0415

    for size in ICON_SIZES:
        image = QImage(str(icon_png(size)))
        assert (image.width(), image.height()) == (size, size)
        assert image.hasAlphaChannel()
        # rendered from the SVG as it is now (python -m iaxphone.gui.icon after an edit)
        assert pixels(image) == pytest.approx(pixels(render(icon_svg(), size)), abs=3)


def test_the_written_entry_passes_the_freedesktop_validator(tmp_path: Path) -> None:
    if shutil.which("desktop-file-validate") is None:
        unavailable("desktop-file-validate is not installed (Debian package desktop-file-utils)")
    for command in (["/usr/bin/iaxphone"], ["/home/a b/.venv/bin/python", "-m", "iaxphone"]):
        entry = tmp_path / "iaxphone.desktop"
        entry.write_text(entry_text(command), encoding="utf-8")
        done = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True)
        assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


def test_exec_points_at_this_iaxphone_and_quotes_what_needs_it() -> None:
    assert exec_quote("/usr/bin/iaxphone") == "/usr/bin/iaxphone"
    assert exec_quote("/home/a b/iaxphone") == '"/home/a b/iaxphone"'
    text = entry_text(["/opt/my phone/bin/iaxphone"])
    assert 'Exec="/opt/my phone/bin/iaxphone" gui %u' in text
    assert "TryExec=/opt/my phone/bin/iaxphone" in text


def test_install_desktop_then_uninstall(own_folders: Path) -> None:
    need("xdg-desktop-menu", "xdg-icon-resource", "xdg-mime")
    said = run(*iaxphone_command(), "install-desktop")
    assert "iax: links now open in iaxphone" in said
    data, settings = own_folders / "data", own_folders / "config"
    entry = data / "applications" / "iaxphone.desktop"
    assert read_entry(entry)["Exec"].startswith(iaxphone_command()[0])
    for size in ICON_SIZES:
        assert (data / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "iaxphone.png").is_file()
    assert (data / "icons" / "hicolor" / "scalable" / "apps" / "iaxphone.svg").is_file()
    assert run("xdg-mime", "query", "default", "x-scheme-handler/iax") == "iaxphone.desktop"

    said = run(*iaxphone_command(), "install-desktop", "--uninstall")
    assert said.startswith("removed")
    assert not entry.exists()
    assert not list((data / "icons").rglob("iaxphone.*"))
    assert run("xdg-mime", "query", "default", "x-scheme-handler/iax") == ""
    assert "iaxphone" not in (settings / "mimeapps.list").read_text()


def test_install_desktop_without_xdg_utils_says_what_to_install(tmp_path: Path) -> None:
    env = dict(os.environ, PATH=str(tmp_path))  # no xdg-* here
    done = subprocess.run(
        [sys.executable, "-m", "iaxphone", "install-desktop"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "iaxphone: install-desktop needs xdg-utils (xdg-desktop-menu, xdg-icon-resource,"
        " xdg-mime not found): sudo apt install xdg-utils"
    ]


def test_the_wheel_installs_with_pipx_and_runs(tmp_path: Path, own_folders: Path) -> None:
    """``python -m build``, then ``pipx install 'WHEEL[gui]'`` into folders of this test."""
    out = tmp_path / "dist"
    run(sys.executable, "-m", "build", "--outdir", str(out), str(ROOT), timeout=300)
    wheels = list(out.glob("iaxphone-*.whl"))
    assert len(wheels) == 1 and list(out.glob("iaxphone-*.tar.gz"))
    names = set(zipfile.ZipFile(wheels[0]).namelist())
    assert "iaxphone/data/iaxphone.desktop" in names
    assert "iaxphone/data/icons/iaxphone.svg" in names
    assert {f"iaxphone/data/icons/{s}x{s}/iaxphone.png" for s in ICON_SIZES} <= names

    pipx = tmp_path / "pipx"
    env = dict(os.environ, PIPX_HOME=str(pipx / "home"), PIPX_BIN_DIR=str(pipx / "bin"),
               PIPX_MAN_DIR=str(pipx / "man"))  # fmt: skip
    run(sys.executable, "-m", "pipx", "install", f"{wheels[0]}[gui]", env=env, timeout=600)
    installed = pipx / "bin" / "iaxphone"
    assert installed.is_file()
    clean = {"PATH": f"{pipx / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path / "home")}
    clean.update({k: os.environ[k] for k in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME")})
    assert run("iaxphone", "--version", env=clean).startswith("iaxphone ")
    # The gui extra came along: the window's modules import in pipx's environment.
    python = pipx / "home" / "venvs" / "iaxphone" / "bin" / "python"
    run(str(python), "-c", "import iaxphone.gui.assistant, iaxphone.gui.app", env=clean)
    if shutil.which("xdg-mime"):
        run("iaxphone", "install-desktop", env=clean)
        entry = own_folders / "data" / "applications" / "iaxphone.desktop"
        assert read_entry(entry)["Exec"] == f"{installed} gui %u"


# ---------------------------------------------------------------- a clicked link, for real


def calls_to(number: str) -> Callable[[], list[CallRecord]]:
    def answered() -> list[CallRecord]:
        path = config.data_dir() / "history.sqlite3"
        if not path.exists():
            return []
        history = History(path)
        try:
            return [c for c in history.recent(20) if c.number == number and c.answered]
        finally:
            history.close()

    return answered


def wait_for(found: Callable[[], list[CallRecord]], count: int, timeout: float = 40) -> None:
    """Until ``count`` answered calls are in the history (the window writes them)."""
    deadline = time.monotonic() + timeout
    while len(found()) < count:
        assert time.monotonic() < deadline, f"only {len(found())} answered calls after {timeout} s"
        time.sleep(0.2)


def test_a_clicked_iax_link_dials_through_the_desktop_handler(
    pbx: Pbx,
    own_folders: Path,
    x_display: str,  # noqa: F811 (the fixture imported above)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    need("xdg-desktop-menu", "xdg-icon-resource", "xdg-mime", "xdg-open")
    user, secret = pbx.extension(6004)
    settings = own_folders / "config" / "iaxphone" / "config.toml"
    settings.parent.mkdir(parents=True)
    settings.write_text(
        f'[accounts.desk]\nserver = "{pbx.host}:{pbx.iax_port}"\nuser = "{user}"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("IAXPHONE_SECRET", secret)  # the suite has no keyring
    monkeypatch.setenv("DISPLAY", x_display)
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    run(*iaxphone_command(), "install-desktop")
    assert run("xdg-mime", "query", "default", "x-scheme-handler/iax") == "iaxphone.desktop"

    # xdg-open runs the entry's Exec (iaxphone gui iax:600) and waits for it.
    clicked = subprocess.Popen(
        ["xdg-open", "iax:600"], start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    socket = own_folders / "state" / "iaxphone" / "window.sock"
    try:
        wait_for(calls_to("600"), 1)  # registered, dialled the echo test, answered
        assert socket.exists()
        # A second click while the window runs: handed to it, and xdg-open returns at once.
        again = subprocess.run(
            ["xdg-open", f"iax:600@{pbx.host}:{pbx.iax_port}"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert again.returncode == 0, again.stderr
        assert "already running" in again.stderr
        wait_for(calls_to("600"), 2)
        # And from a shell: iaxphone dial hands its link over the same way.
        shell = subprocess.run(
            [*iaxphone_command(), "dial", "iax:600"], capture_output=True, text=True, timeout=60
        )
        assert shell.returncode == 0, shell.stderr
        assert shell.stderr.strip() == "iaxphone: dialling 600 in the window already running"
        wait_for(calls_to("600"), 3)
    finally:
        os.killpg(clicked.pid, signal.SIGTERM)
        try:
            _out, err = clicked.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(clicked.pid, signal.SIGKILL)
            raise
    deadline = time.monotonic() + 15
    while socket.exists():  # the window hangs up and stops listening on its way out
        assert time.monotonic() < deadline, "the window did not close"
        time.sleep(0.1)
    assert b"Traceback" not in err
