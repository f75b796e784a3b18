"""Record meta trunk frames the bundled Asterisk sends to a trunk=yes peer (trunk1).

    .venv/bin/python -m tests.golden.record_trunk_frames > tests/golden/asterisk_trunk_frames.txt

Registers as trunk1, has Asterisk originate a call to IAX2/trunk1 playing the
milliwatt tone (601), answers, and writes the first trunk datagrams as hex.
"""

from __future__ import annotations

import asyncio
import sys

from iaxphone.aio.client import IaxClient
from iaxphone.proto.endpoint import EndpointConfig
from iaxphone.proto.registration import Account
from iaxphone.wire.constants import Format
from iaxphone.wire.frames import MetaTrunkFrame, parse_frame
from tests.ami import AmiWatcher
from tests.pbx import Pbx


async def record(count: int = 5) -> list[bytes]:
    pbx = Pbx()
    frames: list[bytes] = []
    async with (
        AmiWatcher(pbx) as ami,
        IaxClient(("127.0.0.1", 0), EndpointConfig(formats=[Format.ULAW])) as client,
    ):
        await client.register(Account("trunk1", "trunk1secret", (pbx.host, pbx.iax_port)))
        assert client.protocol is not None
        original = client.protocol.datagram_received

        def tap(data: bytes, addr: tuple[str, int]) -> None:
            if isinstance(parse_frame(data), MetaTrunkFrame) and len(frames) < count:
                frames.append(data)
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
        while len(frames) < count:
            await asyncio.sleep(0.02)
        await call.hangup()
        originate.cancel()
    return frames


def main() -> None:
    for data in asyncio.run(record()):
        sys.stdout.write(f"{data.hex()}\n")


if __name__ == "__main__":
    main()
