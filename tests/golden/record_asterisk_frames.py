"""Record datagrams the bundled Asterisk sends, as golden vectors for the wire tests.

Run against a running PBX (docker/pbx up):

    .venv/bin/python -m tests.golden.record_asterisk_frames > tests/golden/asterisk_frames.txt

Each output line is ``label hex``; the label names the frame (type and
subclass) and the scenario it came from.  The wire tests parse every line
and check that serialising gives back the same bytes.
"""

from __future__ import annotations

import asyncio
import sys

from iaxphone.aio.client import IaxClient
from iaxphone.proto.call import CallOptions
from iaxphone.proto.endpoint import EndpointConfig
from iaxphone.proto.registration import Account
from iaxphone.wire.constants import Format, FrameType
from iaxphone.wire.frames import FullFrame, parse_frame

PBX = ("127.0.0.1", 4569)


def label(data: bytes) -> str:
    frame = parse_frame(data)
    if isinstance(frame, FullFrame):
        kind = (
            FrameType(frame.frame_type).name
            if frame.frame_type in FrameType._value2member_map_
            else str(frame.frame_type)
        )
        sub = getattr(frame.subclass, "name", str(frame.subclass))
        return f"full-{kind}-{sub}".lower()
    return type(frame).__name__.lower()


async def record() -> dict[str, bytes]:
    seen: dict[str, bytes] = {}
    async with IaxClient(
        ("127.0.0.1", 0), EndpointConfig(formats=[Format.ULAW, Format.GSM])
    ) as client:
        assert client.protocol is not None
        original = client.protocol.datagram_received

        def tap(data: bytes, addr: tuple[str, int]) -> None:
            seen.setdefault(label(data), data)
            original(data, addr)

        client.protocol.datagram_received = tap  # type: ignore[method-assign]
        await client.register(Account("6001", "iax6001secret", PBX))
        for codec, number in ((Format.ULAW, "600"), (Format.GSM, "602")):
            options = CallOptions(
                number, "6001", "iax6001secret", caller_number="6001", formats=[codec]
            )
            call = await client.dial(PBX, options)
            await call.wait_answered(timeout=5)
            for _ in range(30):
                call.send_audio(bytes(160 if codec == Format.ULAW else 33), 20)
                await asyncio.sleep(0.02)
            if number == "602":
                await call.wait_ended(timeout=10)
            else:
                await call.hangup()
        wrong = CallOptions("4242", "6001", "iax6001secret")
        call = await client.dial(PBX, wrong)
        await call.wait_ended(timeout=5)
    return seen


def main() -> None:
    seen = asyncio.run(record())
    for name in sorted(seen):
        if name == "miniframe" or name.startswith("full-"):
            sys.stdout.write(f"{name} {seen[name].hex()}\n")


if __name__ == "__main__":
    main()
