"""Who we are and where the PBX is: command-line options over the config file."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from iaxphone import config, keys
from iaxphone.media.codecs import codec_info, is_available, parse_codec_list
from iaxphone.media.voice import LAPTOP, VoiceSettings
from iaxphone.proto.endpoint import EndpointConfig
from iaxphone.proto.trust import NOBODY

from . import exitcodes
from .errors import CommandError

DEFAULT_CODECS = "ulaw,alaw,g722,gsm,opus,g729"


@dataclass(frozen=True)
class Identity:
    account: str | None  # the config account's name, if one was used
    server: str | None
    user: str | None
    secret: str | None
    formats: list[int]
    frame_ms: int = 20
    auto_answer: bool = False
    encryption: str = "allowed"
    trunk: bool = False
    rsa_private_key: bytes | None = None
    trunk_interval_ms: int = 20
    trunk_timestamps: bool = True
    trunk_mtu: int = 1240
    audio: config.AudioConfig = field(default_factory=config.AudioConfig)  # the [audio] table
    accept_calls_from: tuple[str, ...] = ("server",)  # config.parse_accept_from's entries
    intercom: bool = True
    intercom_muted: bool = True
    voice: VoiceSettings = LAPTOP  # the account's AEC, NS and AGC switches

    def endpoint_config(self, **extra: object) -> EndpointConfig:
        """The endpoint's settings; nobody may call it unless ``accept_calls_from`` is given."""
        extra.setdefault("accept_calls_from", NOBODY)
        return EndpointConfig(
            formats=list(self.formats),
            trunk_interval=self.trunk_interval_ms / 1000,
            trunk_timestamps=self.trunk_timestamps,
            trunk_mtu=self.trunk_mtu,
            **extra,  # type: ignore[arg-type]
        )


def add_account_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--account", metavar="NAME", help="an account of the config file (default: its default)"
    )
    parser.add_argument("--server", metavar="HOST[:PORT]", help="the PBX (default port 4569)")
    parser.add_argument("--user", metavar="NAME", help="IAX2 username (the extension)")
    parser.add_argument(
        "--secret", metavar="SECRET", help="password (or IAXPHONE_SECRET, or the keyring)"
    )
    parser.add_argument(
        "--key", metavar="NAME|FILE", help="RSA private key for auth=rsa peers (iaxphone keygen)"
    )
    parser.add_argument(
        "--codec",
        metavar="NAME[,NAME...]",
        help=f"codecs in order of preference (default {DEFAULT_CODECS})",
    )


def add_accept_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--accept-calls-from",
        metavar="SOURCE[,SOURCE...]",
        help='who may call: "server" (the PBX, the default), "any", hosts or networks'
        " (the account's accept_calls_from)",
    )


def accept_from(args: argparse.Namespace, me: Identity) -> tuple[str, ...]:
    """--accept-calls-from over the account's accept_calls_from; a bad entry is a usage error."""
    given = getattr(args, "accept_calls_from", None)
    if not given:
        return me.accept_calls_from
    try:
        return config.parse_accept_from([part for part in given.split(",") if part.strip()])
    except ValueError as exc:
        raise CommandError(f"--accept-calls-from: {exc}", exitcodes.USAGE) from None


def formats_from(text: str | None, configured: tuple[int, ...]) -> list[int]:
    try:
        wanted = (
            parse_codec_list(text) if text else ([*configured] or parse_codec_list(DEFAULT_CODECS))
        )
    except ValueError as exc:
        raise CommandError(f"--codec: {exc}", exitcodes.USAGE) from None
    usable = [fmt for fmt in wanted if is_available(fmt)]
    if text and len(usable) < len(wanted):
        missing = ", ".join(codec_info(fmt).name for fmt in wanted if not is_available(fmt))
        raise CommandError(
            f"--codec: {missing} cannot run here (its library is not installed)", exitcodes.USAGE
        )
    if not usable:
        raise CommandError("no codec can run on this machine", exitcodes.FAILURE)
    return usable


def identity(args: argparse.Namespace, uri_user: str | None = None) -> Identity:
    """Options win; what they leave open comes from the config account."""
    try:
        cfg = config.load()
        account = cfg.account(args.account)
    except config.ConfigError as exc:
        raise CommandError(str(exc), exitcodes.USAGE) from None
    if args.account and account is None:
        raise CommandError(
            f"no config file with account {args.account!r} ({config.config_path()})",
            exitcodes.USAGE,
        )
    user = args.user or uri_user or (account.user if account else None)
    secret = config.resolve_secret(
        account if (account and user == account.user) else None, args.secret
    )
    return Identity(
        account=account.name if account else None,
        server=args.server or (account.server if account else None),
        user=user,
        secret=secret,
        formats=formats_from(args.codec, account.codecs if account else ()),
        frame_ms=account.frame_ms if account else 20,
        auto_answer=account.auto_answer if account else False,
        encryption=account.encryption if account else "allowed",
        trunk=account.trunk if account else False,
        rsa_private_key=rsa_key(args.key),
        trunk_interval_ms=account.trunk_interval_ms if account else 20,
        trunk_timestamps=account.trunk_timestamps if account else True,
        trunk_mtu=account.trunk_mtu if account else 1240,
        audio=cfg.audio,
        accept_calls_from=account.accept_calls_from if account else ("server",),
        intercom=account.intercom if account else True,
        intercom_muted=account.intercom_muted if account else True,
        voice=account.voice if account else VoiceSettings(),
    )


def rsa_key(name_or_path: str | None) -> bytes | None:
    if not name_or_path:
        return None
    try:
        return keys.load_private(name_or_path)
    except keys.RsaKeyError as exc:
        raise CommandError(str(exc), exitcodes.USAGE) from None
