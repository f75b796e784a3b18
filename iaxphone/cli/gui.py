"""``iaxphone gui``: the handset window for the config file's account (or the options')."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

from iaxphone import config
from iaxphone.history import History
from iaxphone.media import devices
from iaxphone.phone import Phone, PhoneAccount

from . import exitcodes
from .account import add_account_options, identity
from .errors import CommandError
from .target import TargetError, parse_server

DEVICE_RATE = 48000  # the gate resamples to each call's codec rate


def add_gui_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    gui = commands.add_parser("gui", help="open the handset window")
    add_account_options(gui)
    gui.set_defaults(run=run_gui)


def display_available() -> bool:
    if os.environ.get("QT_QPA_PLATFORM"):
        return True
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def run_gui(args: argparse.Namespace) -> int:
    who = identity(args)
    if not who.server or not who.user or who.secret is None:
        raise CommandError(
            "no account: add one to the config file or give --server, --user and --secret",
            exitcodes.USAGE,
        )
    try:
        server = parse_server(who.server)
    except TargetError as exc:
        raise CommandError(str(exc), exitcodes.USAGE) from None
    if not display_available():
        raise CommandError(
            "no display (set DISPLAY, or use the iaxphone command)", exitcodes.FAILURE
        )
    try:  # Qt only when the window opens: the gui extra is optional and slow to import
        import qasync  # noqa: PLC0415
        from PyQt6.QtWidgets import QApplication  # noqa: PLC0415

        from iaxphone.gui.handset import HandsetWindow  # noqa: PLC0415
    except ImportError as exc:
        raise CommandError(
            f"the handset window needs the gui extra (pip install 'iaxphone[gui]'): {exc}",
            exitcodes.FAILURE,
        ) from None

    app = QApplication(sys.argv[:1])
    source, sink, note = devices.open_audio(None, None, DEVICE_RATE)
    account = PhoneAccount(
        who.account or "desk", server, who.user, who.secret, auto_answer=who.auto_answer
    )
    phone = Phone(
        [account],
        source=source,
        sink=sink,
        formats=who.formats,
        history=History(config.data_dir() / "history.sqlite3"),
        frame_ms=who.frame_ms,
    )

    async def main() -> None:
        closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def close(*_args: object) -> None:
            if not closed.done():
                closed.set_result(None)

        app.lastWindowClosed.connect(close)
        signal.signal(signal.SIGTERM, close)
        signal.signal(signal.SIGINT, close)
        async with phone:
            window = HandsetWindow(phone)
            if note:
                window.message.setText(note)
            window.show()
            await closed

    loop = qasync.QEventLoop(app)
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    return exitcodes.OK
