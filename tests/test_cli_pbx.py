"""``iaxphone pbx ...`` against the bundled PBX, with real iaxphone endpoints on the calls."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from asyncio.subprocess import Process
from pathlib import Path

import pytest

from iaxphone.aio.client import CallHandle, IaxClient
from iaxphone.cli import exitcodes
from tests.ami import console_client
from tests.bridges import joined, wait_talking
from tests.pbx import PROJECT, Pbx
from tests.phones import answered_call, call_from, phone

pytestmark = pytest.mark.pbx


NO_CONFIG = os.devnull  # an empty configuration: the tester's own stays out


def cli_env(pbx: Pbx, secret: str | None = None) -> dict[str, str]:
    return {
        **os.environ,
        "IAXPHONE_AMI_USER": pbx.ami_user,
        "IAXPHONE_AMI_SECRET": secret or pbx.ami_secret,
        "IAXPHONE_CONFIG": NO_CONFIG,
    }


async def start_cli(pbx: Pbx, *args: str, secret: str | None = None) -> Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "iaxphone.cli",
        "pbx",
        "--ami",
        f"{pbx.host}:{pbx.ami_port}",
        *args,
        env=cli_env(pbx, secret),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def finish(process: Process) -> tuple[int, str, str]:
    try:
        out, err = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def iaxphone_pbx(pbx: Pbx, *args: str, secret: str | None = None) -> tuple[int, str, str]:
    return await finish(await start_cli(pbx, *args, secret=secret))


def status_lamps(out: str) -> dict[str, tuple[str, str]]:
    lamps = {}
    for line in out.splitlines():
        parts = line.rsplit(None, 1)
        if line[:4].isdigit() and len(parts) == 2:
            lamps[line.split()[0]] = (line[7:19].strip(), parts[1])
    return lamps


async def test_status_shows_lamps_presence_and_the_call(pbx: Pbx) -> None:
    async with phone(pbx, 6003) as alice, phone(pbx, 6004) as bob:
        call, _answered = await answered_call(alice, bob, pbx, 6003, "6004")
        code, out, err = await iaxphone_pbx(pbx, "status")
        assert code == exitcodes.OK, err
        lamps = status_lamps(out)
        assert set(lamps) >= {str(n) for n in range(6001, 6011)}
        assert lamps["6003"][0] == "in use" and lamps["6004"][0] == "in use"
        listed = [line.split()[0] for line in out.split("active channels:")[1].splitlines()[1:]]
        assert any(name.startswith("IAX2/6003-") for name in listed)
        assert any(name.startswith("IAX2/6004-") for name in listed)
        await call.hangup()


async def test_watch_prints_lamp_changes_until_interrupted(pbx: Pbx) -> None:
    process = await start_cli(pbx, "watch")
    assert process.stdout is not None
    try:
        header = await asyncio.wait_for(process.stdout.readline(), 15)
        assert header.startswith(b"watching ")
        seen = []
        async with phone(pbx, 6007) as carol, phone(pbx, 6002) as dave:
            call = await call_from(dave, pbx, 6002, "6007")
            await asyncio.wait_for(carol.incoming.get(), 5)
            while "lamp 6007 ringing" not in seen:
                seen.append(
                    (await asyncio.wait_for(process.stdout.readline(), 10)).decode().strip()
                )
            await call.hangup()
        process.send_signal(signal.SIGINT)
        code, _out, err = await finish(process)
    finally:
        if process.returncode is None:
            process.kill()
    assert code == exitcodes.OK, err
    assert err == ""


async def test_park_then_unpark_onto_another_phone(pbx: Pbx) -> None:
    async with console_client(pbx) as client, phone(pbx, 6003) as alice, phone(pbx, 6004) as bob:
        call, answered = await answered_call(alice, bob, pbx, 6003, "6004")
        code, _out, err = await iaxphone_pbx(pbx, "park", "6004")  # parks Alice, Bob's far end
        assert code == exitcodes.OK, err
        await answered.wait_ended(timeout=5)  # Bob's leg is done
        code, out, err = await iaxphone_pbx(pbx, "status")
        parked_lines = [line.split() for line in out.splitlines() if line.startswith("  70")]
        assert len(parked_lines) == 1 and parked_lines[0][1] == "6003", out
        slot = parked_lines[0][0]
        unpark = await start_cli(pbx, "unpark", slot, "--to", "6004")
        ringback = await asyncio.wait_for(bob.incoming.get(), 10)  # the PBX rings Bob
        ringback.answer()
        code, _out, err = await finish(unpark)  # returns once Bob answered
        assert code == exitcodes.OK, err
        assert await wait_talking(client, "IAX2/6003-", "IAX2/6004-")
        assert slot not in client.state.parked
        await ringback.hangup()
        await call.wait_ended(timeout=5)


async def test_blind_transfer_sends_the_far_end_to_the_destination(pbx: Pbx) -> None:
    async with (
        console_client(pbx) as client,
        phone(pbx, 6009) as alice,
        phone(pbx, 6010) as bob,
        phone(pbx, 6008) as carol,
    ):
        call, answered = await answered_call(alice, bob, pbx, 6009, "6010")
        code, _out, err = await iaxphone_pbx(pbx, "transfer", "6010", "6008")
        assert code == exitcodes.OK, err
        await answered.wait_ended(timeout=5)  # Bob transferred and left
        transferred = await asyncio.wait_for(carol.incoming.get(), 10)
        assert transferred.incoming is not None and transferred.incoming.caller_number == "6009"
        transferred.answer()
        assert await wait_talking(client, "IAX2/6009-", "IAX2/6008-")
        await transferred.hangup()
        await call.wait_ended(timeout=5)


async def attended_setup(
    pbx: Pbx, alice: IaxClient, bob: IaxClient, carol: IaxClient
) -> tuple[CallHandle, CallHandle, CallHandle]:
    """Alice (6001) calls Bob (6002); Bob starts an attended transfer to Carol (6005)."""
    call, answered = await answered_call(alice, bob, pbx, 6001, "6002")
    code, _out, err = await iaxphone_pbx(pbx, "atxfer", "6002", "6005")
    assert code == exitcodes.OK, err
    consult = await asyncio.wait_for(carol.incoming.get(), 10)
    assert consult.incoming is not None  # caller ID shows "s": the PBX dials via a Local channel
    consult.answer()
    return call, answered, consult


async def test_attended_transfer_completes_when_the_transferer_hangs_up(pbx: Pbx) -> None:
    async with (
        console_client(pbx) as client,
        phone(pbx, 6001) as alice,
        phone(pbx, 6002) as bob,
        phone(pbx, 6005) as carol,
    ):
        call, answered, consult = await attended_setup(pbx, alice, bob, carol)
        assert await wait_talking(client, "IAX2/6002-", "IAX2/6005-")  # Bob consults Carol
        assert not joined(await client.channels(), "IAX2/6001-", "IAX2/6005-")  # Alice waits
        await answered.hangup()  # Bob completes
        assert await wait_talking(client, "IAX2/6001-", "IAX2/6005-")
        await consult.hangup()
        await call.wait_ended(timeout=5)


async def test_attended_transfer_cancelled_returns_to_the_caller(pbx: Pbx) -> None:
    async with (
        console_client(pbx) as client,
        phone(pbx, 6001) as alice,
        phone(pbx, 6002) as bob,
        phone(pbx, 6005) as carol,
    ):
        call, answered, consult = await attended_setup(pbx, alice, bob, carol)
        code, _out, err = await iaxphone_pbx(pbx, "atxfer", "6002", "--cancel")
        assert code == exitcodes.OK, err
        await consult.wait_ended(timeout=5)  # Carol is dropped
        assert await wait_talking(client, "IAX2/6001-", "IAX2/6002-")
        await answered.hangup()
        await call.wait_ended(timeout=5)


async def test_originate_rings_my_phone_then_dials(pbx: Pbx) -> None:
    async with console_client(pbx) as client, phone(pbx, 6006) as alice:
        originate = await start_cli(pbx, "originate", "6006", "600")
        ringing = await asyncio.wait_for(alice.incoming.get(), 10)
        ringing.answer()
        code, _out, err = await finish(originate)
        assert code == exitcodes.OK, err
        for _ in range(100):
            channels = await client.channels()
            mine = [c for c in channels if c.name.startswith("IAX2/6006-")]
            if mine and mine[0].application == "Echo":
                break
            await asyncio.sleep(0.05)
        assert mine and mine[0].application == "Echo"
        await ringing.hangup()


async def test_pickup_takes_a_ringing_call_onto_my_phone(pbx: Pbx) -> None:
    async with (
        console_client(pbx) as client,
        phone(pbx, 6002) as caller,
        phone(pbx, 6005) as ringing_phone,
        phone(pbx, 6001) as mine,
    ):
        call = await call_from(caller, pbx, 6002, "6005")
        await asyncio.wait_for(ringing_phone.incoming.get(), 5)  # 6005 rings, nobody answers
        pickup = await start_cli(pbx, "pickup", "6005", "--to", "6001")
        mine_rings = await asyncio.wait_for(mine.incoming.get(), 10)
        mine_rings.answer()
        code, _out, err = await finish(pickup)
        assert code == exitcodes.OK, err
        assert await wait_talking(client, "IAX2/6002-", "IAX2/6001-")
        await mine_rings.hangup()
        await call.wait_ended(timeout=5)


async def test_the_ami_login_can_come_from_the_config_file(pbx: Pbx, tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[ami]\nserver = "{pbx.host}:{pbx.ami_port}"\nuser = "{pbx.ami_user}"\n'
        f'secret = "{pbx.ami_secret}"\ncontext = "office"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("IAXPHONE_AMI")}
    env["IAXPHONE_CONFIG"] = str(cfg)

    async def status() -> tuple[int, str, str]:
        return await finish(
            await asyncio.create_subprocess_exec(
                sys.executable, "-m", "iaxphone.cli", "pbx", "status", env=env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )
        )  # fmt: skip

    code, out, err = await status()
    assert code == exitcodes.OK, err
    assert set(status_lamps(out)) >= {str(n) for n in range(6001, 6011)}
    cfg.write_text(cfg.read_text().replace("server =", "srever ="))
    code, _out, err = await status()
    assert code == exitcodes.USAGE
    assert err.strip().endswith("line 2: ami.srever: unknown setting (expected server, user,"
                                " secret, context, dnd, tls, cafile)")  # fmt: skip


async def test_dnd_and_presence_show_in_status(pbx: Pbx) -> None:
    code, _out, err = await iaxphone_pbx(pbx, "dnd", "6008", "on")
    assert code == exitcodes.OK, err
    try:
        code, out, _err = await iaxphone_pbx(pbx, "status")
        assert status_lamps(out)["6008"][1] == "dnd"
        code, _out, err = await iaxphone_pbx(pbx, "presence", "6008", "away", "at lunch")
        assert code == exitcodes.OK, err
        code, out, _err = await iaxphone_pbx(pbx, "status")
        assert status_lamps(out)["6008"][1] == "away"
    finally:
        await iaxphone_pbx(pbx, "dnd", "6008", "off")


async def test_errors_are_one_line_with_documented_exit_codes(pbx: Pbx) -> None:
    cases = [
        (("status",), "wrong", exitcodes.AUTH_REJECTED, "AMI login refused"),
        (("park", "6001"), None, exitcodes.NOT_FOUND, "extension 6001 is not on a call"),
        (("unpark", "719", "--to", "6001"), None, exitcodes.NOT_FOUND, "nothing is parked"),
        (("presence", "6001", "busy"), None, exitcodes.USAGE, "invalid choice"),
    ]
    for args, secret, expected, message in cases:
        code, _out, err = await iaxphone_pbx(pbx, *args, secret=secret)
        lines = [line for line in err.splitlines() if line.strip()]
        assert code == expected, (args, err)
        assert "Traceback" not in err
        assert message in lines[-1], err


async def test_no_login_and_unreachable_ami() -> None:
    base = [sys.executable, "-m", "iaxphone.cli", "pbx", "--ami", "127.0.0.1:1", "status"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("IAXPHONE_AMI")}
    process = await asyncio.create_subprocess_exec(*base, env=env, stderr=asyncio.subprocess.PIPE)
    _out, err = await process.communicate()
    assert process.returncode == exitcodes.USAGE and b"no AMI login" in err
    env |= {"IAXPHONE_AMI_USER": "console", "IAXPHONE_AMI_SECRET": "x"}
    process = await asyncio.create_subprocess_exec(*base, env=env, stderr=asyncio.subprocess.PIPE)
    _out, err = await process.communicate()
    assert process.returncode == exitcodes.UNREACHABLE
    assert err.decode().strip().startswith("iaxphone: cannot reach AMI at 127.0.0.1:1")
    assert len(err.decode().strip().splitlines()) == 1


async def test_status_over_tls(pbx: Pbx) -> None:
    cert = str(PROJECT / "asterisk-conf" / "tls" / "ami.crt")
    # No --ami (start_cli would add one): --ami-tls alone must pick port 5039.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "iaxphone.cli",
        "pbx",
        "--ami-tls",
        "--ami-cafile",
        cert,
        "status",
        env=cli_env(pbx),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    code, out, err = await finish(process)
    assert code == exitcodes.OK, err
    assert set(status_lamps(out)) >= {str(n) for n in range(6001, 6011)}
    tls_address = f"{pbx.host}:{pbx.ami_tls_port}"
    untrusted = await start_cli(pbx, "--ami", tls_address, "--ami-tls", "status")  # system CAs
    code, _out, err = await finish(untrusted)
    assert code == exitcodes.UNREACHABLE
    assert "TLS certificate not trusted" in err and "Traceback" not in err
