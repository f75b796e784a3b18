"""``iaxphone gui``: the handset window for the config file's account (or the options').

With no account, on a desktop, the account assistant opens first
(:mod:`iaxphone.gui.assistant`) and the window follows with what it saved.
``iaxphone gui LINK``, ``gui --dial LINK`` and ``iaxphone dial LINK`` dial an
``iax:`` link (:mod:`iaxphone.cli.links`): in the window already running
when there is one (:mod:`iaxphone.cli.handoff`), else in a new one.

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
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from iaxphone import config
from iaxphone.history import History
from iaxphone.media import devices
from iaxphone.media.session import MuteMode
from iaxphone.media.virtual import Sink
from iaxphone.pbx.ami import AmiError, PbxClient
from iaxphone.phone import Phone, PhoneAccount
from iaxphone.target import TargetError, parse_server

from . import exitcodes, handoff
from .account import Identity, accept_from, add_accept_option, add_account_options, identity
from .errors import CommandError
from .links import dial_string
from .pbx import add_ami_options, ami_client, configured_ami

if TYPE_CHECKING:
    from PyQt6.QtWidgets import QApplication

DEVICE_RATE = 48000  # the gate resamples to each call's codec rate


def add_gui_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    gui = commands.add_parser("gui", help="open the handset window")
    gui.add_argument(
        "link", nargs="?", metavar="IAX-LINK", help="dial this iax: link (what a clicked link runs)"
    )
    gui.add_argument("--dial", metavar="IAX-LINK|NUMBER", help="dial this once registered")
    add_account_options(gui)
    add_accept_option(gui)
    add_ami_options(gui)
    gui.set_defaults(run=run_gui)
    dial = commands.add_parser(
        "dial", help="dial an iax: link in the running window (else open one to dial it)"
    )
    dial.add_argument("link", metavar="IAX-LINK|NUMBER")
    add_account_options(dial)
    add_accept_option(dial)
    add_ami_options(dial)
    dial.set_defaults(run=run_gui, dial=None)


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


def wanted_dial(args: argparse.Namespace) -> str | None:
    """The link or number to dial (``gui LINK``, ``--dial``, ``dial LINK``), checked."""
    given = getattr(args, "dial", None) or getattr(args, "link", None)
    if not given:
        return None
    try:
        return dial_string(given)
    except TargetError as exc:
        raise CommandError(str(exc), exitcodes.USAGE) from None


def hand_over(wanted: str | None) -> bool:
    """Give the dial (or a "come to the front") to a running window: True if one took it."""
    reply = handoff.send("dial", wanted) if wanted else handoff.send("show")
    if reply is None:
        return False
    if reply.startswith("error"):
        raise CommandError(f"the running window: {reply[5:].strip()}", exitcodes.USAGE)
    said = f"dialling {wanted} in" if wanted else "brought to the front"
    print(f"iaxphone: {said} the window already running", file=sys.stderr)
    return True


def run_gui(args: argparse.Namespace) -> int:
    wanted = wanted_dial(args)
    if hand_over(wanted):
        return exitcodes.OK
    who = identity(args)
    first_run = not who.server or not who.user or who.secret is None
    if first_run and (args.server or args.user or args.secret or not display_available()):
        raise CommandError(
            "no account: add one to the config file or give --server, --user and --secret"
            " (on a desktop, `iaxphone gui` alone opens the account assistant)",
            exitcodes.USAGE,
        )
    if not first_run:
        server_address(who)
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
        from iaxphone.gui.icon import app_icon  # noqa: PLC0415
    except ImportError as exc:
        raise CommandError(
            f"the handset window needs the gui extra (pip install 'iaxphone[gui]'): {exc}",
            exitcodes.FAILURE,
        ) from None

    app = QApplication(sys.argv[:1])
    app.setApplicationName("iaxphone")
    app.setDesktopFileName("iaxphone")  # the desktop entry, for docks and window matching
    app.setWindowIcon(app_icon())
    app.setQuitOnLastWindowClosed(False)  # main() ends the loop, after the phone has hung up
    links = LinkInbox(wanted)

    async def main() -> None:
        inbox = handoff.HandoffServer(links.take)
        await inbox.start()
        try:
            await run_window(who if not first_run else None)
        finally:
            inbox.close()

    async def run_window(known: Identity | None) -> None:
        me = known
        if me is None:
            me = await first_run_assistant(args, links=links)
            if me is None:
                return  # cancelled: nothing saved, nothing to open
        phone, history, ring_sink, note = make_phone(args, me, server_address(me))
        closed = until_closed(app)
        linked, reason = await link_pbx(pbx, NO_AMI)
        try:
            async with phone:
                window = MainWindow(
                    phone,
                    pbx=linked,
                    ring_sink=ring_sink,
                    history=history,
                    account_name=me.account,
                    no_ami_reason=reason,
                )
                if note:
                    window.handset.model.say(note)  # kept on the display until news

                def device_note(line: str) -> None:  # the display and the status bar
                    window.handset.model.say(line)
                    window.say(line)

                devices.on_note(phone.gate.sink, device_note)  # a headset unplugged, and back
                window.show()
                links.deliver(window.dial, window.bring_to_front)
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


def server_address(who: Identity) -> tuple[str, int]:
    try:
        return parse_server(who.server or "")
    except TargetError as exc:
        raise CommandError(str(exc), exitcodes.USAGE) from None


async def first_run_assistant(
    args: argparse.Namespace, backend: Any = None, links: LinkInbox | None = None
) -> Identity | None:
    """Open the account assistant; the identity it saved, or None if cancelled.

    ``backend``: a sounddevice-shaped module for its sound page (tests pass a fake);
    ``links``: a second start's "show" raises the assistant meanwhile."""
    from iaxphone.gui.assistant import AccountAssistant  # noqa: PLC0415 (Qt: only here)

    try:
        prefill = config.load().account(args.account)
    except config.ConfigError:
        prefill = None
    assistant = AccountAssistant(prefill=prefill, backend=backend)
    done = assistant.result_future()
    before = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGINT)}
    for number in before:  # SIGTERM or Ctrl-C while it shows: as Cancel
        signal.signal(number, lambda *_: assistant.reject())
    if links is not None:
        links.show = assistant.raise_
    try:
        assistant.show()
        result = await done
    finally:
        if links is not None:
            links.show = None
        for number, handler in before.items():
            signal.signal(number, handler)
        assistant.deleteLater()
    if result is None:
        return None
    args.account = result.account.name
    return replace(identity(args), secret=result.secret)


class LinkInbox:
    """Links to dial and "come to the front" requests, kept until the window exists."""

    def __init__(self, first: str | None) -> None:
        self.pending: list[str] = [first] if first else []
        self.dial: Callable[[str], None] | None = None
        self.show: Callable[[], None] | None = None

    def take(self, command: str, argument: str) -> str:
        """The handoff server's handler: one reply line."""
        if command == "show":
            if self.show is not None:
                self.show()
            return "ok"
        if command != "dial":
            return f"error unknown request {command!r}"
        try:
            number = dial_string(argument)
        except TargetError as exc:
            return f"error {exc}"
        if self.dial is None:
            self.pending.append(number)
        else:
            if self.show is not None:
                self.show()
            self.dial(number)
        return "ok"

    def deliver(self, dial: Callable[[str], None], show: Callable[[], None]) -> None:
        self.dial, self.show = dial, show
        for number in self.pending:
            dial(number)
        self.pending.clear()
