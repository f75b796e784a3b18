"""tshark, an independent dissector, reads what iaxphone puts on the wire."""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from iaxphone.aio.client import IaxClient
from iaxphone.proto.endpoint import EndpointConfig
from iaxphone.proto.registration import Account
from iaxphone.wire.constants import Format, IaxCommand
from tests.pbx import Pbx
from tests.phones import call_from, pump_audio
from tests.require import unavailable

pytestmark = pytest.mark.asyncio


class Capture:
    """tshark on loopback for one UDP port, synchronised with probe datagrams.

    tshark says "Capturing on" before the capture is live and buffers what it
    writes, so both ends are marked by a probe datagram sent to a second,
    unused port in the capture filter: once tshark prints the probe, every
    packet before it is in the capture.
    """

    def __init__(self, port: int, path: Path) -> None:
        self.port = port
        self.path = path
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            self.probe_port = probe.getsockname()[1]
        self.process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> Capture:
        self.process = await asyncio.create_subprocess_exec(
            "tshark", "-i", "lo", "-f", f"udp port {self.port} or udp port {self.probe_port}",
            "-w", str(self.path), "-P", "-l",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        await self.sync()
        return self

    async def sync(self, timeout: float = 20.0) -> None:
        """Return once tshark has captured everything sent so far.

        Each sync sends from a fresh source port and waits for tshark's
        summary line that names that port.
        """
        assert self.process is not None and self.process.stdout is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.bind(("127.0.0.1", 0))
            marker = str(sender.getsockname()[1]).encode()
            while loop.time() < deadline:
                sender.sendto(b"probe", ("127.0.0.1", self.probe_port))
                try:
                    line = await asyncio.wait_for(self.process.stdout.readline(), 0.2)
                except TimeoutError:
                    continue
                if not line:
                    raise AssertionError("tshark exited")
                if marker in line:
                    return
        raise AssertionError(f"tshark did not capture a probe within {timeout} s")

    async def __aexit__(self, *exc: object) -> None:
        assert self.process is not None
        await self.sync()
        self.process.send_signal(signal.SIGINT)
        await self.process.communicate()


def dissect(path: Path, *fields: str, display_filter: str = "iax2") -> list[list[str]]:
    # tshark knows IAX2 on 4569 only: a PBX instance on another port is decoded as IAX2 too.
    iax_port = Pbx().iax_port
    args = ["tshark", "-r", str(path), "-d", f"udp.port=={iax_port},iax2"]
    args += ["-Y", display_filter, "-T", "fields"]
    for field in fields:
        args += ["-e", field]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


async def test_tshark_dissects_a_call_without_complaint(pbx: Pbx, tmp_path: Path) -> None:
    if shutil.which("tshark") is None:
        unavailable("tshark is not installed (make system)")
    capture = tmp_path / "call.pcapng"
    async with IaxClient(("127.0.0.1", 0), EndpointConfig(formats=[Format.ULAW])) as client:
        port = client.local_address[1]
        async with Capture(port, capture):
            username, secret = pbx.extension(6001)
            await client.register(Account(username, secret, (pbx.host, pbx.iax_port)))
            # In clear, so tshark can read every frame (encrypted calls: see test_crypto).
            call = await call_from(client, pbx, 6001, "600", encryption="off")
            await call.wait_answered(timeout=5)
            await pump_audio(call, 25)
            call.send_dtmf("7")
            await call.hangup()
            await client.unregister(f"{username}@{pbx.host}:{pbx.iax_port}")
    problems = dissect(
        capture,
        "frame.number",
        "_ws.expert.message",
        display_filter=f"udp.port == {port} && (_ws.malformed || _ws.expert.severity >= warning)",
    )
    assert problems == []
    rows = dissect(
        capture,
        "ip.src",
        "udp.srcport",
        "iax2.packet_type",
        "iax2.iax.subclass",
        "iax2.control.subclass",
    )
    ours = [r for r in rows if r[1] == str(port)]
    full_commands = [int(r[3]) for r in ours if r[2] == "1" and r[3]]
    # What we sent, in order (ACKs and PONGs left out): the registration with
    # its token round trip, the call with its token round trip and MD5 reply,
    # the hang-up and the release.
    sent = [
        c
        for c in full_commands
        if c not in (IaxCommand.ACK, IaxCommand.PONG, IaxCommand.PING, IaxCommand.LAGRP)
    ]
    assert sent == [
        IaxCommand.REGREQ, IaxCommand.REGREQ, IaxCommand.REGREQ,
        IaxCommand.NEW, IaxCommand.NEW, IaxCommand.AUTHREP,
        IaxCommand.HANGUP,
        IaxCommand.REGREL, IaxCommand.REGREL, IaxCommand.REGREL,
    ]  # fmt: skip
    mini_frames = [r for r in ours if r[2] == "0"]
    assert len(mini_frames) >= 20, "voice after the first frame goes as mini frames"
    theirs = [r for r in rows if r[1] == str(pbx.iax_port)]
    assert any(r[4] == "4" for r in theirs), "tshark sees Asterisk's ANSWER"
