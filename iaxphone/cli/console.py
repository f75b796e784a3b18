"""``iaxphone console``: the operator console window over the PBX's manager interface.

It logs in to AMI with the same options and ``[ami]`` table as ``iaxphone
gui`` and ``iaxphone pbx``; without AMI it says why and exits 2.  The
operator's extension (``--operator``, else the config account's user)
is the phone the console rings to take calls, pick up and supervise.
With an account (the config file's, or ``--server``/``--user``/``--secret``
as for ``iaxphone gui``) the console runs that account's softphone - the
same :class:`~iaxphone.phone.Phone` and handset model as the handset
window - in the bar at the bottom, and writes its calls to the history;
without one the console is a panel: it watches and moves calls, but the
keys that need a phone of its own are greyed out.  ``--scheme light|dark``
picks the colour scheme (default: the desktop's).

Exit codes: 0 closed; 1 no display or no gui extra; 2 bad options or no
AMI; 3 AMI login refused; 6 AMI unreachable.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import signal
import sys

from iaxphone import config
from iaxphone.pbx.ami import AmiError, AmiLoginError, PbxClient
from iaxphone.target import TargetError, parse_server

from . import exitcodes
from .account import accept_from, add_accept_option, add_account_options, identity
from .errors import CommandError
from .gui import ami_wanted, display_available
from .pbx import add_ami_options, ami_client, configured_ami

NO_AMI = (
    "the console needs AMI: give --ami-user and --ami-secret (and --ami HOST[:PORT]), "
    "or add an [ami] table to the config file"
)


def add_console_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    console = commands.add_parser("console", help="open the operator console (needs AMI)")
    add_account_options(console)
    add_accept_option(console)
    add_ami_options(console)
    console.add_argument(
        "--scheme",
        choices=("auto", "light", "dark"),
        default="auto",
        help="colour scheme (default: the desktop's)",
    )
    console.add_argument(
        "--operator", metavar="EXT", help="the operator's extension (default: the account's user)"
    )
    console.add_argument(
        "--group",
        action="append",
        default=[],
        metavar="NAME=EXT,EXT-EXT",
        help='a department of tiles, e.g. "Sales=6001-6003,6007" (repeatable)',
    )
    console.set_defaults(run=run_console)


def parse_groups(specs: list[str]) -> dict[str, list[str]]:
    """'Sales=6001-6003,6007' -> {'Sales': ['6001', '6002', '6003', '6007']}."""
    groups: dict[str, list[str]] = {}
    for spec in specs:
        name, _, numbers = spec.partition("=")
        if not name.strip() or not numbers.strip():
            raise CommandError(f"--group {spec!r}: use NAME=EXT,EXT-EXT", exitcodes.USAGE)
        members: list[str] = []
        for part in numbers.split(","):
            span = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
            if span is None:
                raise CommandError(
                    f"--group {spec!r}: {part.strip()!r} is not a number or range", exitcodes.USAGE
                )
            first, last = span.group(1), span.group(2) or span.group(1)
            if int(last) < int(first) or int(last) - int(first) > 1000:
                raise CommandError(f"--group {spec!r}: bad range {part.strip()!r}", exitcodes.USAGE)
            members += [str(n) for n in range(int(first), int(last) + 1)]
        groups[name.strip()] = members
    return groups


def operator_extension(args: argparse.Namespace) -> str | None:
    if args.operator:
        if not args.operator.isdigit():
            raise CommandError(
                f"--operator {args.operator!r}: an extension number", exitcodes.USAGE
            )
        return str(args.operator)
    user = identity(args).user
    return user if user and user.isdigit() else None


async def connect(pbx: PbxClient) -> None:
    try:
        await pbx.connect()
    except AmiLoginError as exc:
        raise CommandError(str(exc), exitcodes.AUTH_REJECTED) from None
    except AmiError as exc:
        raise CommandError(str(exc), exitcodes.UNREACHABLE) from None


def has_account(args: argparse.Namespace) -> bool:
    who = identity(args)
    return bool(who.server and who.user and who.secret is not None)


def run_console(args: argparse.Namespace) -> int:
    configured = configured_ami()
    if not ami_wanted(args, configured):
        raise CommandError(NO_AMI, exitcodes.USAGE)
    pbx = ami_client(args, configured)  # bad AMI options: a usage error, before any window
    groups = parse_groups(args.group)
    operator = operator_extension(args)
    server = None
    if has_account(args):
        try:
            server = parse_server(str(identity(args).server))
        except TargetError as exc:
            raise CommandError(str(exc), exitcodes.USAGE) from None
    accept_from(args, identity(args))  # a bad --accept-from is a usage error, before Qt
    if not display_available():
        raise CommandError("no display (set DISPLAY, or use iaxphone pbx)", exitcodes.FAILURE)
    try:  # Qt only when the window opens: the gui extra is optional
        import qasync  # noqa: PLC0415
        from PyQt6 import sip  # noqa: PLC0415
        from PyQt6.QtWidgets import QApplication  # noqa: PLC0415

        from iaxphone.gui.console.style import apply_scheme  # noqa: PLC0415
        from iaxphone.gui.console.window import ConsoleWindow  # noqa: PLC0415
        from iaxphone.gui.ringer import Ringer  # noqa: PLC0415
        from iaxphone.pbx.console import ConsoleModel  # noqa: PLC0415
        from iaxphone.viewmodels.handset import HandsetModel  # noqa: PLC0415

        from .gui import make_phone  # noqa: PLC0415
    except ImportError as exc:
        raise CommandError(
            f"the console needs the gui extra (pip install 'iaxphone[gui]'): {exc}",
            exitcodes.FAILURE,
        ) from None

    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    apply_scheme(app, args.scheme)
    model = ConsoleModel(pbx, operator=operator, departments=groups)
    phone = None
    ring_sink = None
    note = ""
    if server is not None:
        phone, _history, ring_sink, note = make_phone(args, identity(args), server)

    async def main() -> None:
        closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def close(*_args: object) -> None:
            if not closed.done():
                closed.set_result(None)

        app.lastWindowClosed.connect(close)
        signal.signal(signal.SIGTERM, close)
        signal.signal(signal.SIGINT, close)
        await connect(pbx)
        try:
            async with contextlib.AsyncExitStack() as stack:
                handset = None
                if phone is not None:
                    await stack.enter_async_context(phone)
                    handset = HandsetModel(phone, pbx, recordings=config.data_dir() / "recordings")
                window = ConsoleWindow(model, handset=handset)
                if handset is not None:
                    ringer = Ringer(ring_sink if ring_sink is not None else handset.phone.gate.sink)
                    window.operator_bar.on_ringing = ringer.start, ringer.stop
                    if note:
                        handset.say(note)
                elif operator is None:
                    window.say("no account: a panel only (calls cannot ring a phone of yours)")
                window.show()
                await closed
                pbx.close()
            sip.delete(window)  # after the phone hung up, while the application exists
        finally:
            pbx.close()

    loop = qasync.QEventLoop(app)
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    return exitcodes.OK
