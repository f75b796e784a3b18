"""``iaxphone pbx ...``: the PBX as an operator sees it, through AMI.

    iaxphone pbx status                 extensions (lamp, presence), parked calls, channels
    iaxphone pbx watch [--count N]      one line per lamp, presence, parking or link change
    iaxphone pbx park EXT|CHANNEL       park the party talking to EXT (or that channel)
    iaxphone pbx unpark SLOT --to EXT   ring EXT's phone, then take the call parked on SLOT
    iaxphone pbx transfer EXT DEST      blind: EXT's far end goes to DEST
    iaxphone pbx atxfer EXT DEST        attended: EXT consults DEST, hangs up to complete
    iaxphone pbx atxfer EXT --cancel    end the consultation; EXT is back with the caller
    iaxphone pbx originate EXT DEST     click-to-call: ring EXT's phone, then dial DEST
                                        (returns when EXT answers; exit 4 busy, 5 no answer)
    iaxphone pbx pickup EXT --to MINE   take the call ringing EXT on phone MINE
    iaxphone pbx dnd EXT on|off         do-not-disturb (callers get busy)
    iaxphone pbx presence EXT STATE     available, away, dnd, xa, chat, unavailable

What the PBX does not offer (no res_parking for park, no DND mechanism) is
said in one line and exits 9; ``status`` lists what the PBX offers.

The AMI login comes from --ami-user/--ami-secret, else IAXPHONE_AMI_USER /
IAXPHONE_AMI_SECRET; the address from --ami (default 127.0.0.1:5038, or
5039 with --ami-tls, which verifies the PBX's certificate against the
system's CAs or --ami-cafile).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import ssl
import sys

from iaxphone import config
from iaxphone.pbx.ami import (
    AmiError,
    AmiLoginError,
    AmiUnsupportedError,
    LampChanged,
    LinkChanged,
    MailboxChanged,
    OriginateError,
    ParkingChanged,
    PbxClient,
    PbxEvent,
    PresenceChanged,
    Resynced,
)
from iaxphone.pbx.capabilities import Facility
from iaxphone.pbx.models import ChannelInfo, Presence
from iaxphone.pbx.names import pbx_names
from iaxphone.target import TargetError, parse_server

from . import exitcodes
from .errors import CommandError
from .stopping import stop_on_signals

AMI_PORT = 5038
AMI_TLS_PORT = 5039


def add_pbx_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    pbx = commands.add_parser("pbx", help="watch and steer the PBX through AMI (operators)")
    add_ami_options(pbx)
    actions = pbx.add_subparsers(dest="pbx_command", required=True, metavar="ACTION")

    actions.add_parser("status", help="extensions, parked calls and active channels")
    watch = actions.add_parser("watch", help="print PBX changes as they happen")
    watch.add_argument("--count", type=int, metavar="N", help="stop after N changes")
    park = actions.add_parser("park", help="park the party talking to EXT")
    park.add_argument("who", metavar="EXT|CHANNEL")
    unpark = actions.add_parser("unpark", help="retrieve a parked call onto a phone")
    unpark.add_argument("slot")
    unpark.add_argument("--to", required=True, metavar="EXT", help="the phone to ring")
    for name, text in (
        ("transfer", "blind transfer: EXT's far end goes to DEST"),
        ("originate", "ring EXT's phone, then dial DEST"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("who", metavar="EXT|CHANNEL" if name != "originate" else "EXT")
        action.add_argument("dest", metavar="DEST")
    atxfer = actions.add_parser("atxfer", help="attended transfer: EXT consults DEST first")
    atxfer.add_argument("who", metavar="EXT|CHANNEL")
    target = atxfer.add_mutually_exclusive_group(required=True)
    target.add_argument("dest", metavar="DEST", nargs="?")
    target.add_argument("--cancel", action="store_true", help="end the consultation")
    pickup = actions.add_parser("pickup", help="take the call ringing EXT")
    pickup.add_argument("ringing", metavar="EXT")
    pickup.add_argument("--to", required=True, metavar="MINE", help="the phone to take it on")
    dnd = actions.add_parser("dnd", help="set do-not-disturb")
    dnd.add_argument("ext")
    dnd.add_argument("state", choices=["on", "off"])
    presence = actions.add_parser("presence", help="set an extension's presence")
    presence.add_argument("ext")
    presence.add_argument("state", choices=[p.value for p in Presence if p is not Presence.NOT_SET])
    presence.add_argument("message", nargs="?", default="")
    pbx.set_defaults(run=lambda args: asyncio.run(run_pbx(args)))


def add_ami_options(parser: argparse.ArgumentParser) -> None:
    """--ami, --ami-user, --ami-secret, --context, --ami-tls, --ami-cafile (pbx and gui)."""
    parser.add_argument("--ami", metavar="HOST[:PORT]", help="default 127.0.0.1:5038 (TLS: 5039)")
    parser.add_argument("--ami-user", metavar="NAME", help="AMI user (or IAXPHONE_AMI_USER)")
    parser.add_argument("--ami-secret", metavar="SECRET", help="(or IAXPHONE_AMI_SECRET)")
    parser.add_argument(
        "--context",
        help="the phones' dialplan context (default: [ami] context, else what the PBX gives them)",
    )
    parser.add_argument(
        "--ami-tls", action="store_true", help="AMI over TLS (Asterisk's port 5039 by default)"
    )
    parser.add_argument(
        "--ami-cafile", metavar="FILE", help="trust this certificate (default: the system's CAs)"
    )


async def run_pbx(args: argparse.Namespace) -> int:
    client = await _connect(args)
    try:
        command = args.pbx_command
        if command == "status":
            await _status(client)
        elif command == "watch":
            await _watch(client, args.count)
        elif command == "park":
            why = client.why_not(Facility.PARKING)
            if why is not None:
                raise AmiUnsupportedError(why)
            await client.park(await _far_end(client, args.who))
        elif command == "unpark":
            why = client.why_not(Facility.PARKING)
            if why is not None:
                raise AmiUnsupportedError(why)
            if args.slot not in client.state.parked:
                raise CommandError(f"nothing is parked on {args.slot}", exitcodes.NOT_FOUND)
            await client.retrieve_parked(f"IAX2/{args.to}", args.slot)
        elif command == "transfer":
            await client.blind_transfer(await _channel_of(client, args.who), args.dest)
        elif command == "atxfer" and args.cancel:
            await client.cancel_attended_transfer(await _channel_of(client, args.who))
        elif command == "atxfer":
            await client.attended_transfer(await _channel_of(client, args.who), args.dest)
        elif command == "originate":
            await client.originate(f"IAX2/{args.who}", args.dest)
        elif command == "pickup":
            await client.pickup(f"IAX2/{args.to}", args.ringing)
        elif command == "dnd":
            await client.set_dnd(args.ext, args.state == "on")
        elif command == "presence":
            await client.set_presence(args.ext, Presence(args.state), args.message)
    except AmiUnsupportedError as exc:
        raise CommandError(str(exc), exitcodes.UNSUPPORTED) from None
    except OriginateError as exc:
        code = {5: exitcodes.BUSY, 3: exitcodes.NO_ANSWER}.get(exc.reason, exitcodes.UNREACHABLE)
        raise CommandError(str(exc), code) from None
    except AmiError as exc:
        raise CommandError(str(exc), exitcodes.FAILURE) from None
    finally:
        client.close()
    return exitcodes.OK


def configured_ami() -> config.AmiConfig | None:
    """The config file's [ami] table, if it has one; CommandError for a broken file."""
    try:
        return config.load().ami
    except config.ConfigError as exc:
        raise CommandError(str(exc), exitcodes.USAGE) from None


def ami_client(args: argparse.Namespace, configured: config.AmiConfig | None = None) -> PbxClient:
    """A PbxClient (not yet connected); CommandError for bad options.

    Options win, then IAXPHONE_AMI_USER / IAXPHONE_AMI_SECRET, then the
    config's [ami] table (its secret from the keyring first).
    """
    ami = configured or config.AmiConfig()
    use_tls = bool(args.ami_tls or ami.tls)
    default_port = AMI_TLS_PORT if use_tls else AMI_PORT
    try:
        host, port = parse_server(args.ami or ami.server, default_port=default_port, option="--ami")
    except TargetError as exc:
        raise CommandError(str(exc), exitcodes.USAGE) from None
    tls = None
    if use_tls:
        cafile = args.ami_cafile or ami.cafile
        try:
            tls = ssl.create_default_context(cafile=cafile)
        except (OSError, ssl.SSLError) as exc:
            raise CommandError(
                f"AMI CA file {cafile}: not a readable PEM certificate ({exc})",
                exitcodes.USAGE,
            ) from None
    user = args.ami_user or os.environ.get("IAXPHONE_AMI_USER") or ami.user
    secret = config.resolve_ami_secret(configured, args.ami_secret)
    if not user or not secret:
        raise CommandError(
            "no AMI login: give --ami-user and --ami-secret "
            "(or IAXPHONE_AMI_USER and IAXPHONE_AMI_SECRET, or an [ami] table in the config)",
            exitcodes.USAGE,
        )
    context = args.context or ami.context or None
    return PbxClient(host, port, user, secret, context=context, dnd=ami.dnd, tls=tls)


async def _connect(args: argparse.Namespace) -> PbxClient:
    client = ami_client(args, configured_ami())
    try:
        await client.connect()
    except AmiLoginError as exc:
        raise CommandError(str(exc), exitcodes.AUTH_REJECTED) from None
    except AmiError as exc:
        raise CommandError(str(exc), exitcodes.UNREACHABLE) from None
    return client


async def _channel_of(
    client: PbxClient, who: str, channels: list[ChannelInfo] | None = None
) -> str:
    """A channel name as given, or the channel of extension ``who``'s call."""
    if "/" in who:
        return who
    mine = re.compile(rf"^[A-Za-z0-9]+/{re.escape(who)}-")
    for channel in channels if channels is not None else await client.channels():
        if mine.match(channel.name):
            return channel.name
    raise CommandError(f"extension {who} is not on a call", exitcodes.NOT_FOUND)


async def _far_end(client: PbxClient, who: str) -> str:
    """The channel bridged to ``who``'s call (the party to park)."""
    channels = await client.channels()
    mine = await _channel_of(client, who, channels)
    me = next((c for c in channels if c.name == mine), None)
    if me is None or not me.bridge:
        return mine  # a channel in an application (IVR, echo test): park it itself
    peers = [c for c in channels if c.bridge == me.bridge and c.name != mine]
    if len(peers) != 1:
        raise CommandError(f"{who}'s call has {len(peers)} other parties", exitcodes.FAILURE)
    return peers[0].name


async def _status(client: PbxClient) -> None:
    state, caps = client.state, client.capabilities
    names = await pbx_names(client)
    print(f"{'EXT':6} {'LAMP':12} {'NAME':24} PRESENCE")
    for number in sorted(state.extensions):
        extension = state.extensions[number]
        name = names.get(number, "")[:24]
        print(f"{number:6} {extension.lamp.value:12} {name:24} {extension.presence.value}")
    print(f"\nthis PBX (dialplan context {client.context}):")
    for line in caps.summary():
        print("  " + line)
    parking = caps.why_not(Facility.PARKING)
    if parking is not None:
        print(f"\nparked calls: unavailable: {parking}")
    else:
        print(f"\nparked calls: {len(state.parked)}")
    for slot, parked in sorted(state.parked.items()):
        who = f"{parked.caller_number} {parked.caller_name}".strip()
        print(f"  {slot:5} {who:24} {parked.channel}")
    try:
        channels = await client.channels()
    except AmiError as exc:
        print(f"\nactive channels: unavailable: {exc}")
        channels = None
    if channels is not None:
        _print_channels(channels)


def _print_channels(channels: list[ChannelInfo]) -> None:
    print(f"\nactive channels: {len(channels)}")
    for channel in channels:
        print("  " + describe_channel(channel))


def describe_channel(channel: ChannelInfo) -> str:
    minutes, seconds = divmod(channel.duration_s, 60)
    peer = f" -> {channel.connected_number}" if channel.connected_number else ""
    return (
        f"{channel.name:24} {channel.caller_number}{peer:10} {channel.state:8} "
        f"{channel.application:12} {minutes:d}:{seconds:02d}"
    )


def describe_event(event: PbxEvent) -> str:
    if isinstance(event, LampChanged):
        return f"lamp {event.number} {event.lamp.value}"
    if isinstance(event, PresenceChanged):
        return f"presence {event.number} {event.presence.value}"
    if isinstance(event, ParkingChanged):
        if event.parked is None:
            return f"unparked {event.slot}"
        return f"parked {event.slot} {event.parked.caller_number} {event.parked.channel}"
    if isinstance(event, MailboxChanged):
        return f"voicemail {event.mailbox} {event.new} new {event.old} old"
    if isinstance(event, LinkChanged):
        return "ami up" if event.up else "ami down (reconnecting)"
    if isinstance(event, Resynced):
        return f"resynced {event.extensions} extensions, {event.parked} parked"
    return repr(event)


async def _watch(client: PbxClient, count: int | None) -> None:
    done = asyncio.Event()
    printed = 0

    def show(event: PbxEvent) -> None:
        nonlocal printed
        print(describe_event(event), flush=True)
        printed += 1
        if count is not None and printed >= count:
            done.set()

    client.subscribe(show)
    print(f"watching {len(client.state.extensions)} extensions", flush=True)
    with stop_on_signals(done):
        await done.wait()
    sys.stdout.flush()
