"""The bundled PBX as the test suite sees it: start/stop through docker/pbx, AMI through pyst2."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import asterisk.manager

PROJECT = Path(__file__).resolve().parent.parent
PBX_SCRIPT = PROJECT / "docker" / "pbx"


def run_pbx(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run docker/pbx with this interpreter's environment plus env."""
    return subprocess.run(
        [sys.executable, str(PBX_SCRIPT), *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _env_port(name: str, default: int) -> int:
    """The port docker/pbx was told to use (the same variables), so a second instance can be tested."""
    return int(os.environ.get(name, default))


@dataclass(frozen=True)
class Pbx:
    """Where the bundled PBX listens and how to log in (see asterisk-conf/)."""

    host: str = "127.0.0.1"
    iax_port: int = field(default_factory=lambda: _env_port("IAXPHONE_PBX_IAX_PORT", 4569))
    ami_port: int = field(default_factory=lambda: _env_port("IAXPHONE_PBX_AMI_PORT", 5038))
    ami_tls_port: int = field(default_factory=lambda: _env_port("IAXPHONE_PBX_AMI_TLS_PORT", 5039))
    ami_user: str = "console"
    ami_secret: str = "console-secret"
    admin_user: str = "admin"
    admin_secret: str = "admin-secret"

    def extension(self, number: int) -> tuple[str, str]:
        """(username, secret) of a desk phone 6001-6010."""
        return str(number), f"iax{number}secret"

    def ami(self, admin: bool = True) -> asterisk.manager.Manager:
        manager = asterisk.manager.Manager()
        manager.connect(self.host, self.ami_port)
        user, secret = (
            (self.admin_user, self.admin_secret) if admin else (self.ami_user, self.ami_secret)
        )
        manager.login(user, secret)
        # Commands only: an event flood from other tests' calls is not wanted here.
        manager.send_action({"Action": "Events", "EventMask": "off"})
        return manager

    def mailbox_count(self, number: int) -> tuple[int, int]:
        """(new, old) voicemail messages of a desk phone, as the PBX counts them."""
        manager = self.ami(admin=True)
        try:
            reply = manager.send_action({"Action": "MailboxCount", "Mailbox": f"{number}@office"})
            return int(reply.get_header("NewMessages")), int(reply.get_header("OldMessages"))
        finally:
            close_quietly(manager)

    def cli(self, command: str) -> str:
        """Run an Asterisk CLI command through AMI (admin) and return its output lines."""
        manager = self.ami(admin=True)
        try:
            return command_output(manager.command(command))
        finally:
            close_quietly(manager)


def sibling_instance(name: str) -> str:
    """A PBX instance name of this test run's own (helpers' runs may share the machine)."""
    return os.environ.get("IAXPHONE_PBX_INSTANCE", "main") + name


def close_quietly(manager: asterisk.manager.Manager) -> None:
    """Log off; pyst2 raises if its reader thread already saw the socket close."""
    with contextlib.suppress(ValueError, asterisk.manager.ManagerSocketException):
        manager.close()


def command_output(message: asterisk.manager.ManagerMsg) -> str:
    """The text of an AMI Command response.

    Asterisk 22 sends each line as its own "Output:" header; pyst2 keeps
    only the last one in .headers, so read them from the raw response.
    """
    lines = []
    for raw in message.response:
        if raw.startswith("Output:"):
            lines.append(raw[len("Output:") :].strip("\r\n").removeprefix(" "))
    return "\n".join(lines) if lines else message.data
