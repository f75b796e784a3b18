"""The ``iaxphone`` command.

    iaxphone call DEST ...     call an extension or iax: URI (see --help)
    iaxphone register ...      register, print status and voicemail count
    iaxphone listen ...        register and answer incoming calls
    iaxphone history           list recent calls
    iaxphone devices           list sound devices
    iaxphone keygen NAME       make an RSA key pair for auth=rsa
    iaxphone gui [IAX-LINK]    the handset window (also a bare "iaxphone" on a desktop);
                               with no account, the account assistant first
    iaxphone dial IAX-LINK     dial a link in the running window (else open one)
    iaxphone install-desktop   menu entry, icon and iax: link handler (--uninstall)
    iaxphone console           the operator console: lamps, queues, parking, rooms (AMI)
    iaxphone pbx ACTION ...    the PBX through AMI: status, watch, park, transfer,
                               originate, pickup, dnd, presence (see --help)
    iaxphone load DEST ...     call load against a PBX: set-up times, ASR, loss, MOS
    iaxphone decode HEX        pretty-print one IAX2 datagram, like Asterisk's
                               "iax2 set debug on" (spaces and colons allowed)

Exit codes are in :mod:`iaxphone.cli.exitcodes` and the README: 0 success,
1 failure, 2 bad arguments, 3 authentication rejected, 4 busy, 5 no answer,
6 unreachable or congestion, 7 encryption refused, 8 no such number, 9 not
offered by the PBX; ``iaxphone load``: 10 too many failed calls, 11 MOS too low.
Every error is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from iaxphone import __version__, config, keys
from iaxphone.errors import IaxphoneError
from iaxphone.history import History
from iaxphone.media import devices
from iaxphone.wire.errors import FrameParseError
from iaxphone.wire.frames import describe, parse_frame

from . import exitcodes
from .call import add_call_parser
from .console import add_console_parser
from .desktop import add_desktop_parser
from .errors import CommandError
from .gui import add_gui_parser, display_available
from .listen import add_listen_parser
from .load import add_load_parser
from .pbx import add_pbx_parser


class UsageError(IaxphoneError):
    """Bad arguments or input: one line for the user, exit 2."""


def parse_hex(text: str) -> bytes:
    cleaned = "".join(text.replace(":", " ").replace("0x", " ").split())
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise UsageError(f"not hexadecimal: {text[:40]!r}") from None


def cmd_decode(args: argparse.Namespace) -> int:
    data = parse_hex(" ".join(args.hex))
    try:
        frame = parse_frame(data)
    except FrameParseError as exc:
        raise UsageError(f"not an IAX2 frame: {exc}") from None
    print(describe(frame, direction="Rx" if args.rx else "Tx", reveal_secrets=args.reveal_secrets))
    return exitcodes.OK


def cmd_keygen(args: argparse.Namespace) -> int:
    try:
        private, public = keys.generate(args.name, args.dir)
    except (keys.RsaKeyError, OSError) as exc:
        raise CommandError(str(exc), exitcodes.FAILURE) from None
    print(f"private key (keep it, mode 0600): {private}")
    print(f"public key (copy to the PBX's keys directory): {public}")
    print(f"in iax.conf, for this phone's peer:  auth = rsa  and  inkeys = {args.name}")
    print(f"calls with it:  iaxphone call ... --key {args.name}")
    return exitcodes.OK


def cmd_devices(args: argparse.Namespace) -> int:
    found = devices.list_devices()
    if not found:
        print(f"iaxphone: {devices.NO_DEVICES_LISTED}", file=sys.stderr)
        return exitcodes.OK
    for device in found:
        marks = ("*in " if device.is_default_input else "    ") + (
            "*out" if device.is_default_output else "    "
        )
        print(
            f"{device.index:3d} {marks} in {device.max_input_channels} "
            f"out {device.max_output_channels} {device.default_samplerate:7.0f} Hz  {device.name}"
        )
    return exitcodes.OK


def cmd_history(args: argparse.Namespace) -> int:
    try:
        calls = History(config.data_dir() / "history.sqlite3")
    except (OSError, sqlite3.Error) as exc:
        raise CommandError(f"cannot open call history: {exc}", exitcodes.FAILURE) from None
    try:
        records = calls.recent(args.n)
        if not records:
            print("no calls in the history yet", file=sys.stderr)
        for record in records:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.started))
            arrow = "->" if record.direction == "out" else "<-"
            talk = (
                f"{record.ended - record.answered:6.1f} s"
                if record.answered and record.ended
                else "     -  "
            )
            name = f" ({record.name})" if record.name else ""
            cause = record.cause or "in progress"
            print(f"{when} {arrow} {record.number}{name}  {talk}  {record.codec or '-':5}  {cause}")
    finally:
        calls.close()
    return exitcodes.OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="iaxphone", description="IAX2 softphone for Asterisk offices."
    )
    parser.add_argument("--version", action="version", version=f"iaxphone {__version__}")
    parser.add_argument("--debug", action="store_true", help="log protocol details to stderr")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_call_parser(commands)
    add_listen_parser(commands)
    add_pbx_parser(commands)
    add_gui_parser(commands)
    add_console_parser(commands)
    add_load_parser(commands)
    add_desktop_parser(commands)
    keygen = commands.add_parser("keygen", help="make an RSA key pair for auth=rsa")
    keygen.add_argument("name", help="key name (NAME.key and NAME.pub)")
    keygen.add_argument(
        "--dir", type=Path, help="where to write (default: the config directory's keys/)"
    )
    keygen.set_defaults(run=cmd_keygen)
    devices_cmd = commands.add_parser("devices", help="list sound devices")
    devices_cmd.set_defaults(run=cmd_devices)
    history = commands.add_parser("history", help="list recent calls")
    history.add_argument("-n", type=int, default=20, metavar="N", help="how many (default 20)")
    history.set_defaults(run=cmd_history)
    decode = commands.add_parser("decode", help="pretty-print an IAX2 datagram given in hex")
    decode.add_argument("hex", nargs="+", help="the datagram as hex (spaces and colons allowed)")
    decode.add_argument("--rx", action="store_true", help="label it received rather than sent")
    decode.add_argument("--reveal-secrets", action="store_true", help="show PASSWORD IEs in clear")
    decode.set_defaults(run=cmd_decode)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    given = list(sys.argv[1:] if argv is None else argv)
    if not given and display_available():
        given = ["gui"]  # a bare "iaxphone" on a desktop opens the handset window
    args = parser.parse_args(given)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(asctime)s %(name)s %(message)s",
    )
    if not args.debug:  # panoramisk logs every reconnect attempt; our messages say enough
        logging.getLogger("panoramisk").setLevel(logging.CRITICAL)
    try:
        result: int = args.run(args)
    except UsageError as exc:
        print(f"iaxphone: {exc}", file=sys.stderr)
        return exitcodes.USAGE
    except CommandError as exc:
        print(f"iaxphone: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("iaxphone: interrupted", file=sys.stderr)
        return exitcodes.FAILURE
    except OSError as exc:
        print(f"iaxphone: {exc.strerror or exc}", file=sys.stderr)
        return exitcodes.FAILURE
    return result


if __name__ == "__main__":
    sys.exit(main())
