"""The C reference for the load benchmark: Asterisk 22 as the IAX2 client.

A second Asterisk, configured by benchmarks/asterisk-client/, runs beside the
bundled PBX as its own docker/pbx instance (IAXPHONE_PBX_INSTANCE=client, its
own IAX2 and AMI ports, its own run directories under the docker/pbx cache)
and holds the same N calls that iaxphone holds in benchmarks/load.py:

    channel originate IAX2/pbx-6001/600 extension s@bench      (not trunked)
    channel originate IAX2/pbx-trunk1/600 extension s@bench    (trunked)

pbx-6001 and pbx-trunk1 (its iax.conf) log in to the PBX as 6001 and as the
trunk peer trunk1; extension 600 is the PBX's Echo().  On the client's side
each answered call runs Milliwatt(): a 1004 Hz tone is generated, encoded to
G.711 u-law and sent every 20 ms; the echo is read as it arrives and dropped
(no jitter buffer: see the client's iax.conf for why).  Calls are originated
through AMI (one connection, "Command" actions), at most BATCH being set up
at a time, failed ones again, until all N are Up.  After a settling time the
CPU time (utime + stime of /proc/<pid>/stat, all threads) of the client
Asterisk and of the PBX is read over a window and divided by N x window:
milliseconds of CPU per call-second, as for iaxphone.

    python -m benchmarks.asterisk_client [N ...]   (the PBX must be up)
    python -m benchmarks.load [N ...]              (the same beside iaxphone)
"""

from __future__ import annotations

import contextlib
import os
import re
import runpy
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
PBX_SCRIPT = PROJECT / "docker" / "pbx"
CLIENT_CONF = HERE / "asterisk-client"
CONTEXT = "bench"
PEERS = {False: "pbx-6001", True: "pbx-trunk1"}  # trunked -> client iax.conf peer
HOST = "127.0.0.1"
AMI_ADMIN = ("admin", "admin-secret")  # both asterisk-conf/ and asterisk-client/
SETTLE_S = 2.0
WINDOW_S = 10.0
BATCH = 50  # calls originated before waiting for them to be Up


class ClientError(Exception):
    """The Asterisk client could not be started or did not hold its calls."""


# --------------------------------------------------------------------------- /proc


def stat_cpu_ticks(stat: str) -> int:
    """utime + stime (clock ticks, all threads) from the text of /proc/<pid>/stat.

    The second field is the command name in parentheses and may itself hold
    spaces and parentheses, so the fields are counted after the last ')':
    there the process state is field 3 of proc(5), utime field 14, stime 15.
    """
    close = stat.rfind(")")
    if close < 0:
        raise ValueError(f"not a /proc/<pid>/stat line: {stat[:60]!r}")
    fields = stat[close + 1 :].split()
    if len(fields) < 13:
        raise ValueError(f"/proc/<pid>/stat line too short: {stat[:60]!r}")
    return int(fields[11]) + int(fields[12])


def process_cpu_ms(pid: int) -> float:
    """CPU time (user + system, all threads) the process has used so far, in ms."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return 1000.0 * stat_cpu_ticks(stat) / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- docker/pbx


def pbx_script() -> dict[str, Any]:
    """docker/pbx's functions (load_settings, running_state, ...), without running it."""
    return runpy.run_path(str(PBX_SCRIPT), run_name="docker_pbx")


def pbx_pid(iax_port: int = 4569) -> int | None:
    """The pid of the PBX under test, from docker/pbx's state for its instance.

    The instance is IAXPHONE_PBX_INSTANCE (default "main"), as for docker/pbx
    itself.  None when it does not run in the chroot (Docker keeps its pid in
    another namespace) or listens on another port than the benchmark's.
    """
    script = pbx_script()
    with contextlib.suppress(Exception):
        state = script["running_state"](script["load_settings"]())
        if state and state.get("engine") == "chroot" and state.get("iax_port") == iax_port:
            return int(state["pid"])
    return None


def run_pbx(verb: str, env: dict[str, str], timeout: float = 120) -> str:
    proc = subprocess.run(
        [sys.executable, str(PBX_SCRIPT), verb],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        why = (proc.stderr or proc.stdout).strip() or f"exit {proc.returncode}"
        raise ClientError(f"docker/pbx {verb} ({env['IAXPHONE_PBX_INSTANCE']}): {why}")
    return proc.stdout


def free_port(kind: socket.SocketKind) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- AMI


class Ami:
    """One logged-in AMI connection for many CLI commands (events off)."""

    def __init__(self, port: int, timeout: float = 60.0) -> None:
        # Generous: with hundreds of calls on a small machine Asterisk may be
        # slow to answer, and a timed-out response would desynchronise us.
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.reader = self.sock.makefile("rb")
        banner = self.reader.readline().decode(errors="replace")
        if "Asterisk Call Manager" not in banner:
            self.close()
            raise ClientError(f"port {port} does not speak AMI: {banner.strip()!r}")
        self.serial = 0
        reply, _ = self.action(
            Action="Login", Username=AMI_ADMIN[0], Secret=AMI_ADMIN[1], Events="off"
        )
        if reply.get("Response") != "Success":
            self.close()
            raise ClientError(f"AMI login refused on port {port}: {reply.get('Message')}")

    def action(self, **headers: str) -> tuple[dict[str, str], list[str]]:
        """Send one action; its response headers and any "Output" lines."""
        self.serial += 1
        action_id = f"bench-{self.serial}"
        text = "".join(f"{k}: {v}\r\n" for k, v in {**headers, "ActionID": action_id}.items())
        self.sock.sendall(text.encode() + b"\r\n")
        reply: dict[str, str] = {}
        output: list[str] = []
        while True:
            raw = self.reader.readline()
            if not raw:
                raise ClientError("AMI closed the connection")
            line = raw.decode(errors="replace").rstrip("\r\n")
            if not line:
                if reply.get("ActionID") == action_id:
                    return reply, output
                reply, output = {}, []  # an event or a stale response: not ours
                continue
            key, sep, value = line.partition(": ")
            if sep and key == "Output":
                output.append(value)
            elif sep:
                reply[key] = value
            else:
                output.append(line)

    def command(self, command: str) -> str:
        reply, output = self.action(Action="Command", Command=command)
        if reply.get("Response") not in ("Success", "Follows"):
            raise ClientError(f"AMI command {command!r} failed: {reply.get('Message', reply)}")
        return "\n".join(output)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.sendall(b"Action: Logoff\r\n\r\n")
        with contextlib.suppress(OSError):
            self.reader.close()
            self.sock.close()


def channel_count(out: str) -> int:
    """The channel count in the output of "core show channels count"."""
    match = re.search(r"(\d+) active channels?", out)
    if not match:
        raise ClientError(f"unexpected 'core show channels count' output: {out!r}")
    return int(match.group(1))


def pbx_active_channels(ami_port: int = 5038) -> int | None:
    """Channels up on the PBX (others' calls too), or None when its AMI does not answer."""
    try:
        ami = Ami(ami_port, timeout=15.0)
    except (OSError, ClientError):
        return None
    try:
        return channel_count(ami.command("core show channels count"))
    except (OSError, ClientError):
        return None
    finally:
        ami.close()


# --------------------------------------------------------------------------- the client


@dataclass(frozen=True)
class ClientLoad:
    """One measurement: Asterisk as the client holding ``count`` calls."""

    count: int
    trunk: bool
    client_ms: float  # the client Asterisk's CPU ms per call-second
    pbx_ms: float | None  # the PBX's CPU ms per call-second (None: its pid is unknown)
    pbx_channels: int | None  # channels up on the PBX after the window (one per call)


class AsteriskClient:
    """The client Asterisk instance: start, hold N calls, measure, stop.

    with AsteriskClient() as client:
        figures = client.measure(200, trunk=True)
    """

    def __init__(
        self,
        instance: str = "client",
        pbx_port: int = 4569,
        pbx_ami_port: int = 5038,
        pid_of_pbx: int | None = None,
    ) -> None:
        self.instance = instance
        self.pbx_port = pbx_port
        self.pbx_ami_port = pbx_ami_port
        self.pbx_pid = pid_of_pbx if pid_of_pbx is not None else pbx_pid(pbx_port)
        self.env: dict[str, str] = {}
        self.pid = 0
        self.ami: Ami | None = None
        self._conf_dir: tempfile.TemporaryDirectory[str] | None = None

    # -- life cycle

    def start(self) -> None:
        conf = CLIENT_CONF
        if self.pbx_port != 4569:  # point the two peers at the PBX under test
            self._conf_dir = tempfile.TemporaryDirectory(prefix="iaxphone-client-conf-")
            conf = Path(self._conf_dir.name)
            for path in CLIENT_CONF.iterdir():
                text = path.read_text()
                if path.name == "iax.conf":
                    text = re.sub(r"(?m)^port = 4569\b", f"port = {self.pbx_port}", text)
                (conf / path.name).write_text(text)
        self.env = {
            "IAXPHONE_PBX_INSTANCE": self.instance,
            "IAXPHONE_PBX_CONF": str(conf),
            "IAXPHONE_PBX_ENGINE": "chroot",  # its pid must be readable in /proc
            "IAXPHONE_PBX_IAX_PORT": str(free_port(socket.SOCK_DGRAM)),
            "IAXPHONE_PBX_AMI_PORT": str(free_port(socket.SOCK_STREAM)),
            "IAXPHONE_PBX_AMI_TLS_PORT": str(free_port(socket.SOCK_STREAM)),
        }
        run_pbx("down", self.env)  # a client left behind by an interrupted run
        out = run_pbx("up", self.env)
        match = re.search(r"pid (\d+)", out)
        if not match:
            raise ClientError(f"docker/pbx up did not name the pid: {out.strip()!r}")
        self.pid = int(match.group(1))
        self.ami = Ami(int(self.env["IAXPHONE_PBX_AMI_PORT"]))

    def stop(self) -> None:
        if self.ami is not None:
            # Hang up first: an Asterisk stopped with calls up leaves the PBX
            # to find out by itself (retransmissions, then a timeout).
            with contextlib.suppress(OSError, ClientError):
                self.hangup_all()
            self.ami.close()
            self.ami = None
        if self.env:
            run_pbx("down", self.env)
        if self._conf_dir is not None:
            self._conf_dir.cleanup()
            self._conf_dir = None

    def __enter__(self) -> AsteriskClient:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- calls

    def cli(self, command: str) -> str:
        """Run a CLI command through AMI; on a broken connection log in again, once."""
        if self.ami is None:
            raise ClientError("the client Asterisk is not running")
        try:
            return self.ami.command(command)
        except OSError:
            self.ami.close()
            self.ami = Ami(int(self.env["IAXPHONE_PBX_AMI_PORT"]))
            return self.ami.command(command)

    def active_channels(self) -> int:
        return channel_count(self.cli("core show channels count"))

    def calls_up(self) -> int:
        """Calls of the client that are answered and in Milliwatt()."""
        lines = self.cli("core show channels concise").splitlines()
        return sum(1 for line in lines if "!Up!Milliwatt!" in line)

    def originate(self, count: int, trunk: bool, timeout: float = 120.0) -> None:
        """Originate ``count`` calls to the PBX's 600 and wait until all are Up.

        At most BATCH calls are being set up at a time; a call that fails
        (the PBX too slow to answer its NEW, say) is originated again.
        """
        peer = PEERS[trunk]
        up0, active0 = self.calls_up(), self.active_channels()
        deadline = time.monotonic() + timeout
        originated = 0
        while (up := self.calls_up() - up0) < count:
            pending = self.active_channels() - active0 - up  # originated, not yet Up
            send = min(count - up - pending, BATCH - pending)
            if send > 0 and originated + send > 2 * count + BATCH:
                raise ClientError(f"{originated - up} of {originated} calls failed (IAX2/{peer})")
            for _ in range(max(0, send)):
                self.cli(f"channel originate IAX2/{peer}/600 extension s@{CONTEXT}")
                originated += 1
            if time.monotonic() > deadline:
                raise ClientError(
                    f"{up} of {count} calls up after {timeout:.0f} s (IAX2/{peer}); "
                    f"see IAXPHONE_PBX_INSTANCE={self.instance} docker/pbx logs"
                )
            time.sleep(0.1)

    def hangup_all(self, timeout: float = 60.0) -> None:
        """Hang up every call of the client and wait until its channels are gone."""
        if self.ami is None:
            return
        self.cli("channel request hangup all")
        deadline = time.monotonic() + timeout
        while self.active_channels():
            if time.monotonic() > deadline:
                raise ClientError(f"calls still up {timeout:.0f} s after hanging up")
            time.sleep(0.1)

    def measure(
        self, count: int, trunk: bool, settle: float = SETTLE_S, window: float = WINDOW_S
    ) -> ClientLoad:
        """Hold ``count`` calls, read both Asterisks' CPU over ``window``, hang up."""
        try:
            self.originate(count, trunk)
            time.sleep(settle)
            client0 = process_cpu_ms(self.pid)
            pbx0 = process_cpu_ms(self.pbx_pid) if self.pbx_pid else 0.0
            wall0 = time.monotonic()
            time.sleep(window)
            client1 = process_cpu_ms(self.pid)
            pbx1 = process_cpu_ms(self.pbx_pid) if self.pbx_pid else 0.0
            wall = time.monotonic() - wall0
            still_up = self.calls_up()
            pbx_channels = pbx_active_channels(self.pbx_ami_port)
        finally:
            self.hangup_all()
        if still_up < count:
            raise ClientError(f"only {still_up} of {count} calls were still up after the window")
        per_call_second = 1.0 / (count * wall)
        return ClientLoad(
            count=count,
            trunk=trunk,
            client_ms=(client1 - client0) * per_call_second,
            pbx_ms=(pbx1 - pbx0) * per_call_second if self.pbx_pid else None,
            pbx_channels=pbx_channels,
        )


def main(argv: list[str]) -> int:
    sizes = [int(arg) for arg in argv] or [10, 50, 100, 200, 400]
    with AsteriskClient() as client:
        print(f"client Asterisk pid {client.pid}, PBX pid {client.pbx_pid}")
        for trunk in (False, True):
            for count in sizes:
                load = client.measure(count, trunk)
                pbx = f"{load.pbx_ms:.2f}" if load.pbx_ms is not None else "?"
                print(
                    f"{count:4d} calls {'trunked' if trunk else 'not trunked':11s}: "
                    f"client {load.client_ms:.2f} ms, PBX {pbx} ms CPU per call-second "
                    f"({load.pbx_channels} channels on the PBX)",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
