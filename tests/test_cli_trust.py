"""``iaxphone listen`` against the bundled PBX: strangers are refused, signals always stop it."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from iaxphone.cli import exitcodes
from iaxphone.wire.constants import IaxCommand
from tests.pbx import Pbx
from tests.phones import call_from, phone
from tests.stranger import stranger
from tests.test_cli_call import SERVER, account, env_with


def start_listener(tmp_path: Path, *options: str) -> tuple[subprocess.Popen[str], int, list[str]]:
    """``iaxphone listen -v`` as 6004; returns it, its IAX2 port and its first lines."""
    listener = subprocess.Popen(
        [sys.executable, "-m", "iaxphone.cli", "listen", *SERVER, *account(6004), "-v", *options],
        stderr=subprocess.PIPE, text=True, env=env_with(tmp_path),
    )  # fmt: skip
    assert listener.stderr is not None
    lines: list[str] = []
    while not any("listening as 6004" in line for line in lines):
        line = listener.stderr.readline()
        assert line, f"listener exited: {lines}"
        lines.append(line)
    return listener, local_port(listener.pid), lines


def local_port(pid: int) -> int:
    """The UDP port the process listens on (its only UDP socket)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = str(fd.readlink()) if fd.is_symlink() else ""
        if match := re.fullmatch(r"socket:\[(\d+)\]", target):
            inodes.add(match.group(1))
    for row in Path("/proc/net/udp").read_text().splitlines()[1:]:
        fields = row.split()
        if fields[9] in inodes:
            return int(fields[1].split(":")[1], 16)
    raise AssertionError("no UDP socket")


def test_listen_refuses_a_strangers_call_even_with_auto_answer(pbx: Pbx, tmp_path: Path) -> None:
    listener, port, _ = start_listener(tmp_path, "--auto-answer", "--max-calls", "1")
    try:

        async def knock() -> int:
            async with stranger() as who:
                reply = await who.call(("127.0.0.1", port), auto_answer=True)
                assert reply.ies is not None
                return reply.subclass if reply.ies.cause_code == 21 else -1

        assert asyncio.run(knock()) == IaxCommand.REJECT
        listener.send_signal(signal.SIGTERM)
        assert listener.wait(timeout=5) == exitcodes.OK
    finally:
        if listener.poll() is None:
            listener.kill()
    assert listener.stderr is not None
    rest = listener.stderr.read()
    assert "incoming call" not in rest and "Stranger" not in rest and "Traceback" not in rest


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_ends_listen_within_two_seconds_while_its_last_call_rings(
    pbx: Pbx, tmp_path: Path, stop: signal.Signals
) -> None:
    """Before, ``listen --max-calls 1`` with its one call ringing ignored SIGTERM for minutes."""
    listener, _, _ = start_listener(tmp_path, "--max-calls", "1")
    assert listener.stderr is not None
    stderr = listener.stderr
    try:

        async def ring_and_stop() -> float:
            async with phone(pbx, 6003, register=False) as caller:
                await call_from(caller, pbx, 6003, "6004")
                line = await asyncio.to_thread(stderr.readline)
                assert "incoming call from" in line, line
                sent = time.monotonic()
                listener.send_signal(stop)
                await asyncio.to_thread(listener.wait, 10)
                return time.monotonic() - sent

        took = asyncio.run(ring_and_stop())
    finally:
        if listener.poll() is None:
            listener.kill()
    assert listener.returncode == exitcodes.OK
    assert took < 2.0, f"listen took {took:.2f} s to stop"


@pytest.mark.parametrize("held", [False, True], ids=["talking", "held"])
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_ends_listen_within_two_seconds_while_a_call_talks_or_is_held(
    pbx: Pbx, tmp_path: Path, stop: signal.Signals, held: bool
) -> None:
    listener, _, _ = start_listener(tmp_path, "--auto-answer")
    assert listener.stderr is not None
    stderr = listener.stderr
    try:

        async def talk_and_stop() -> float:
            async with phone(pbx, 6003, register=False) as caller:
                call = await call_from(caller, pbx, 6003, "6004")
                await call.wait_answered(timeout=10)
                if held:
                    call.hold()
                    await asyncio.sleep(0.3)  # the HOLD on its way through the PBX
                sent = time.monotonic()
                listener.send_signal(stop)
                await asyncio.to_thread(listener.wait, 10)
                return time.monotonic() - sent

        took = asyncio.run(talk_and_stop())
    finally:
        if listener.poll() is None:
            listener.kill()
    rest = stderr.read()
    assert "Traceback" not in rest
    assert listener.returncode == exitcodes.OK, rest
    assert took < 2.0, f"listen took {took:.2f} s to stop"
