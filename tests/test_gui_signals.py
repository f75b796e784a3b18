"""SIGTERM and Ctrl-C (SIGINT) close the handset window within 2 s, whatever its call does."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from iaxphone.cli import exitcodes
from iaxphone.proto.events import CallRinging
from tests.pbx import Pbx
from tests.phones import call_from, phone
from tests.test_cli_call import env_with


def registered(pbx: Pbx, extension: int) -> bool:
    return "(null)" not in next(
        (
            line
            for line in pbx.cli(f"iax2 show peer {extension}").splitlines()
            if "Addr->IP" in line
        ),
        "(null)",
    )


def start_registered_window(
    pbx: Pbx, tmp_path: Path, command: list[str], auto_answer: bool
) -> subprocess.Popen[str]:
    """``command`` (a window as 6005) on its own config, once the PBX has it registered."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'[accounts.desk]\nserver = "127.0.0.1:{pbx.iax_port}"\nuser = "6005"\n'
        f'secret = "iax6005secret"\nauto_answer = {"true" if auto_answer else "false"}\n'
    )
    config.chmod(0o600)
    env = env_with(tmp_path, IAXPHONE_CONFIG=str(config), QT_QPA_PLATFORM="offscreen")
    env["PYTHONPATH"] = str(Path(__file__).parent.parent)
    window = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    deadline = time.monotonic() + 30
    while not registered(pbx, 6005):
        if window.poll() is not None or time.monotonic() > deadline:
            window.kill()
            raise AssertionError(f"the window never registered: {window.communicate()[1]}")
        time.sleep(0.1)  # polling the PBX for the registration, not standing in for it
    return window


@pytest.mark.parametrize("state", ["idle", "ringing", "talking"])
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_closes_the_window_within_two_seconds(
    pbx: Pbx, tmp_path: Path, stop: signal.Signals, state: str
) -> None:
    window = start_registered_window(
        pbx, tmp_path, [sys.executable, "-m", "iaxphone.cli", "gui"], state == "talking"
    )
    try:

        async def reach_and_stop() -> float:
            if state == "idle":
                sent = time.monotonic()
                window.send_signal(stop)
                await asyncio.to_thread(window.wait, 10)
                return time.monotonic() - sent
            async with phone(pbx, 6003, register=False) as caller:
                call = await call_from(caller, pbx, 6003, "6005")
                if state == "ringing":
                    await call.next_event(CallRinging, timeout=10)
                else:
                    await call.wait_answered(timeout=10)
                sent = time.monotonic()
                window.send_signal(stop)
                await asyncio.to_thread(window.wait, 10)
                return time.monotonic() - sent

        took = asyncio.run(reach_and_stop())
    finally:
        if window.poll() is None:
            window.kill()
    _, stderr = window.communicate()
    assert "Traceback" not in stderr, stderr
    assert window.returncode == exitcodes.OK, stderr
    assert took < 2.0, f"the window took {took:.2f} s to close"


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_closes_the_window_within_two_seconds_with_its_call_on_hold(
    pbx: Pbx, tmp_path: Path, stop: signal.Signals
) -> None:
    """The window answers, presses its own Hold key (tests/gui_hold_driver.py), then the signal."""
    driver = Path(__file__).with_name("gui_hold_driver.py")
    window = start_registered_window(pbx, tmp_path, [sys.executable, str(driver)], True)
    assert window.stdout is not None
    try:

        async def hold_and_stop() -> float:
            async with phone(pbx, 6003, register=False) as caller:
                call = await call_from(caller, pbx, 6003, "6005")
                await call.wait_answered(timeout=10)
                try:
                    line = await asyncio.wait_for(asyncio.to_thread(window.stdout.readline), 10)
                except TimeoutError:
                    window.kill()  # ends the readline, so the thread and the loop can end
                    raise
                assert line.strip() == "held"  # the window shows its call held
                sent = time.monotonic()
                window.send_signal(stop)
                await asyncio.to_thread(window.wait, 10)
                return time.monotonic() - sent

        took = asyncio.run(hold_and_stop())
    finally:
        if window.poll() is None:
            window.kill()
    _, stderr = window.communicate()
    assert "Traceback" not in stderr, stderr
    assert window.returncode == exitcodes.OK, stderr
    assert took < 2.0, f"the window took {took:.2f} s to close with its call on hold"
