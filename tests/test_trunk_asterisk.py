"""Trunking with the bundled Asterisk: trunked echo calls both ways, Asterisk's own trunk frames, tshark."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from pathlib import Path

import numpy as np
import pytest

from iaxphone.aio.audio import CallAudio
from iaxphone.aio.client import IaxClient
from iaxphone.media.virtual import MemorySink, SilenceSource, ToneSource
from iaxphone.proto.call import CallOptions
from iaxphone.proto.endpoint import EndpointConfig
from iaxphone.proto.registration import Account
from iaxphone.wire.constants import Format
from iaxphone.wire.errors import FrameParseError
from iaxphone.wire.frames import MetaTrunkFrame, parse_frame
from tests.ami import AmiWatcher
from tests.pbx import Pbx
from tests.test_iax_wire_capture import Capture, dissect

GOLDEN = [
    bytes.fromhex(line)
    for line in (Path(__file__).parent / "golden" / "asterisk_trunk_frames.txt").read_text().split()
]


def dominant_frequency(samples: np.ndarray, rate: int = 8000) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(float) * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def test_asterisk_trunk_frames_round_trip() -> None:
    assert len(GOLDEN) == 5
    for data in GOLDEN:
        frame = parse_frame(data)
        assert isinstance(frame, MetaTrunkFrame) and frame.with_timestamps  # trunktimestamps = yes
        assert len(frame.entries) == 1 and len(frame.entries[0].payload) == 160
        assert bytes(frame) == data
        for cut in range(len(data)):
            with contextlib.suppress(FrameParseError):
                assert bytes(parse_frame(data[:cut])) == data[:cut]
    stamps = [parse_frame(d).timestamp for d in GOLDEN]  # type: ignore[union-attr]
    assert [b - a for a, b in itertools.pairwise(stamps)] == [20] * 4


@pytest.mark.parametrize("timestamps", [True, False], ids=["with-timestamps", "without"])
@pytest.mark.asyncio
async def test_trunked_call_to_the_echo_test(pbx: Pbx, timestamps: bool, tmp_path: Path) -> None:
    config = EndpointConfig(formats=[Format.ULAW], trunk_timestamps=timestamps)
    async with IaxClient(("127.0.0.1", 0), config) as client:
        port = client.local_address[1]
        async with Capture(port, tmp_path / "trunk.pcapng"):
            options = CallOptions("600", "trunk1", "trunk1secret", caller_number="7001", trunk=True)
            call = await client.dial((pbx.host, pbx.iax_port), options)
            await call.wait_answered(timeout=5)
            heard = MemorySink(8000)
            audio = CallAudio(call, ToneSource(700, 8000), heard).start()
            await asyncio.sleep(2.0)  # real-time audio
            await audio.stop()
            await call.hangup()
    batcher = client.endpoint.trunks[(pbx.host, pbx.iax_port)]
    assert batcher.datagrams_sent >= 80
    assert batcher.entries_sent == batcher.datagrams_sent  # one frame of the call per datagram
    assert dominant_frequency(heard.samples[-8000:]) == pytest.approx(700, abs=10)
    rows = dissect(
        tmp_path / "trunk.pcapng",
        "udp.srcport",
        "iax2.trunk.cmddata.ts",
        "iax2.trunk.ncalls",
        display_filter="iax2.trunk.metacmd",
    )
    ours = [r for r in rows if r[0] == str(port)]
    assert len(ours) >= 80
    assert {r[1] for r in ours} == {"1" if timestamps else "0"}
    if timestamps:  # tshark counts the calls of a trunk frame only when they carry timestamps
        assert {r[2] for r in ours} == {"1"}
    problems = dissect(
        tmp_path / "trunk.pcapng",
        "frame.number",
        display_filter=f"udp.srcport == {port} && (_ws.malformed || _ws.expert.severity >= warning)",
    )
    if timestamps:
        assert problems == []
    else:
        # Wireshark 4.0's IAX2 dissector raises on every trunk frame without
        # timestamps (callno, len, data: the layout Asterisk writes and, as the
        # echoed audio above shows, reads).  Nothing else may be flagged.
        assert len(problems) == len(ours)


@pytest.mark.asyncio
async def test_asterisk_trunks_a_call_to_us(pbx: Pbx) -> None:
    received: list[MetaTrunkFrame] = []
    async with (
        AmiWatcher(pbx) as ami,
        IaxClient(("127.0.0.1", 0), EndpointConfig(formats=[Format.ULAW])) as client,
    ):
        await client.register(Account("trunk1", "trunk1secret", (pbx.host, pbx.iax_port)))
        assert client.protocol is not None
        original = client.protocol.datagram_received

        def tap(data: bytes, addr: tuple[str, int]) -> None:
            frame = parse_frame(data)
            if isinstance(frame, MetaTrunkFrame):
                received.append(frame)
            original(data, addr)

        client.protocol.datagram_received = tap  # type: ignore[method-assign]
        originate = asyncio.ensure_future(
            ami.action(
                Action="Originate",
                Channel="IAX2/trunk1",
                Context="office",
                Exten="601",
                Priority="1",
                Async="true",
            )
        )
        call = await asyncio.wait_for(client.incoming.get(), 10)
        call.answer()
        heard = MemorySink(8000)
        audio = CallAudio(call, SilenceSource(8000), heard).start()
        await asyncio.sleep(1.5)
        await audio.stop()
        await call.hangup()
        originate.cancel()
    assert len(received) >= 50
    assert dominant_frequency(heard.samples[-6000:]) == pytest.approx(1004, abs=10)  # Milliwatt()
