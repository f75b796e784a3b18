"""Hostile traffic against a live phone with a call up: fuzz, garbage and floods.

Method
------
The victim is a real ``iaxphone listen`` process registered to the bundled
PBX as 6002 with auto-answer on.  A second process, ``iaxphone call 6002``
as 6001, calls it through the PBX, sends speech-like frames for the whole
call and writes its statistics; the victim writes its own (``--stats``).
From 127.0.0.2 -- a stranger's address, as on an office LAN -- this process
sends the attack straight to the victim's UDP port, starting one second
before the call is dialled (so the set-up itself happens under attack) and
lasting about ten seconds; the call then runs on for a few seconds so that
the jitter buffer can be seen to come back.

Each row gives what the attacker sent and at what rate, what the kernel
dropped at the victim's socket (the ``drops`` column of /proc/net/udp: the
datagrams the endpoint could not absorb), the call's set-up time, its loss
and jitter-buffer delay on the victim's side against the same call without
an attack, and the victim's resident memory and open files before and after.

Attacks:

* **fuzz**: 1,000,000 datagrams of :class:`benchmarks.fuzzer.Fuzzer` (random
  bytes, mutated Asterisk frames, frames crafted at plausible call numbers)
  at 100,000/s, so that the whole call set-up and most of the call happen
  under it;
* **garbage**: random bytes at 20,000 datagrams/s for 10 s;
* **NEW flood**: NEWs from 1,000 source ports at 5,000/s, each carrying a
  *valid* call token that the stranger first obtained from the phone (the
  strongest stranger: it passes the token check and meets the trust rule);
* **POKE flood** and **REGREQ flood**: 2,000/s each from 200 source ports.

Run: ``python -m benchmarks.hostile`` (prints rows) or as part of
``python -m benchmarks``.  The bundled PBX must be up.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmarks.fuzzer import Fuzzer
from benchmarks.results import PBX, Result
from iaxphone.aio.udp import RECEIVE_BUFFER_BYTES, open_udp_socket
from iaxphone.wire.constants import FrameType, IaxCommand
from iaxphone.wire.frames import FullFrame, parse_frame
from iaxphone.wire.ies import InformationElements

SCENARIO = "Hostile traffic from 127.0.0.2 at a live phone with a call up"
STRANGER = "127.0.0.2"
CALL_S = 16.0  # the call's length after answer
ATTACK_S = 10.0  # how long a paced attack lasts
LEAD_S = 1.0  # the attack starts this long before the call is dialled
IAXPHONE = [sys.executable, "-m", "iaxphone"]


# -- the victim and its caller ---------------------------------------------------------


@dataclass(frozen=True)
class Socket:
    """The victim's UDP socket as the kernel sees it."""

    port: int
    drops: int


def udp_socket_of(pid: int) -> Socket | None:
    """The (first) IPv4 UDP socket that process ``pid`` holds, with its drop count."""
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    with contextlib.suppress(OSError):
        for fd in fd_dir.iterdir():
            with contextlib.suppress(OSError):
                link = os.readlink(fd)
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[9] in inodes:
            return Socket(int(fields[1].split(":")[1], 16), int(fields[-1]))
    return None


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class Lines:
    """A process's output, read in a thread, waited on by pattern."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def wait_for(self, pattern: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines:
                    if re.search(pattern, line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no {pattern!r} in: {' | '.join(self.lines[-5:])}")
                self._changed.wait(left)

    def text(self) -> str:
        self._thread.join(timeout=5)
        return "\n".join(self.lines)


def isolated_env(folder: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        IAXPHONE_CONFIG=os.devnull,  # an empty configuration
        IAXPHONE_DATA_DIR=str(folder / "data"),
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    return env


def start(args: list[str], folder: Path) -> tuple[subprocess.Popen[str], Lines]:
    process = subprocess.Popen(
        [*IAXPHONE, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=isolated_env(folder),
        cwd=folder,
    )
    return process, Lines(process)


def server() -> str:
    return f"{PBX[0]}:{PBX[1]}"


# -- attacks ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Attack:
    name: str
    datagrams: Callable[[int, int], list[tuple[int, bytes]]]  # (port, count) -> [(source, data)]
    rate: float  # datagrams per second
    count: int
    ports: int  # source ports on 127.0.0.2

    @property
    def seconds(self) -> float:
        return self.count / self.rate


def _full(command: IaxCommand, ies: InformationElements, source_call: int) -> bytes:
    return FullFrame(
        source_call=source_call,
        dest_call=0,
        timestamp=0,
        oseqno=0,
        iseqno=0,
        frame_type=FrameType.IAX,
        subclass=command,
        ies=ies,
    ).to_bytes()


Make = Callable[[int, int], list[tuple[int, bytes]]]


def fuzz() -> Make:
    def make(_port: int, count: int) -> list[tuple[int, bytes]]:
        # The stranger does not know the call numbers: it aims at the low ones,
        # where a freshly started phone allocates.
        rng = random.Random(2)
        fuzzer = Fuzzer(1, lambda: [(rng.randrange(1, 64), rng.randrange(1, 64))])
        return [(0, fuzzer.datagram()) for _ in range(count)]

    return make


def garbage() -> Make:
    def make(_port: int, count: int) -> list[tuple[int, bytes]]:
        rng = random.Random(3)
        return [(0, rng.randbytes(rng.randrange(1, 200))) for _ in range(count)]

    return make


def pokes(command: IaxCommand, ports: int) -> Make:
    def make(_port: int, count: int) -> list[tuple[int, bytes]]:
        rng = random.Random(4)
        out = []
        for i in range(count):
            ies = InformationElements()
            if command == IaxCommand.REGREQ:
                ies.username = f"{rng.randrange(10000)}"
                ies.call_token = b""
            out.append((i % ports, _full(command, ies, rng.randrange(1, 0x8000))))
        return out

    return make


def token_news(ports: int) -> Make:
    """NEWs with call tokens the victim handed out to each of the stranger's ports."""

    def make(port: int, count: int) -> list[tuple[int, bytes]]:
        tokens = fetch_tokens(port, ports)
        TOKENS_OBTAINED.append(len(tokens))
        rng = random.Random(5)
        out = []
        for i in range(count):
            source = i % ports
            ies = InformationElements(call_token=tokens.get(source, b""))
            ies.called_number, ies.calling_number = "6002", str(rng.randrange(10000))
            ies.auto_answer = True
            out.append((source, _full(IaxCommand.NEW, ies, rng.randrange(1, 0x8000))))
        return out

    return make


_SOCKETS: dict[int, socket.socket] = {}
TOKENS_OBTAINED: list[int] = []  # how many of its ports the NEW flooder got a token for


def stranger_socket(index: int) -> socket.socket:
    sock = _SOCKETS.get(index)
    if sock is None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((STRANGER, 0))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        _SOCKETS[index] = sock
    return sock


def close_sockets() -> None:
    for sock in _SOCKETS.values():
        sock.close()
    _SOCKETS.clear()


def fetch_tokens(port: int, ports: int) -> dict[int, bytes]:
    """Ask the victim for a call token from each source port (NEW without one)."""
    tokens: dict[int, bytes] = {}
    for index in range(ports):
        sock = stranger_socket(index)
        ies = InformationElements(call_token=b"")
        ies.called_number = "6002"
        sock.sendto(_full(IaxCommand.NEW, ies, 1 + index), ("127.0.0.1", port))
    deadline = time.monotonic() + 5.0
    pending = set(range(ports))  # one answer each; a refused NEW gets none
    while pending and time.monotonic() < deadline:
        for index in list(pending):
            sock = _SOCKETS[index]
            sock.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                data = sock.recv(2048)
                frame = parse_frame(data)
                token = getattr(getattr(frame, "ies", None), "call_token", None)
                if token:
                    tokens[index] = token
                pending.discard(index)
        time.sleep(0.001)
    for sock in _SOCKETS.values():
        sock.setblocking(True)
    return tokens


@dataclass(frozen=True)
class Sent:
    count: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


def send(port: int, datagrams: list[tuple[int, bytes]], rate: float | None) -> Sent:
    """Send to the victim, paced in 2 ms slots (or flat out)."""
    target = ("127.0.0.1", port)
    started = time.monotonic()
    sent = 0
    slot = 0.002
    per_slot = max(1, round((rate or 0) * slot))
    for i, (source, data) in enumerate(datagrams):
        with contextlib.suppress(OSError):
            stranger_socket(source).sendto(data, target)
            sent += 1
        if rate is not None and (i + 1) % per_slot == 0:
            due = started + (i + 1) / rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
    return Sent(sent, time.monotonic() - started)


# -- one run ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    sent: Sent
    kernel_drops: int
    caller_exit: int  # 0: the call was answered and ended normally
    setup_ms: float
    victim_loss_percent: float
    victim_jb_mean_ms: float
    victim_jb_end_ms: float
    victim_mos: float
    caller_loss_percent: float
    rss_before_kib: int
    rss_after_kib: int
    files_before: int
    files_after: int
    victim_exit: int
    tracebacks: int


def one_run(attack: Attack | None) -> Outcome:
    attack_s = attack.seconds if attack else ATTACK_S
    call_s = max(CALL_S, attack_s + 6.0)  # the call outlasts the attack, to see it recover
    with tempfile.TemporaryDirectory(prefix="iaxphone-hostile-") as tmp:
        folder = Path(tmp)
        victim, victim_out = start(
            [
                "listen",
                "--server",
                server(),
                "--user",
                "6002",
                "--secret",
                "iax6002secret",
                "--auto-answer",
                "--max-calls",
                "1",
                "--codec",
                "ulaw",
                "--stats",
                str(folder / "victim.json"),
                "-v",
            ],
            folder,
        )
        try:
            victim_out.wait_for(r"^listening as 6002", 20)
            sock = udp_socket_of(victim.pid)
            if sock is None:
                raise RuntimeError("the victim has no UDP socket")
            datagrams = attack.datagrams(sock.port, attack.count) if attack else []
            rss_before, files_before = rss_kib(victim.pid), open_files(victim.pid)
            drops_before = sock.drops
            sent = Sent(0, 0.0)
            sender: threading.Thread | None = None
            if attack is not None:

                def run_attack() -> None:
                    nonlocal sent
                    sent = send(sock.port, datagrams, attack.rate)

                sender = threading.Thread(target=run_attack)
                sender.start()
                time.sleep(LEAD_S)
            caller, caller_out = start(
                [
                    "call",
                    "6002",
                    "--server",
                    server(),
                    "--user",
                    "6001",
                    "--secret",
                    "iax6001secret",
                    "--codec",
                    "ulaw",
                    "--duration",
                    str(CALL_S),
                    "--answer-timeout",
                    "20",
                    "--stats",
                    str(folder / "caller.json"),
                ],
                folder,
            )
            # Sampled while the call is still up (the attack ends before the call).
            if sender is not None:
                sender.join()
            else:
                time.sleep(ATTACK_S)
            after = udp_socket_of(victim.pid)
            drops = (after.drops if after else drops_before) - drops_before
            rss_after, files_after = rss_kib(victim.pid), open_files(victim.pid)
            caller_exit = caller.wait(timeout=call_s + 60)
            if caller_exit != 0:
                victim.terminate()
            try:
                victim_exit = victim.wait(timeout=30) if caller_exit == 0 else 0
            except subprocess.TimeoutExpired:
                victim.kill()
                raise RuntimeError(
                    "the phone did not end after the call:\n"
                    + victim_out.text()[-2000:]
                    + "\n-- caller --\n"
                    + caller_out.text()[-2000:]
                ) from None
        finally:
            for process in (victim,):
                if process.poll() is None:
                    process.kill()
            close_sockets()
        output = victim_out.text() + "\n" + caller_out.text()
        nan = {"setup_ms": None}
        said = json.loads((folder / "caller.json").read_text()) if caller_exit == 0 else nan
        heard = json.loads((folder / "victim.json").read_text())[0] if caller_exit == 0 else nan

        def number(stats: dict[str, float | None], key: str) -> float:
            value = stats.get(key)
            return float("nan") if value is None else float(value)

        return Outcome(
            sent,
            drops,
            caller_exit,
            number(said, "setup_ms"),
            number(heard, "loss_percent"),
            number(heard, "jb_mean_delay_ms"),
            number(heard, "jb_delay_ms"),
            number(heard, "mos"),
            number(said, "loss_percent"),
            rss_before,
            rss_after,
            files_before,
            files_after,
            victim_exit,
            output.count("Traceback"),
        )


def attacks() -> list[Attack]:
    return [
        Attack("fuzz 1,000,000 at 40,000/s", fuzz(), 40_000, 1_000_000, 1),
        Attack("fuzz 1,000,000 at 100,000/s", fuzz(), 100_000, 1_000_000, 1),
        Attack("garbage 20,000/s for 10 s", garbage(), 20_000, 200_000, 1),
        Attack("NEW flood with valid tokens, 5,000/s from 1,000 ports", token_news(1000),
               5_000, 50_000, 1000),
        Attack("POKE flood 2,000/s from 200 ports", pokes(IaxCommand.POKE, 200), 2_000, 20_000,
               200),
        Attack("REGREQ flood 2,000/s from 200 ports", pokes(IaxCommand.REGREQ, 200), 2_000,
               20_000, 200),
    ]  # fmt: skip


def rows(name: str, o: Outcome, clean: Outcome | None) -> Iterator[Result]:
    def r(
        metric: str, value: float, unit: str, target: str = "", met: bool | None = None
    ) -> Result:
        return Result(SCENARIO, f"{name}: {metric}", value, unit, target, met)

    if o.sent.count:
        yield r("datagrams sent", o.sent.count, "")
        yield r("send rate", o.sent.rate, "datagrams/s")
        absorbed = o.sent.count - o.kernel_drops
        yield r("absorbed by the endpoint", 100 * absorbed / o.sent.count, "%")
        yield r("absorbed rate", absorbed / o.sent.seconds, "datagrams/s")
    if "token" in name and TOKENS_OBTAINED:
        yield r("source ports holding a valid call token", TOKENS_OBTAINED[-1], "")
    if o.caller_exit != 0:
        yield r(f"the call did not get through (caller exit {o.caller_exit})", 0, "")
        return
    yield r("call set-up", o.setup_ms, "ms")
    extra = o.victim_loss_percent - (clean.victim_loss_percent if clean else 0.0)
    if clean is None:
        yield r("loss heard by the phone", o.victim_loss_percent, "%")
    else:
        yield r("extra loss heard by the phone", extra, "%", "< 1 %", extra < 1.0)
    yield r("loss heard by the caller", o.caller_loss_percent, "%")
    yield r("jitter buffer mean delay", o.victim_jb_mean_ms, "ms")
    yield r("jitter buffer delay at the end", o.victim_jb_end_ms, "ms")
    yield r("MOS heard by the phone", o.victim_mos, "")
    yield r("phone RSS growth", (o.rss_after_kib - o.rss_before_kib) / 1024, "MiB")
    yield r("phone open files growth", o.files_after - o.files_before, "")
    yield r("tracebacks", o.tracebacks, "", "0", o.tracebacks == 0 and o.victim_exit == 0)


def receive_buffer_rows() -> list[Result]:
    """What the kernel grants the endpoint's socket (the victim's user: the same as ours)."""
    sock = open_udp_socket(("127.0.0.1", 0))
    try:
        granted = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    finally:
        sock.close()
    cap = int(Path("/proc/sys/net/core/rmem_max").read_text())
    return [
        Result(SCENARIO, "net.core.rmem_max (SO_RCVBUF's cap)", cap / 1024, "KiB"),
        Result(
            SCENARIO,
            f"endpoint's receive buffer, asked {RECEIVE_BUFFER_BYTES // 1024:,} KiB"
            " (SO_RCVBUFFORCE when allowed; the kernel reports twice what it grants)",
            granted / 1024,
            "KiB",
        ),
    ]


def run() -> list[Result]:
    results: list[Result] = receive_buffer_rows()
    clean = one_run(None)
    results += rows("no attack", clean, None)
    for attack in attacks():
        results += rows(attack.name, one_run(attack), clean)
    return results


NOTE = (
    "`python -m benchmarks.hostile`. Victim: `iaxphone listen --auto-answer` as 6002; "
    "caller: `iaxphone call 6002` as 6001 through the PBX, 16 s of u-law; the attack comes "
    "from 127.0.0.2 straight to the victim's port, from 1 s before the dial for about 10 s. "
    "'Absorbed' is the share of the attack the kernel did not drop at the victim's socket "
    "(its receive buffer overflowed otherwise; the endpoint reads up to 256 queued datagrams "
    "per wakeup and drops garbage on its header bytes before parsing it). RSS growth "
    "is from before the dial to the end of the attack, so it includes the call's own. The "
    "victim, the caller, the attacker and the PBX share this machine's two cores."
)


def main() -> int:
    for result in run():
        print(result.row(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
