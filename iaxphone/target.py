"""Where to call: an extension plus --server, or an ``iax:`` URI (RFC 5456, section 12).

``iax:[user@]host[:port][/number[?context]]``
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from iaxphone.errors import IaxphoneError
from iaxphone.wire.constants import DEFAULT_PORT

_URI = re.compile(
    r"^iax:(?:(?P<user>[^@/\s]+)@)?(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*)"
    r"(?::(?P<port>\d{1,5}))?(?:/(?P<number>[^?\s]*)(?:\?(?P<context>[^\s]+))?)?$"
)


class TargetError(IaxphoneError, ValueError):
    """A destination or server that cannot be understood (one line for the user)."""


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    number: str
    user: str | None = None
    context: str | None = None


def parse_server(
    text: str, default_port: int = DEFAULT_PORT, option: str = "--server"
) -> tuple[str, int]:
    host, sep, port = text.rpartition(":") if text.count(":") == 1 else (text, "", "")
    if not sep:
        host, port = text, str(default_port)
    if not host:
        raise TargetError(f"{option} {text!r}: no host")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise TargetError(f"{option} {text!r}: port must be a number from 1 to 65535")
    return host, int(port)


def check_number(dest: str) -> str:
    """``dest`` if it can be an extension (digits, letters, * # + _ . -), else TargetError."""
    if not re.fullmatch(r"[0-9A-Za-z*#+_.-]+", dest):
        raise TargetError(f"{dest!r} is neither an extension nor an iax: URI")
    return dest


def parse_target(dest: str, server: str | None) -> Target:
    """DEST is an extension (with --server) or an iax: URI."""
    if dest.lower().startswith("iax:"):
        match = _URI.match(dest)
        if match is None:
            raise TargetError(
                f"malformed iax: URI {dest!r}; expected iax:[user@]host[:port][/number[?context]]"
            )
        port = int(match["port"] or DEFAULT_PORT)
        if not 0 < port < 65536:
            raise TargetError(f"malformed iax: URI {dest!r}: port {port} out of range")
        return Target(
            match["host"].strip("[]"), port, match["number"] or "s", match["user"], match["context"]
        )
    check_number(dest)
    if server is None:
        raise TargetError(f"calling {dest!r} needs --server HOST[:PORT] (or an iax: URI)")
    host, port = parse_server(server)
    return Target(host, port, dest)
