"""``iaxphone gui`` with the AMI options: the window logs in to AMI too, or says why not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from iaxphone.cli.gui import link_pbx
from iaxphone.gui.directory import NO_AMI
from iaxphone.pbx.ami import PbxClient
from tests.ami import AmiWatcher
from tests.guiloop import gui_env, registered, run_gui_until
from tests.pbx import Pbx


@pytest.mark.pbx
async def test_gui_with_ami_logs_in_as_the_console_user(pbx: Pbx, tmp_path: Path) -> None:
    user, secret = pbx.extension(6009)
    args = [
        "--server", f"{pbx.host}:{pbx.iax_port}", "--user", user, "--secret", secret,
        "--ami", f"{pbx.host}:{pbx.ami_port}",
        "--ami-user", pbx.ami_user, "--ami-secret", pbx.ami_secret,
    ]  # fmt: skip

    def console_login(e: Any) -> bool:
        return bool(
            e.Event == "SuccessfulAuth" and e.Service == "AMI" and e.AccountID == pbx.ami_user
        )

    async with AmiWatcher(pbx) as ami:
        code, err = await run_gui_until(ami, tmp_path, args, console_login, registered("6009"))
    assert code == 0, err
    assert b"Traceback" not in err


@pytest.mark.pbx
async def test_an_ami_table_in_the_config_links_the_window_without_options(
    pbx: Pbx, tmp_path: Path
) -> None:
    user, secret = pbx.extension(6008)
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[accounts.desk]\nserver = "{pbx.host}:{pbx.iax_port}"\nuser = "{user}"\n'
        f'secret = "{secret}"\n\n'
        f'[ami]\nserver = "{pbx.host}:{pbx.ami_port}"\nuser = "{pbx.ami_user}"\n'
        f'secret = "{pbx.ami_secret}"\n'
    )

    def console_login(e: Any) -> bool:
        return bool(
            e.Event == "SuccessfulAuth" and e.Service == "AMI" and e.AccountID == pbx.ami_user
        )

    async with AmiWatcher(pbx) as ami:
        code, err = await run_gui_until(
            ami, tmp_path, [], console_login, registered("6008"), IAXPHONE_CONFIG=str(cfg)
        )
    assert code == 0, err
    assert b"Traceback" not in err


def test_bad_ami_options_are_usage_errors_before_the_window(tmp_path: Path) -> None:
    base = [
        sys.executable, "-m", "iaxphone.cli", "gui",
        "--server", "127.0.0.1", "--user", "6001", "--secret", "x",
    ]  # fmt: skip
    port = subprocess.run(
        [*base, "--ami", "127.0.0.1:99999", "--ami-user", "u", "--ami-secret", "s"],
        env=gui_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert port.returncode == 2
    assert port.stderr.strip() == (
        "iaxphone: --ami '127.0.0.1:99999': port must be a number from 1 to 65535"
    )
    login = subprocess.run(
        [*base, "--ami", "127.0.0.1"], env=gui_env(tmp_path), capture_output=True, text=True,
        timeout=30,
    )  # fmt: skip
    assert login.returncode == 2 and "no AMI login" in login.stderr


async def test_an_unreachable_ami_leaves_the_window_without_lamps_and_says_why() -> None:
    client, reason = await link_pbx(PbxClient("127.0.0.1", 1, "console", "x"), NO_AMI)
    assert client is None
    assert reason.startswith("no presence: cannot reach AMI at 127.0.0.1:1")
    assert await link_pbx(None, NO_AMI) == (None, NO_AMI)


@pytest.mark.pbx
async def test_a_refused_ami_login_leaves_the_window_without_lamps(pbx: Pbx) -> None:
    refused = PbxClient(pbx.host, pbx.ami_port, pbx.ami_user, "wrong")
    client, reason = await link_pbx(refused, NO_AMI)
    assert client is None and reason.startswith("no presence: AMI login refused")
    good = PbxClient(pbx.host, pbx.ami_port, pbx.ami_user, pbx.ami_secret)
    client, reason = await link_pbx(good, NO_AMI)
    try:
        assert client is good and reason == "" and "6001" in good.state.extensions
    finally:
        good.close()
