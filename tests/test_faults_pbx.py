"""Faults against a PBX of the tests' own: killed mid-call, restarted while registered.

Each test starts from that PBX up (``own``), may kill or restart it, and
leaves it up again.  The bounds asserted are the documented ones (README,
"Faults"): a call notices a dead server within the PING interval plus the
retry window; a registration notices within its keepalive plus the retry
window and then retries on a short back-off.
"""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from iaxphone.cli import exitcodes
from iaxphone.proto.endpoint import EndpointConfig
from iaxphone.proto.registration import KEEPALIVE_S, MAX_BACKOFF
from iaxphone.proto.reliability import RetryPolicy
from tests.ownpbx import OwnPbx
from tests.pbx import Pbx
from tests.test_cli_call import account, answered_in_history, env_with

PING_S = EndpointConfig().ping_interval
RETRY_S = RetryPolicy().give_up_after()


@pytest.fixture(scope="module")
def own_pbx(pbx: Pbx) -> Iterator[OwnPbx]:
    """A PBX of this module's own (the shared one stays up for the other tests)."""
    own = OwnPbx.on_free_ports()
    own.up()
    try:
        yield own
    finally:
        own.down()


@pytest.fixture
def own(own_pbx: OwnPbx) -> Iterator[OwnPbx]:
    own_pbx.up()  # a no-op when it runs; a fresh start after a test killed it
    yield own_pbx
    own_pbx.up()


def test_a_pbx_killed_mid_call_ends_the_call_with_exit_6_in_bounded_time(
    own: OwnPbx, tmp_path: Path
) -> None:
    """Before: noticed after 11.3 s, 'far end hung up' and exit 0 ("answered and ended normally")."""
    phone = subprocess.Popen(
        [sys.executable, "-m", "iaxphone.cli", "call", "600", "--server",
         f"127.0.0.1:{own.iax_port}", *account(6008), "--duration", "120"],
        stderr=subprocess.PIPE, text=True, env=env_with(tmp_path),
    )  # fmt: skip
    try:
        answered = answered_in_history(tmp_path / "data" / "history.sqlite3")
        assert answered is not None, "the call was never answered"
        own.kill()
        killed = time.monotonic()
        _, stderr = phone.communicate(timeout=PING_S + RETRY_S + 10)
        took = time.monotonic() - killed
    finally:
        if phone.poll() is None:
            phone.kill()
    assert phone.returncode == exitcodes.UNREACHABLE, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr
    assert lines[-1].startswith("iaxphone: call lost after "), stderr
    assert "the server stopped answering" in lines[-1] and "hung up" not in stderr
    assert took <= PING_S + RETRY_S + 1.0, f"noticed after {took:.1f} s"


class Lines:
    """A process's stderr, line by line, with a timeout per line."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert process.stderr is not None
        stream = process.stderr
        threading.Thread(target=lambda: [self.lines.put(x) for x in stream], daemon=True).start()

    def wait_for(self, text: str, timeout: float) -> float:
        """Seconds until a line containing ``text`` (AssertionError after ``timeout``)."""
        start = time.monotonic()
        deadline = start + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            self.seen.append(line)
            if text in line:
                return time.monotonic() - start
        raise AssertionError(f"no {text!r} within {timeout:g} s; saw {self.seen}")


def test_register_watch_tells_a_pbx_restart_and_registers_again_promptly(
    own: OwnPbx, tmp_path: Path
) -> None:
    """Before: nothing printed, and registered again only at the next refresh (27.9 s)."""
    watcher = subprocess.Popen(
        [sys.executable, "-m", "iaxphone.cli", "register", "--server",
         f"127.0.0.1:{own.iax_port}", *account(6009), "--watch"],
        stderr=subprocess.PIPE, text=True, env=env_with(tmp_path),
    )  # fmt: skip
    try:
        lines = Lines(watcher)
        lines.wait_for("registered 6009", 15)
        own.kill()
        noticed = lines.wait_for("registration of 6009 at", KEEPALIVE_S + RETRY_S + 3)
        assert "lost: no answer from" in lines.seen[-1] and "retrying" in lines.seen[-1]
        assert noticed <= KEEPALIVE_S + RETRY_S + 1.5
        own.up()
        back = lines.wait_for("again after", MAX_BACKOFF + RETRY_S + 5)
        assert back <= MAX_BACKOFF + RETRY_S + 1.0, f"registered {back:.1f} s after the PBX was up"
        # The PBX knows the phone again: the registration is its, not just ours.
        assert "6009" in own.pbx.cli("iax2 show peer 6009") and "OK" in own.pbx.cli(
            "iax2 show peers"
        )
    finally:
        watcher.terminate()
        watcher.wait(timeout=10)
    assert "Traceback" not in "".join(lines.seen)


def test_recording_to_a_full_disk_stops_the_recording_not_the_call(
    pbx: Pbx, tmp_path: Path
) -> None:
    """Before: a traceback every 20 ms and a call that never ended."""
    stats = tmp_path / "stats.json"
    result = subprocess.run(
        [sys.executable, "-m", "iaxphone.cli", "call", "600", "--server",
         f"127.0.0.1:{pbx.iax_port}", *account(6007), "--duration", "3",
         "--record", "/dev/full", "--stats", str(stats)],
        capture_output=True, text=True, timeout=30, env=env_with(tmp_path),
    )  # fmt: skip
    assert result.returncode == exitcodes.OK, result.stderr
    assert "Traceback" not in result.stderr
    stopped = [line for line in result.stderr.splitlines() if "recording stopped" in line]
    assert stopped == [
        "iaxphone: recording stopped: /dev/full: No space left on device (the call goes on)"
    ]
    written = json.loads(stats.read_text())
    assert written["packets_received"] > 120 and written["hung_up_by"] == "local"


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_ends_a_call_within_two_seconds_after_the_pbx_died(
    own: OwnPbx, tmp_path: Path, stop: signal.Signals
) -> None:
    """The hangup can never be acknowledged: the command must not wait for it."""
    phone = subprocess.Popen(
        [sys.executable, "-m", "iaxphone.cli", "call", "600", "--server",
         f"127.0.0.1:{own.iax_port}", *account(6008), "--duration", "120"],
        stderr=subprocess.PIPE, text=True, env=env_with(tmp_path),
    )  # fmt: skip
    try:
        answered = answered_in_history(tmp_path / "data" / "history.sqlite3")
        assert answered is not None, "the call was never answered"
        own.kill()
        sent = time.monotonic()
        phone.send_signal(stop)
        _, stderr = phone.communicate(timeout=20)
        took = time.monotonic() - sent
    finally:
        if phone.poll() is None:
            phone.kill()
    assert "Traceback" not in stderr
    assert took < 2.0, f"took {took:.2f} s to stop: {stderr}"
