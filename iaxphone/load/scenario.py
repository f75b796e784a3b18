"""A load scenario: whom to call, how many, how fast, and what each call does.

A scenario comes from a TOML file, the command line, or both (the command
line wins).  Everything is checked here, before a single call is placed: a
bad file or option raises :class:`ScenarioError` with one line naming the
key and what it should be (the command exits 2).

The file (every key optional except one account and one destination, which
may also come from the command line)::

    target = "127.0.0.1:4569"   # the PBX
    calls = 200                 # calls to place in all
    rate = 20                   # new calls per second
    hold = 30                   # seconds each answered call stays up
    duration = 120              # stop the run after this long (calls up are hung up)
    answer_timeout = 10         # give up ringing after this long
    codec = "ulaw"              # preference order, as --codec
    trunk = false               # voice in meta trunk frames (trunk peers)
    register = false            # register each account first
    workers = 2                 # processes (default: one per core)
    mos_threshold = 4.0         # calls at or above it "meet MOS"
    max_failed = "1%"           # exit 10 beyond this many failed calls (a count or a percentage)
    min_mos = 3.5               # exit 11 if an answered call's MOS is below it

    [[account]]                 # one or more; calls take them in turn
    user = "6001"
    secret = "iax6001secret"

    [[destination]]             # one or more; weights make the mix
    number = "600"
    weight = 3
    expect = "echo"             # "none", "echo" (our tone comes back) or "tone"
    tone_hz = 440               # the tone sent (echo) or expected (tone)
    play = "hello.wav"          # send this WAV instead of the tone
    dtmf = "123#"               # digits sent after answer
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from iaxphone.errors import IaxphoneError
from iaxphone.media.codecs import codec_info, is_available, parse_codec_list
from iaxphone.target import TargetError, check_number, parse_server

EXPECTS = ("none", "echo", "tone")
DEFAULT_TONE_HZ = 440.0  # what an echo call sends (and listens for)
MILLIWATT_HZ = 1004.0  # Asterisk's Milliwatt(), the tone a "tone" call listens for by default
DTMF_DIGITS = set("0123456789*#ABCDabcd,")


class ScenarioError(IaxphoneError, ValueError):
    """A scenario that cannot run: one line for the user (exit 2)."""


@dataclass(frozen=True)
class LoadAccount:
    """Who the calls are placed as: a desk-phone account or a trunk peer."""

    user: str
    secret: str | None


@dataclass(frozen=True)
class CallAction:
    """What one call does once answered."""

    expect: str = "none"  # EXPECTS
    tone_hz: float = DEFAULT_TONE_HZ
    play: Path | None = None  # a WAV sent instead of the tone
    dtmf: str | None = None


@dataclass(frozen=True)
class Destination:
    number: str
    weight: float = 1.0
    action: CallAction = CallAction()


@dataclass(frozen=True)
class Threshold:
    """``--max-failed``: a number of calls, or a percentage of those placed."""

    value: float
    percent: bool = False

    def allows(self, failed: int, placed: int) -> bool:
        limit = self.value * placed / 100.0 if self.percent else self.value
        return failed <= limit

    def describe(self) -> str:
        return f"{self.value:g} %" if self.percent else f"{self.value:g}"


@dataclass(frozen=True)
class Scenario:
    host: str
    port: int
    accounts: tuple[LoadAccount, ...]
    destinations: tuple[Destination, ...]
    calls: int = 10
    rate: float = 10.0  # calls started per second
    hold_s: float = 10.0
    duration_s: float | None = None
    answer_timeout_s: float = 10.0
    formats: tuple[int, ...] = field(default_factory=lambda: tuple(parse_codec_list("ulaw")))
    trunk: bool = False
    register: bool = False
    workers: int | None = None  # None: one per core
    mos_threshold: float = 4.0
    max_failed: Threshold | None = None
    min_mos: float | None = None


# ----------------------------------------------------------------------- parsing

_TOP_KEYS = {
    "target", "calls", "rate", "hold", "duration", "answer_timeout", "codec", "trunk",
    "register", "workers", "mos_threshold", "max_failed", "min_mos", "account", "destination",
}  # fmt: skip
_ACCOUNT_KEYS = {"user", "secret"}
_DEST_KEYS = {"number", "weight", "expect", "tone_hz", "play", "dtmf"}


def _where(source: str, key: str) -> str:
    return f"{source}: {key}"


def _number(
    raw: Mapping[str, object], key: str, source: str, *, integer: bool = False, low: float = 0.0
) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(f"{_where(source, key)} must be a number, not {value!r}")
    if integer and not float(value).is_integer():
        raise ScenarioError(f"{_where(source, key)} must be a whole number, not {value!r}")
    if not math.isfinite(value) or value <= low:
        raise ScenarioError(f"{_where(source, key)} must be more than {low:g}, not {value!r}")
    return float(value)


def _flag(raw: Mapping[str, object], key: str, source: str) -> bool | None:
    value = raw.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise ScenarioError(f"{_where(source, key)} must be true or false, not {value!r}")


def _text(raw: Mapping[str, object], key: str, source: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # number = 600
    if not isinstance(value, str) or not value.strip():
        raise ScenarioError(f"{_where(source, key)} must be a string, not {value!r}")
    return value.strip()


def _unknown(raw: Mapping[str, object], known: set[str], source: str) -> None:
    extra = sorted(set(raw) - known)
    if extra:
        names = ", ".join(sorted(known))
        raise ScenarioError(f"{source}: unknown key {extra[0]!r} (known: {names})")


def parse_threshold(text: str, source: str = "--max-failed") -> Threshold:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(%?)\s*", text)
    if match is None:
        raise ScenarioError(f"{source} {text!r}: give a number of calls (5) or a percentage (1%)")
    return Threshold(float(match.group(1)), bool(match.group(2)))


def parse_account(text: str, source: str = "--account") -> LoadAccount:
    """``USER:SECRET``, or ``USER`` with the secret from IAXPHONE_SECRET."""
    user, sep, secret = text.partition(":")
    if not user.strip():
        raise ScenarioError(f"{source} {text!r}: give USER:SECRET")
    return LoadAccount(user.strip(), secret if sep else os.environ.get("IAXPHONE_SECRET"))


def parse_destination(text: str, action: CallAction, source: str = "DEST") -> Destination:
    """``NUMBER`` or ``NUMBER*WEIGHT`` (``600*3``)."""
    weighted = re.fullmatch(r"(.+)\*([\d.]+)", text)
    number, sep, weight = (weighted[1], "*", weighted[2]) if weighted else (text, "", "")
    try:
        check_number(number)
    except TargetError as exc:
        raise ScenarioError(f"{source}: {exc}") from None
    value = 1.0
    if sep:
        try:
            value = float(weight)
        except ValueError:
            raise ScenarioError(f"{source} {text!r}: the weight must be a number") from None
        if not math.isfinite(value) or value <= 0:
            raise ScenarioError(f"{source} {text!r}: the weight must be more than 0")
    return Destination(number, value, action)


def parse_action(
    expect: str | None,
    tone_hz: float | None,
    play: Path | None,
    dtmf: str | None,
    source: str,
) -> CallAction:
    expect = expect or "none"
    if expect not in EXPECTS:
        raise ScenarioError(f"{source}: expect must be one of {', '.join(EXPECTS)}, not {expect!r}")
    if dtmf is not None and any(d not in DTMF_DIGITS for d in dtmf):
        raise ScenarioError(f"{source}: dtmf {dtmf!r}: use 0-9, *, #, A-D and ',' for a pause")
    if play is not None and not play.is_file():
        raise ScenarioError(f"{source}: play {str(play)!r}: no such file")
    if tone_hz is not None and not 50.0 <= tone_hz <= 3800.0:
        raise ScenarioError(f"{source}: tone_hz must be from 50 to 3800 Hz, not {tone_hz:g}")
    default = MILLIWATT_HZ if expect == "tone" else DEFAULT_TONE_HZ
    return CallAction(expect, tone_hz or default, play, dtmf)


def parse_formats(text: str, source: str) -> tuple[int, ...]:
    try:
        formats = parse_codec_list(text)
    except ValueError as exc:
        raise ScenarioError(f"{source}: {exc}") from None
    missing = [codec_info(fmt).name for fmt in formats if not is_available(fmt)]
    if missing:
        raise ScenarioError(f"{source}: {', '.join(missing)} cannot run here (not installed)")
    return tuple(int(fmt) for fmt in formats)


def load_file(path: Path) -> dict[str, Any]:
    """The TOML table of a scenario file (ScenarioError if it cannot be read or parsed)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ScenarioError(f"{path}: cannot read the scenario: {reason}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None


def _tables(raw: Mapping[str, object], key: str, source: str) -> list[Mapping[str, object]]:
    value = raw.get(key, [])
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ScenarioError(f"{source}: {key} must be a table or [[{key}]] tables")
    return value


def from_table(raw: Mapping[str, object], source: str, base: Path | None = None) -> Scenario:
    """A scenario from a TOML table (``source`` names it in messages; ``base``: where
    relative ``play`` paths are found).  Needs a target, an account and a destination."""
    _unknown(raw, _TOP_KEYS, source)
    target = _text(raw, "target", source)
    if target is None:
        raise ScenarioError(f"{source}: no target (the PBX, as HOST[:PORT])")
    try:
        host, port = parse_server(target, option=f"{source}: target")
    except TargetError as exc:
        raise ScenarioError(str(exc)) from None
    accounts: list[LoadAccount] = []
    for i, table in enumerate(_tables(raw, "account", source), 1):
        where = f"{source}: account {i}"
        _unknown(table, _ACCOUNT_KEYS, where)
        user = _text(table, "user", where)
        if user is None:
            raise ScenarioError(f"{where}: no user")
        secret = table.get("secret")
        if secret is not None and not isinstance(secret, str):
            raise ScenarioError(f"{where}: secret must be a string")
        accounts.append(LoadAccount(user, secret or os.environ.get("IAXPHONE_SECRET")))
    destinations: list[Destination] = []
    for i, table in enumerate(_tables(raw, "destination", source), 1):
        where = f"{source}: destination {i}"
        _unknown(table, _DEST_KEYS, where)
        number = _text(table, "number", where)
        if number is None:
            raise ScenarioError(f"{where}: no number")
        play_text = _text(table, "play", where)
        play = Path(play_text) if play_text else None
        if play is not None and base is not None and not play.is_absolute():
            play = base / play
        action = parse_action(
            _text(table, "expect", where),
            _number(table, "tone_hz", where),
            play,
            _text(table, "dtmf", where),
            where,
        )
        destination = parse_destination(number, action, where)
        weight = _number(table, "weight", where)
        destinations.append(replace(destination, weight=weight or 1.0))
    scenario = Scenario(host, port, tuple(accounts), tuple(destinations))
    changes: dict[str, Any] = {}
    for key, name, integer in (
        ("calls", "calls", True),
        ("rate", "rate", False),
        ("hold", "hold_s", False),
        ("duration", "duration_s", False),
        ("answer_timeout", "answer_timeout_s", False),
        ("workers", "workers", True),
        ("mos_threshold", "mos_threshold", False),
        ("min_mos", "min_mos", False),
    ):
        value = _number(raw, key, source, integer=integer)
        if value is not None:
            changes[name] = int(value) if integer else value
    for key in ("trunk", "register"):
        flag = _flag(raw, key, source)
        if flag is not None:
            changes[key] = flag
    codec = _text(raw, "codec", source)
    if codec is not None:
        changes["formats"] = parse_formats(codec, f"{source}: codec")
    max_failed = raw.get("max_failed")
    if max_failed is not None:
        if isinstance(max_failed, bool) or not isinstance(max_failed, int | float | str):
            raise ScenarioError(f"{source}: max_failed must be a number or a percentage string")
        changes["max_failed"] = parse_threshold(str(max_failed), f"{source}: max_failed")
    return check(replace(scenario, **changes), source)


def check(scenario: Scenario, source: str) -> Scenario:
    """A scenario that can run, or ScenarioError saying what is missing or out of range."""
    if not scenario.accounts:
        raise ScenarioError(f"{source}: no account to call as (--account USER:SECRET)")
    if not scenario.destinations:
        raise ScenarioError(f"{source}: no destination (a number to call)")
    for name, value in (("mos_threshold", scenario.mos_threshold), ("min_mos", scenario.min_mos)):
        if value is not None and not 1.0 <= value <= 4.5:
            raise ScenarioError(f"{source}: {name} must be from 1 to 4.5, not {value:g}")
    if scenario.calls < 1:
        raise ScenarioError(f"{source}: calls must be at least 1")
    return scenario


__all__ = [
    "CallAction",
    "Destination",
    "LoadAccount",
    "Scenario",
    "ScenarioError",
    "Threshold",
    "check",
    "from_table",
    "load_file",
    "parse_account",
    "parse_action",
    "parse_destination",
    "parse_formats",
    "parse_threshold",
]
