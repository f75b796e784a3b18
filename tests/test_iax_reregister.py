"""Re-registration after the PBX goes away and comes back (its own PBX instance)."""

from __future__ import annotations

import asyncio
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.asterisk_client import free_port
from iaxphone.aio.client import IaxClient
from iaxphone.proto.endpoint import EndpointConfig
from iaxphone.proto.events import Registered, RegistrationFailed
from iaxphone.proto.registration import Account
from iaxphone.proto.reliability import RetryPolicy
from iaxphone.wire.constants import Format
from tests.pbx import PROJECT, Pbx, run_pbx, sibling_instance

pytestmark = pytest.mark.asyncio


@pytest.fixture
def restartable_pbx(pbx: Pbx, tmp_path: Path) -> Iterator[tuple[Pbx, dict[str, str]]]:
    """A second PBX on free ports, granting 6-second registrations so the test is quick."""
    conf = tmp_path / "conf"
    shutil.copytree(PROJECT / "asterisk-conf", conf)
    iax = conf / "iax.conf"
    text = iax.read_text().replace("minregexpire = 60", "minregexpire = 6")
    iax.write_text(text.replace("maxregexpire = 3600", "maxregexpire = 6"))
    env = {
        "IAXPHONE_PBX_INSTANCE": sibling_instance("restart"),
        "IAXPHONE_PBX_CONF": str(conf),
        "IAXPHONE_PBX_IAX_PORT": str(free_port(socket.SOCK_DGRAM)),
        "IAXPHONE_PBX_AMI_PORT": str(free_port(socket.SOCK_STREAM)),
        "IAXPHONE_PBX_AMI_TLS_PORT": str(free_port(socket.SOCK_STREAM)),
        "IAXPHONE_PBX_ENGINE": "chroot",
    }
    up = run_pbx("up", env=env)
    assert up.returncode == 0, up.stderr
    try:
        yield (
            Pbx(
                iax_port=int(env["IAXPHONE_PBX_IAX_PORT"]),
                ami_port=int(env["IAXPHONE_PBX_AMI_PORT"]),
            ),
            env,
        )
    finally:
        run_pbx("down", env=env)


async def next_event(client: IaxClient, kind: type, timeout: float) -> object:
    async def wait() -> object:
        while True:
            event = await client.events.get()
            if isinstance(event, kind):
                return event

    return await asyncio.wait_for(wait(), timeout)


async def test_reregisters_after_the_pbx_restarts(
    restartable_pbx: tuple[Pbx, dict[str, str]],
) -> None:
    pbx, env = restartable_pbx
    config = EndpointConfig(
        formats=[Format.ULAW], retry=RetryPolicy(initial=0.2, maximum=1.0, max_retries=3)
    )
    async with IaxClient(("127.0.0.1", 0), config) as client:
        username, secret = pbx.extension(6001)
        registered = await client.register(
            Account(username, secret, (pbx.host, pbx.iax_port), refresh=6)
        )
        assert registered.expires == 6
        down = await asyncio.to_thread(run_pbx, "down", env=env)
        assert down.returncode == 0
        failed = await next_event(client, RegistrationFailed, timeout=20)
        assert isinstance(failed, RegistrationFailed)
        assert failed.reason == f"no answer from 127.0.0.1:{pbx.iax_port}"
        assert not failed.auth_rejected
        up = await asyncio.to_thread(run_pbx, "up", env=env)
        assert up.returncode == 0, up.stderr
        again = await next_event(client, Registered, timeout=30)
        assert isinstance(again, Registered) and again.expires == 6
        peer = pbx.cli("iax2 show peer 6001")
        assert f"Port {client.local_address[1]}" in peer
