"""TEXT frames on the wire, as tshark dissects them: in clear, and encrypted (never in clear)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from iaxphone.aio.client import IaxClient
from iaxphone.proto.endpoint import EndpointConfig
from iaxphone.proto.events import TextReceived
from iaxphone.proto.text import split_text
from iaxphone.wire.constants import Format, FrameType
from tests.pbx import Pbx
from tests.phones import call_from
from tests.require import unavailable
from tests.test_iax_wire_capture import Capture, dissect

pytestmark = [pytest.mark.asyncio, pytest.mark.pbx]

LONG = "Sechzig Zeichen lang, mit Umlauten: äöü ÄÖÜ ß und ein Ende. " * 6  # 2 TEXT frames


async def text_call(pbx: Pbx, capture: Path, encryption: str) -> tuple[int, list[str], bool]:
    """Call the text echo 603, send LONG, return (our port, the texts received, encrypted)."""
    async with IaxClient(("127.0.0.1", 0), EndpointConfig(formats=[Format.ULAW])) as client:
        port = client.local_address[1]
        async with Capture(port, capture):
            call = await call_from(client, pbx, 6006, "603", encryption=encryption)
            await call.wait_answered(timeout=5)
            received = [(await call.next_event(TextReceived, timeout=5)).text]
            assert call.send_text(LONG) == 2
            for _ in range(2):  # the echo answers each chunk
                received.append((await call.next_event(TextReceived, timeout=5)).text)
            await call.hangup()
        return port, received, call.encrypted


async def test_tshark_reads_text_frames_in_clear(pbx: Pbx, tmp_path: Path) -> None:
    if shutil.which("tshark") is None:
        unavailable("tshark is not installed (make system)")
    capture = tmp_path / "text.pcapng"
    port, received, encrypted = await text_call(pbx, capture, "off")
    assert not encrypted
    # ReceiveText reads each chunk as a text of its own and the echo answers each (in one
    # frame, longer than a chunk: a message of its own).
    first, second = (chunk[:-1].decode() for chunk in split_text(LONG))
    assert received == ["Text echo ready", f"echo: {first}", f"echo: {second}"]
    rows = dissect(
        capture,
        "udp.srcport",
        "iax2.type",
        "iax2.text.text",
        display_filter=f"iax2.type == {FrameType.TEXT}",
    )
    ours = [r[2] for r in rows if r[0] == str(port)]
    assert "".join(ours) == LONG and all(len(t.encode()) <= 255 for t in ours)
    problems = dissect(
        capture,
        "frame.number",
        "_ws.expert.message",
        display_filter="_ws.malformed || _ws.expert.severity >= warning",
    )
    assert problems == []
    assert LONG[:40].encode() in capture.read_bytes()  # the control for the encrypted case


async def test_encrypted_text_never_crosses_in_clear(pbx: Pbx, tmp_path: Path) -> None:
    if shutil.which("tshark") is None:
        unavailable("tshark is not installed (make system)")
    capture = tmp_path / "text-encrypted.pcapng"
    _port, received, encrypted = await text_call(pbx, capture, "required")
    assert encrypted
    first, second = (chunk[:-1].decode() for chunk in split_text(LONG))
    # Asterisk decrypted our frames and answered, encrypted:
    assert received == ["Text echo ready", f"echo: {first}", f"echo: {second}"]
    raw = capture.read_bytes()
    for clear in ("Text echo ready", "Sechzig Zeichen", "echo: "):
        assert clear.encode() not in raw, clear
    assert dissect(capture, "iax2.text.text", display_filter="iax2.text.text") == []
