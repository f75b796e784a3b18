"""``iaxphone gui``: the handset window for the config file's account (or the options').

With ``--ami`` (or ``--ami-user``, ``--ami-tls``) the window also logs in to
the PBX's manager interface, as ``iaxphone pbx`` does, for the contacts'
lamps and presence; without, or when the PBX refuses, the window runs with
those features disabled and says why.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from typing import TYPE_CHECKING

from iaxphone import config
from iaxphone.history import History
from iaxphone.media import devices
from iaxphone.media.session import MuteMode
from iaxphone.media.virtual import Sink
from iaxphone.pbx.ami import AmiError, PbxClient
from iaxphone.phone import Phone, PhoneAccount
from iaxphone.target import TargetError, parse_server

from . import exitcodes
from .account import Identity, accept_from, add_accept_option, add_account_options, identity
from .errors import CommandError
from .pbx import add_ami_options, ami_client, configured_ami

if TYPE_CHECKING:
    from PyQt6.QtWidgets import QApplication

DEVICE_RATE = 48000  # the gate resamples to each call's codec rate


def add_gui_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    gui = commands.add_parser("gui", help="open the handset window")
    add_account_options(gui)
    add_accept_option(gui)
    add_ami_options(gui)
    gui.set_defaults(run=run_gui)


def ami_wanted(args: argparse.Namespace, configured: config.AmiConfig | None) -> bool:
    """AMI options given, or an [ami] table in the config file."""
    return bool(args.ami or args.ami_user or args.ami_tls or configured is not None)


async def link_pbx(pbx: PbxClient | None, no_ami: str) -> tuple[PbxClient | None, str]:
    """Log in to AMI for the window: (the client, "") or (None, why there are no lamps)."""
    if pbx is None:
        return None, no_ami
    try:
        await pbx.connect()
    except AmiError as exc:
        return None, f"no presence: {exc}"
    return pbx, ""


def display_available() -> bool:
    if os.environ.get("QT_QPA_PLATFORM"):
        return True
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def make_phone(
    args: argparse.Namespace, who: Identity, server: tuple[str, int]
) -> tuple[Phone, History, Sink | None, str]:
    """The account's Phone on the audio devices, with the history: (phone, history,
    the ringer's sink, what to say about the devices).  Shared with ``iaxphone console``."""
    audio = who.audio
    wanted_input, wanted_output = audio.devices()
    source, sink, note = devices.open_audio(wanted_input, wanted_output, DEVICE_RATE)
    ring_sink, ring_note = devices.open_ringer(audio.ringing, wanted_output, DEVICE_RATE)
    note = "; ".join(part for part in (note, ring_note) if part)
    account = PhoneAccount(
        who.account or "desk",
        server,
        who.user or "",
        who.secret or "",
        auto_answer=who.auto_answer,
        accept_calls_from=accept_from(args, who),
        intercom=who.intercom,
        intercom_muted=who.intercom_muted,
        voice=who.voice,
        encryption=who.encryption,
        trunk=who.trunk,
        rsa_private_key=who.rsa_private_key,
    )
    history = History(config.data_dir() / "history.sqlite3")
    phone = Phone(
        [account],
        source=source,
        sink=sink,
        formats=who.formats,
        history=history,
        frame_ms=who.frame_ms,
        mute_mode=MuteMode(audio.mute),
        endpoint_config=who.endpoint_config(),
    )
    return phone, history, ring_sink, note


def until_closed(app: QApplication) -> asyncio.Future[None]:
    """Done when the last window closes, or on SIGTERM or Ctrl-C (the window and the console)."""
    closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def close(*_args: object) -> None:
        if not closed.done():
            closed.set_result(None)

    app.lastWindowClosed.connect(close)
    signal.signal(signal.SIGTERM, close)
    signal.signal(signal.SIGINT, close)
    return closed


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
    configured = configured_ami()
    # Bad AMI options are a usage error, before any window opens.
    pbx = ami_client(args, configured) if ami_wanted(args, configured) else None
    if not display_available():
        raise CommandError(
            "no display (set DISPLAY, or use the iaxphone command)", exitcodes.FAILURE
        )
    try:  # Qt only when the window opens: the gui extra is optional and slow to import
        import qasync  # noqa: PLC0415
        from PyQt6 import sip  # noqa: PLC0415
        from PyQt6.QtWidgets import QApplication  # noqa: PLC0415

        from iaxphone.gui.app import MainWindow  # noqa: PLC0415
        from iaxphone.gui.directory import NO_AMI  # noqa: PLC0415
    except ImportError as exc:
        raise CommandError(
            f"the handset window needs the gui extra (pip install 'iaxphone[gui]'): {exc}",
            exitcodes.FAILURE,
        ) from None

    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)  # main() ends the loop, after the phone has hung up
    phone, history, ring_sink, note = make_phone(args, who, server)

    async def main() -> None:
        closed = until_closed(app)
        linked, reason = await link_pbx(pbx, NO_AMI)
        try:
            async with phone:
                window = MainWindow(
                    phone,
                    pbx=linked,
                    ring_sink=ring_sink,
                    history=history,
                    account_name=who.account,
                    no_ami_reason=reason,
                )
                if note:
                    window.handset.model.say(note)  # kept on the display until news

                def device_note(line: str) -> None:  # the display and the status bar
                    window.handset.model.say(line)
                    window.say(line)

                devices.on_note(phone.gate.sink, device_note)  # a headset unplugged, and back
                window.show()
                await closed
                if pbx is not None:
                    pbx.close()  # no PBX events for a window on its way out
            # The phone has hung up (its last events reached the window): delete the
            # window while the application still exists; left to the garbage collector
            # after it, Qt crashes on the way out.
            sip.delete(window)
        finally:
            if pbx is not None:
                pbx.close()

    loop = qasync.QEventLoop(app)
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    return exitcodes.OK
