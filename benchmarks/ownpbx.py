"""A PBX of one's own, to kill and restart: a further docker/pbx instance on free ports.

The shared PBX (IAXPHONE_PBX_INSTANCE on its ports) must stay up for every
other run, so fault tests and the faults benchmark start their own instance
(named after the shared one plus a suffix) on ports the kernel says are
free, and stop it at the end.  :meth:`OwnPbx.kill` is ``kill -9`` of its
Asterisk (a crash: no HANGUP, nothing more on the wire); :meth:`OwnPbx.up`
starts it again on the same ports, as a restarted PBX comes back.

The tests (tests/ownpbx.py) and benchmarks/faults.py share this one.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from benchmarks.asterisk_client import free_port

PBX_SCRIPT = Path(__file__).resolve().parent.parent / "docker" / "pbx"


@dataclass(frozen=True)
class OwnPbx:
    """A PBX instance of one's own (``up`` / ``kill`` / ``down``)."""

    instance: str
    iax_port: int
    ami_port: int
    ami_tls_port: int
    conf_add: str = ""  # IAXPHONE_PBX_CONF_ADD: a folder appended to the configuration

    @classmethod
    def on_free_ports(cls, name: str = "faults", conf_add: str = "") -> OwnPbx:
        base = os.environ.get("IAXPHONE_PBX_INSTANCE", "main")
        return cls(
            f"{base}-{name}"[:31],
            free_port(socket.SOCK_DGRAM),
            free_port(socket.SOCK_STREAM),
            free_port(socket.SOCK_STREAM),
            conf_add,
        )

    @property
    def env(self) -> dict[str, str]:
        return {
            "IAXPHONE_PBX_INSTANCE": self.instance,
            "IAXPHONE_PBX_IAX_PORT": str(self.iax_port),
            "IAXPHONE_PBX_AMI_PORT": str(self.ami_port),
            "IAXPHONE_PBX_AMI_TLS_PORT": str(self.ami_tls_port),
            **({"IAXPHONE_PBX_CONF_ADD": self.conf_add} if self.conf_add else {}),
        }

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.iax_port)

    def run(self, action: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """``docker/pbx ACTION`` for this instance."""
        return subprocess.run(
            [sys.executable, str(PBX_SCRIPT), action],
            env={**os.environ, **self.env}, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip

    def up(self) -> None:
        started = self.run("up")
        if started.returncode != 0:
            raise RuntimeError(f"docker/pbx up ({self.instance}): {started.stdout}{started.stderr}")

    def down(self) -> None:
        self.run("down")

    def pid(self) -> int:
        cache = Path(os.environ.get("IAXPHONE_CACHE", Path.home() / ".cache" / "iaxphone"))
        state = json.loads((cache / "pbx" / self.instance / "state.json").read_text())
        return int(state["pid"])

    def kill(self) -> None:
        """kill -9 its Asterisk: a crash, with nothing more sent."""
        os.kill(self.pid(), signal.SIGKILL)
