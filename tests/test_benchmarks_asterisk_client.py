"""The load benchmark's C reference: /proc CPU parsing, and Asterisk as a client of the PBX."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from benchmarks.asterisk_client import AsteriskClient, process_cpu_ms, stat_cpu_ticks
from tests.pbx import Pbx

# proc(5): pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt
# majflt cmajflt utime stime cutime cstime ...
STAT = "4242 ({comm}) S 1 4242 4242 0 -1 4194560 1234 0 5 0 {utime} {stime} 77 88 20 0 50 0"


@pytest.mark.parametrize("comm", ["asterisk", "a b", "x) S 1 2 (y", "(", ")"])
def test_utime_and_stime_are_read_after_the_last_parenthesis(comm: str) -> None:
    # The children's times (cutime, cstime) are not the process's own.
    assert stat_cpu_ticks(STAT.format(comm=comm, utime=1500, stime=250)) == 1750


@pytest.mark.parametrize("line", ["", "4242 asterisk S 1", "4242 (asterisk) S 1 4242 0"])
def test_a_line_that_is_not_proc_stat_is_refused(line: str) -> None:
    with pytest.raises(ValueError):
        stat_cpu_ticks(line)


def test_process_cpu_ms_follows_this_process() -> None:
    ticks = stat_cpu_ticks(Path("/proc/self/stat").read_text())
    assert ticks / os.sysconf("SC_CLK_TCK") == pytest.approx(sum(os.times()[:2]), abs=0.05)
    before = process_cpu_ms(os.getpid())
    end = time.process_time() + 0.15
    while time.process_time() < end:
        pass
    assert 100 <= process_cpu_ms(os.getpid()) - before <= 1000


def test_asterisk_as_a_client_holds_calls_on_the_pbx(pbx: Pbx) -> None:
    """Start the client instance, one call per mode to 600 seen Up in the PBX, stop it."""
    client = AsteriskClient(instance="clienttest", pbx_port=pbx.iax_port, pbx_ami_port=pbx.ami_port)
    with client:
        pid = client.pid
        assert process_cpu_ms(pid) > 0
        client.originate(1, trunk=False)
        client.originate(1, trunk=True)
        assert client.calls_up() == 2
        # Client side: Username and "Lo/Rem" call numbers; the PBX names its
        # channel after the user and its own call number (the client's Rem).
        ours = re.findall(
            r"(?m)^IAX2/\S+\s+\S+\s+(\S+)\s+\d+/(\d+)", client.cli("iax2 show channels")
        )
        assert sorted(user for user, _ in ours) == ["6001", "trunk1"]
        on_pbx = pbx.cli("core show channels concise")
        for user, remote in ours:
            assert f"IAX2/{user}-{int(remote)}!office!600!3!Up!Echo!" in on_pbx
        client.hangup_all()
        assert client.calls_up() == 0
    assert not _running(pid), "the client Asterisk must stop with the context"


def _running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "Z" not in next(s for s in status.splitlines() if s.startswith("State:")).split()[1]
