"""No secret leaves the phone in what it writes: output at --debug, history, statistics.

A real call through the bundled PBX, its every datagram recorded by a relay,
so that the test knows the challenges Asterisk sent and the answers the phone
gave.  The secret, each MD5 answer, each AES key derived from it, the RSA
signature and the private key's body must appear in none of: the command's
output (``--debug -v``), the history database, the statistics JSON, or any
other file the command wrote in this test's folders.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import sys
from pathlib import Path

import pytest

from benchmarks.netsim import Direction, Relay
from iaxphone.wire.frames import FullFrame, parse_frame
from tests.pbx import Pbx

KEYS = Path(__file__).parent / "keys"


class RecordingRelay(Relay):
    """A clean relay that keeps every datagram it passes on."""

    def __init__(self, server: tuple[str, int]) -> None:
        super().__init__(server)
        self.datagrams: list[bytes] = []

    def _received(self, direction: Direction, data: bytes, addr: tuple[str, int]) -> None:
        self.datagrams.append(data)
        super()._received(direction, data, addr)


def secrets_on_the_wire(datagrams: list[bytes], secret: str) -> set[bytes]:
    """What must never be written: MD5 answers, AES keys, RSA signatures seen on the wire."""
    found: set[bytes] = set()
    for data in datagrams:
        try:
            frame = parse_frame(data)
        except ValueError:
            continue  # encrypted frames do not parse as plain ones
        ies = getattr(frame, "ies", None) if isinstance(frame, FullFrame) else None
        if ies is None:
            continue
        if ies.challenge:
            digest = hashlib.md5((ies.challenge + secret).encode())
            found |= {digest.hexdigest().encode(), digest.digest()}
        if ies.md5_result:
            found.add(ies.md5_result.encode())
        if ies.rsa_result:
            found.add(ies.rsa_result.encode())
            found.add(base64.b64decode(ies.rsa_result)[:32])
    return found


async def call_through(relay: RecordingRelay, folder: Path, *account: str) -> bytes:
    host, port = relay.address
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "iaxphone", "--debug", "call", "600",
        "--server", f"{host}:{port}", *account, "--register", "--duration", "2", "-v",
        "--stats", str(folder / "stats.json"), "--record", str(folder / "heard.wav"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=folder,
        env=dict(os.environ),
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, output.decode()
    return output


def written_files(*folders: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for f in folders for p in f.rglob("*") if p.is_file()}


def assert_nowhere(needles: set[bytes], output: bytes, files: dict[Path, bytes]) -> None:
    for needle in needles:
        assert needle not in output, f"{needle!r} in the command's output"
        for path, content in files.items():
            assert needle not in content, f"{needle!r} in {path}"


@pytest.mark.parametrize("encrypt", [False, True])
async def test_md5_call_writes_no_secret(
    pbx: Pbx, tmp_path: Path, own_folders: Path, encrypt: bool
) -> None:
    secret = "iax6001secret"
    account = ["--user", "6001", "--secret", secret, *(["--encrypt"] if encrypt else [])]
    async with RecordingRelay(("127.0.0.1", pbx.iax_port)) as relay:
        output = await call_through(relay, tmp_path, *account)
    answers = secrets_on_the_wire(relay.datagrams, secret)
    assert answers, "the relay saw no authentication: the test would prove nothing"
    files = written_files(tmp_path, own_folders)
    assert any(p.name == "history.sqlite3" for p in files)
    assert (tmp_path / "stats.json") in files
    assert_nowhere({secret.encode(), *answers}, output, files)


async def test_rsa_call_writes_no_key(pbx: Pbx, tmp_path: Path, own_folders: Path) -> None:
    key = KEYS / "phone6092.key"
    body = [line for line in key.read_bytes().splitlines() if line and b"-----" not in line]
    async with RecordingRelay(("127.0.0.1", pbx.iax_port)) as relay:
        output = await call_through(relay, tmp_path, "--user", "6092", "--key", str(key))
    signatures = secrets_on_the_wire(relay.datagrams, "")
    assert any(len(s) == 32 for s in signatures), "no RSA signature seen on the wire"
    files = written_files(tmp_path, own_folders)
    assert_nowhere({*body, *signatures}, output, files)
