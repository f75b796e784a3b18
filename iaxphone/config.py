"""The user's configuration: accounts and audio, in a TOML file.

Where: ``$IAXPHONE_CONFIG`` if set, else ``config.toml`` in the platform's
config directory (platformdirs: ``~/.config/iaxphone`` on Linux).  Read with
the standard library's ``tomllib``; never written by iaxphone except
through :func:`save_account_secret`, which stores secrets in the system
keyring, not in the file.

Example::

    default_account = "office"

    [accounts.office]
    server = "pbx.example.com:4569"
    user = "6001"
    caller_name = "Alice Archer"
    codecs = ["g722", "ulaw", "alaw"]
    frame_ms = 20
    auto_answer = false      # answer every call at once (whoever may call, below)
    accept_calls_from = "server"   # or "any", or ["server", "192.0.2.0/24", "pbx2.example.com"]
    intercom = true          # the PBX may ask for auto-answer (paging, intercom)
    intercom_muted = true    # ... and then the microphone starts muted
    echo_cancellation = true # for the sound card's microphone (laptop speakers);
    noise_suppression = true #   files played with --play are sent untouched
    gain_control = true
    trunk = false            # and trunk_interval_ms = 20, trunk_timestamps, trunk_mtu
    # secret: from the keyring ("iaxphone", "office"), or $IAXPHONE_SECRET,
    # or (not recommended) secret = "..." here

    [audio]
    input = "default"        # device name or index
    output = "default"
    ringing = "default"
    mute = "silence"         # or "stop"

    [ami]                    # the Asterisk Manager Interface: lamps, parking, transfers
    server = "pbx.example.com"   # host[:port]; port 5038, or 5039 with tls
    user = "console"
    context = "office"       # the phones' dialplan context (default: found from the PBX)
    dnd = "auto"             # how the PBX does DND: presence, devstate, astdb, none
    tls = false              # and cafile = "/path/to/ca.pem" to trust a private CA
    # secret: from the keyring ("iaxphone", "ami"), or $IAXPHONE_AMI_SECRET,
    # or (not recommended) secret = "..." here

A mistake names the file, the line and the key: ``config.toml line 7:
accounts.office.codecs: unknown codec 'g723'; choose from ulaw, ...``.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keyring
import platformdirs
from keyring.errors import KeyringError

from iaxphone.errors import IaxphoneError
from iaxphone.media.codecs import parse_codec_list
from iaxphone.media.voice import VoiceSettings
from iaxphone.pbx.dnd import DND_CHOICES

APP = "iaxphone"
log = logging.getLogger("iaxphone.config")


class ConfigError(IaxphoneError):
    """A configuration mistake; ``str()`` is one line naming file, line and key."""


@dataclass(frozen=True)
class AccountConfig:
    name: str
    server: str
    user: str
    secret: str | None = None
    caller_name: str | None = None
    codecs: tuple[int, ...] = ()
    frame_ms: int = 20
    auto_answer: bool = False
    trunk: bool = False
    trunk_interval_ms: int = 20  # Asterisk's trunkfreq
    trunk_timestamps: bool = True  # Asterisk's trunktimestamps
    trunk_mtu: int = 1240  # Asterisk's trunkmtu
    encryption: str = "allowed"
    accept_calls_from: tuple[str, ...] = ("server",)  # see parse_accept_from
    intercom: bool = True
    intercom_muted: bool = True
    echo_cancellation: bool = True
    noise_suppression: bool = True
    gain_control: bool = True

    @property
    def voice(self) -> VoiceSettings:
        return VoiceSettings(self.echo_cancellation, self.noise_suppression, self.gain_control)


def parse_accept_from(value: str | list[Any]) -> tuple[str, ...]:
    """``accept_calls_from`` as entries: "server", "any", addresses, networks, host names.

    A phone answers its PBX, not whoever knows its port: "server" (the
    default) is the account's own PBX, "any" lets anyone ring (two iaxphones
    without a PBX).  Raises ValueError naming the bad entry.
    """
    entries = [value] if isinstance(value, str) else list(value)
    if not entries:
        raise ValueError('must name at least one source ("server", "any", a host or network)')
    out: list[str] = []
    for entry in entries:
        if not isinstance(entry, str) or not entry.strip():
            raise ValueError(f'{entry!r} is not a host, a network, "server" or "any"')
        text = entry.strip()
        if text.lower() in ("server", "any"):
            out.append(text.lower())
            continue
        if "/" in text or ":" in text or text.replace(".", "").isdigit():
            try:
                ipaddress.ip_network(text, strict=False)
            except ValueError:
                raise ValueError(f"{text!r} is not an IP address or network") from None
        elif not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?", text):
            raise ValueError(f"{text!r} is not a host name")
        out.append(text)
    return tuple(out)


@dataclass(frozen=True)
class AudioConfig:
    input: str = "default"
    output: str = "default"
    ringing: str = "default"
    mute: str = "silence"

    def devices(self) -> tuple[str | None, str | None]:
        """(input, output) as the device layer takes them: None for the default."""
        return _device(self.input), _device(self.output)


def _device(name: str) -> str | None:
    return None if name == "default" else name


@dataclass(frozen=True)
class AmiConfig:
    server: str = "127.0.0.1"
    user: str | None = None
    secret: str | None = None
    context: str = ""  # "": the context the PBX gives the phones (IAXPEER(N,context))
    dnd: str = "auto"  # auto | presence | devstate | astdb | none (iaxphone.pbx.dnd)
    tls: bool = False
    cafile: str | None = None


AMI_KEYRING_ENTRY = "ami"  # the keyring's ("iaxphone", "ami") holds the AMI secret


@dataclass(frozen=True)
class Config:
    path: Path | None
    accounts: dict[str, AccountConfig] = field(default_factory=dict)
    default_account: str | None = None
    audio: AudioConfig = field(default_factory=AudioConfig)
    ami: AmiConfig | None = None  # None: no [ami] table

    def account(self, name: str | None = None) -> AccountConfig | None:
        key = (
            name
            or self.default_account
            or (next(iter(self.accounts)) if len(self.accounts) == 1 else None)
        )
        if key is None:
            return None
        if key not in self.accounts:
            known = ", ".join(self.accounts) or "none"
            raise ConfigError(f"{self.path}: no account {key!r} (accounts: {known})")
        return self.accounts[key]


def config_path() -> Path:
    override = os.environ.get("IAXPHONE_CONFIG")
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir(APP)) / "config.toml"


def data_dir() -> Path:
    override = os.environ.get("IAXPHONE_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP))


_ACCOUNT_KEYS: dict[str, type | tuple[type, ...]] = {
    "server": str,
    "user": str,
    "secret": str,
    "caller_name": str,
    "codecs": list,
    "frame_ms": int,
    "auto_answer": bool,
    "trunk": bool,
    "trunk_interval_ms": int,
    "trunk_timestamps": bool,
    "trunk_mtu": int,
    "encryption": str,
    "accept_calls_from": (str, list),
    "intercom": bool,
    "intercom_muted": bool,
    "echo_cancellation": bool,
    "noise_suppression": bool,
    "gain_control": bool,
}
_AUDIO_KEYS: dict[str, type] = {"input": str, "output": str, "ringing": str, "mute": str}
_AMI_KEYS: dict[str, type] = {
    "server": str,
    "user": str,
    "secret": str,
    "context": str,
    "dnd": str,
    "tls": bool,
    "cafile": str,
}


def _line_of(text: str, section: str | None, key: str) -> int | None:
    """The line (1-based) where ``key`` is set in ``[section]`` (best effort)."""
    current: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        header = re.fullmatch(r"\[\s*([^\]]+?)\s*\]", stripped)
        if header:
            current = header.group(1).replace('"', "")
            continue
        if current == section and re.match(rf"{re.escape(key)}\s*=", stripped):
            return number
    return None


def load(path: Path | None = None) -> Config:
    """Read the configuration; a missing file is an empty configuration.

    Except when $IAXPHONE_CONFIG names it: a file the user pointed at on
    purpose and that is not there is a mistake worth saying (a typo in the
    path), not an empty configuration.
    """
    named = path is None and bool(os.environ.get("IAXPHONE_CONFIG"))
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if named:
            raise ConfigError(f"IAXPHONE_CONFIG names {path}, which does not exist") from None
        return Config(None)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None

    def fail(section: str | None, key: str, message: str) -> ConfigError:
        line = _line_of(text, section, key)
        where = f" line {line}" if line else ""
        dotted = f"{section}.{key}" if section else key
        return ConfigError(f"{path}{where}: {dotted}: {message}")

    for key in data:
        if key not in ("default_account", "accounts", "audio", "ami"):
            raise fail(
                None,
                key,
                "unknown setting (expected default_account, [accounts.NAME], [audio], [ami])",
            )
    accounts: dict[str, AccountConfig] = {}
    accounts_raw = data.get("accounts") or {}
    if not isinstance(accounts_raw, dict):
        raise fail(None, "accounts", "must be tables [accounts.NAME]")
    for name, raw in accounts_raw.items():
        section = f"accounts.{name}"
        if not isinstance(raw, dict):
            raise fail("accounts", name, "must be a table [accounts.NAME]")
        accounts[name] = _account(name, raw, section, fail)
    audio_raw = data.get("audio", {})
    if not isinstance(audio_raw, dict):
        raise fail(None, "audio", "must be a table [audio]")
    _check_keys(audio_raw, "audio", _AUDIO_KEYS, fail)
    if audio_raw.get("mute", "silence") not in ("silence", "stop"):
        raise fail("audio", "mute", 'must be "silence" or "stop"')
    default = data.get("default_account")
    if default is not None and default not in accounts:
        raise fail(None, "default_account", f"no [accounts.{default}] section")
    ami = None
    if "ami" in data:
        ami_raw = data["ami"]
        if not isinstance(ami_raw, dict):
            raise fail(None, "ami", "must be a table [ami]")
        _check_keys(ami_raw, "ami", _AMI_KEYS, fail)
        if ami_raw.get("dnd", "auto") not in DND_CHOICES:
            raise fail(
                "ami",
                "dnd",
                f"unknown DND mechanism {ami_raw['dnd']!r}; choose from " + ", ".join(DND_CHOICES),
            )
        ami = AmiConfig(**ami_raw)
    _warn_if_exposed(path, [*accounts.values(), *([ami] if ami else [])])
    return Config(path, accounts, default, AudioConfig(**audio_raw), ami)


def _warn_if_exposed(path: Path, tables: list[AccountConfig | AmiConfig]) -> None:
    """A file holding a secret that the group or others may read: one warning line."""
    if not any(table.secret for table in tables):
        return
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return
    if mode & 0o077:
        log.warning(
            "%s holds a secret and others may read it (mode %04o): chmod 600 %s,"
            " or keep the secret in the keyring",
            path,
            mode,
            path,
        )


def _check_keys(
    raw: dict[str, Any], section: str, known: Mapping[str, type | tuple[type, ...]], fail: Any
) -> None:
    """Every key of a table is one of ``known`` and of its type (a bool is not an int)."""
    for key, value in raw.items():
        kind = known.get(key)
        if kind is None:
            raise fail(section, key, f"unknown setting (expected {', '.join(known)})")
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            kinds = kind if isinstance(kind, tuple) else (kind,)
            raise fail(section, key, f"must be a {' or a '.join(k.__name__ for k in kinds)}")


def _account(name: str, raw: dict[str, Any], section: str, fail: Any) -> AccountConfig:
    _check_keys(raw, section, _ACCOUNT_KEYS, fail)
    for required in ("server", "user"):
        if required not in raw:
            raise ConfigError(f"[{section}] needs {required} = ...")
    codecs: tuple[int, ...] = ()
    if "codecs" in raw:
        try:
            codecs = tuple(int(f) for f in parse_codec_list([str(c) for c in raw["codecs"]]))
        except ValueError as exc:
            raise fail(section, "codecs", str(exc)) from None
    frame_ms = raw.get("frame_ms", 20)
    if frame_ms not in (10, 20, 30, 40, 50, 60):
        raise fail(section, "frame_ms", "must be 10, 20, 30, 40, 50 or 60")
    if not 10 <= raw.get("trunk_interval_ms", 20) <= 1000:
        raise fail(section, "trunk_interval_ms", "must be between 10 and 1000")
    if not 200 <= raw.get("trunk_mtu", 1240) <= 65000:
        raise fail(section, "trunk_mtu", "must be between 200 and 65000")
    encryption = raw.get("encryption", "allowed")
    if encryption not in ("required", "allowed", "off"):
        raise fail(section, "encryption", 'must be "required", "allowed" or "off"')
    try:
        accept_from = parse_accept_from(raw.get("accept_calls_from", "server"))
    except ValueError as exc:
        raise fail(section, "accept_calls_from", str(exc)) from None
    return AccountConfig(
        name=name,
        server=raw["server"],
        user=raw["user"],
        secret=raw.get("secret"),
        caller_name=raw.get("caller_name"),
        codecs=codecs,
        frame_ms=frame_ms,
        auto_answer=raw.get("auto_answer", False),
        trunk=raw.get("trunk", False),
        trunk_interval_ms=raw.get("trunk_interval_ms", 20),
        trunk_timestamps=raw.get("trunk_timestamps", True),
        trunk_mtu=raw.get("trunk_mtu", 1240),
        encryption=encryption,
        accept_calls_from=accept_from,
        intercom=raw.get("intercom", True),
        intercom_muted=raw.get("intercom_muted", True),
        echo_cancellation=raw.get("echo_cancellation", True),
        noise_suppression=raw.get("noise_suppression", True),
        gain_control=raw.get("gain_control", True),
    )


def resolve_secret(account: AccountConfig | None, given: str | None = None) -> str | None:
    """The secret: command line, else $IAXPHONE_SECRET, else the keyring, else the file."""
    name, in_file = (account.name, account.secret) if account else (None, None)
    return _first_secret(given, "IAXPHONE_SECRET", name, in_file)


def resolve_ami_secret(ami: AmiConfig | None, given: str | None = None) -> str | None:
    """The AMI secret: command line, else $IAXPHONE_AMI_SECRET, else the keyring, else the file."""
    entry, in_file = (AMI_KEYRING_ENTRY, ami.secret) if ami else (None, None)
    return _first_secret(given, "IAXPHONE_AMI_SECRET", entry, in_file)


def _first_secret(
    given: str | None, env_name: str, keyring_entry: str | None, in_file: str | None
) -> str | None:
    if given:
        return given
    env = os.environ.get(env_name)
    if env:
        return env
    if keyring_entry is None:
        return None
    from_keyring = keyring_secret(keyring_entry)
    return from_keyring if from_keyring is not None else in_file


def keyring_secret(account_name: str) -> str | None:
    try:
        value = keyring.get_password(APP, account_name)
    except (KeyringError, RuntimeError):
        return None  # no keyring on this machine (a headless server): fall through
    return value if isinstance(value, str) else None


def save_account_secret(account_name: str, secret: str) -> None:
    """Store a secret in the system keyring; ConfigError if there is no keyring."""
    try:
        keyring.set_password(APP, account_name, secret)
    except (KeyringError, RuntimeError) as exc:
        raise ConfigError(
            f"no system keyring to store the secret in ({exc}); use IAXPHONE_SECRET"
        ) from None
