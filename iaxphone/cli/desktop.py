"""``iaxphone install-desktop [--uninstall]``: the menu entry, the icon and the iax: handler.

The wheel ships ``iaxphone.desktop`` and the icon (an SVG and PNG sizes,
:mod:`iaxphone.desktop_files`).  Installing them goes through the
freedesktop.org tools of xdg-utils, in the user's own folders (``--mode
user``, even as root), the way every desktop expects:

* ``xdg-icon-resource`` installs each PNG size into the hicolor theme (the
  SVG is copied beside them as the scalable size, which the tool does not
  take);
* ``xdg-desktop-menu`` installs the entry, its ``Exec`` pointing at this
  very ``iaxphone`` (a pipx or virtualenv path need not be on the desktop's
  PATH);
* ``xdg-mime default`` makes it the handler of ``x-scheme-handler/iax``, so
  a clicked ``iax:`` link runs ``iaxphone gui LINK`` (which hands the link to
  the running window, if there is one: :mod:`iaxphone.cli.handoff`).

``--uninstall`` undoes all three (and drops the iax: association from the
user's ``mimeapps.list``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from iaxphone.desktop_files import (
    DESKTOP_FILE,
    ICON_NAME,
    ICON_SIZES,
    URL_SCHEME,
    desktop_entry,
    icon_png,
    icon_svg,
)

from . import exitcodes
from .errors import CommandError

TOOLS = ("xdg-desktop-menu", "xdg-icon-resource", "xdg-mime")
TOOL_TIMEOUT_S = 60


def add_desktop_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    desktop = commands.add_parser(
        "install-desktop",
        help="add iaxphone to the desktop's menu and make it open iax: links",
    )
    desktop.add_argument(
        "--uninstall", action="store_true", help="remove the menu entry, icon and iax: handler"
    )
    desktop.set_defaults(run=run_install_desktop)


def launcher() -> list[str]:
    """The command that runs this iaxphone: its script, else ``python -m iaxphone``."""
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if script is not None and script.name == "iaxphone" and script.is_file():
        return [str(script.absolute())]  # a pipx link stays a link: it survives upgrades
    return [sys.executable, "-m", "iaxphone"]


def exec_quote(word: str) -> str:
    """One argument of a desktop entry's Exec key (the Desktop Entry spec's quoting)."""
    if word and not any(c in word for c in " \t\n\"'\\><~|&;$*?#()`"):
        return word
    escaped = "".join(f"\\{c}" if c in '"`$\\' else c for c in word)
    return f'"{escaped}"'.replace("\\", "\\\\")  # the file's string escape on top


def entry_text(command: list[str]) -> str:
    """The packaged entry with Exec and TryExec pointing at ``command``."""
    lines = []
    for line in desktop_entry().read_text(encoding="utf-8").splitlines():
        if line.startswith("Exec="):
            lines.append("Exec=" + " ".join(exec_quote(word) for word in command) + " gui %u")
        elif line.startswith("TryExec="):
            lines.append(f"TryExec={command[0]}")
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


def _run(*argv: str, check: bool = True) -> str:
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CommandError(f"{argv[0]} failed: {exc}", exitcodes.FAILURE) from None
    if check and done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        why = said[0] if said else f"exit {done.returncode}"
        raise CommandError(f"{argv[0]} failed: {why}", exitcodes.FAILURE)
    return done.stdout.strip()


def _need_tools() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        raise CommandError(
            f"install-desktop needs xdg-utils ({', '.join(missing)} not found):"
            " sudo apt install xdg-utils",
            exitcodes.FAILURE,
        )


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def scalable_icon() -> Path:
    return data_home() / "icons" / "hicolor" / "scalable" / "apps" / f"{ICON_NAME}.svg"


def install() -> str:
    """Install the icon, the entry and the handler; what to tell the user."""
    _need_tools()
    command = launcher()
    for size in ICON_SIZES:
        _run("xdg-icon-resource", "install", "--mode", "user", "--noupdate", "--novendor",
             "--context", "apps", "--size", str(size), str(icon_png(size)), ICON_NAME)  # fmt: skip
    scalable_icon().parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(icon_svg(), scalable_icon())
    _run("xdg-icon-resource", "forceupdate", "--mode", "user", check=False)
    with tempfile.TemporaryDirectory(prefix="iaxphone-desktop-") as folder:
        entry = Path(folder) / DESKTOP_FILE
        entry.write_text(entry_text(command), encoding="utf-8")
        _run("xdg-desktop-menu", "install", "--mode", "user", "--novendor", str(entry))
    _run("xdg-mime", "default", DESKTOP_FILE, URL_SCHEME)
    handler = _run("xdg-mime", "query", "default", URL_SCHEME, check=False)
    said = [
        f"installed the menu entry {DESKTOP_FILE} (runs {' '.join(command)} gui)",
        f"installed the icon ({len(ICON_SIZES)} sizes and the SVG)",
    ]
    if handler == DESKTOP_FILE:
        said.append("iax: links now open in iaxphone")
    else:
        said.append(
            f"asked for iaxphone to open iax: links, but the desktop still names"
            f" {handler or 'no handler'}: choose iaxphone in its default-applications settings"
        )
    return "\n".join(said)


def _forget_handler(mimeapps: Path) -> None:
    """Drop ``x-scheme-handler/iax=iaxphone.desktop`` lines from a mimeapps.list."""
    try:
        lines = mimeapps.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return
    kept = []
    for line in lines:
        key, sep, value = line.partition("=")
        if sep and key.strip() == URL_SCHEME:
            others = [v for v in value.split(";") if v.strip() and v.strip() != DESKTOP_FILE]
            if others:
                kept.append(f"{key}={';'.join(others)};")
            continue
        kept.append(line)
    mimeapps.write_text("\n".join(kept) + "\n", encoding="utf-8")


def uninstall() -> str:
    _need_tools()
    _run("xdg-desktop-menu", "uninstall", "--mode", "user", "--novendor", DESKTOP_FILE)
    for size in ICON_SIZES:
        _run("xdg-icon-resource", "uninstall", "--mode", "user", "--noupdate",
             "--context", "apps", "--size", str(size), ICON_NAME, check=False)  # fmt: skip
    scalable_icon().unlink(missing_ok=True)
    _run("xdg-icon-resource", "forceupdate", "--mode", "user", check=False)
    applications = data_home() / "applications"
    for mimeapps in (config_home() / "mimeapps.list", applications / "mimeapps.list",
                     applications / "defaults.list"):  # fmt: skip
        _forget_handler(mimeapps)
    return "removed the menu entry, the icon and the iax: handler"


def run_install_desktop(args: argparse.Namespace) -> int:
    print(uninstall() if args.uninstall else install())
    return exitcodes.OK
