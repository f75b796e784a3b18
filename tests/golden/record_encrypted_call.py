"""Record an encrypted call with the bundled Asterisk, for the encryption known-answer tests.

    .venv/bin/python -m tests.golden.record_encrypted_call > tests/golden/encrypted_call.txt

Writes the account's secret, the challenge of Asterisk's AUTHREQ, and the
first encrypted datagrams Asterisk sent back (as received, still encrypted).
"""

from __future__ import annotations

import asyncio
import sys

from iaxphone.aio.client import IaxClient
from iaxphone.proto.call import CallOptions
from iaxphone.proto.endpoint import EndpointConfig
from iaxphone.wire.constants import Format, IaxCommand
from iaxphone.wire.frames import FullFrame, parse_frame

PBX = ("127.0.0.1", 4569)
USER, SECRET = "6090", "iax6090secret"


async def record() -> tuple[str, list[bytes]]:
    challenge = ""
    encrypted: list[bytes] = []
    async with IaxClient(("127.0.0.1", 0), EndpointConfig(formats=[Format.ULAW])) as client:
        assert client.protocol is not None
        original = client.protocol.datagram_received

        def tap(data: bytes, addr: tuple[str, int]) -> None:
            nonlocal challenge
            try:
                frame = parse_frame(data)
            except ValueError:
                frame = None
            if isinstance(frame, FullFrame) and frame.subclass == IaxCommand.AUTHREQ and frame.ies:
                challenge = frame.ies.challenge or ""
            elif challenge and len(encrypted) < 6:
                encrypted.append(data)
            original(data, addr)

        client.protocol.datagram_received = tap  # type: ignore[method-assign]
        options = CallOptions("600", USER, SECRET, caller_number=USER, encryption="required")
        call = await client.dial(PBX, options)
        await call.wait_answered(timeout=5)
        for _ in range(10):
            call.send_audio(bytes(160), 20)
            await asyncio.sleep(0.02)
        await call.hangup()
    return challenge, encrypted


def main() -> None:
    challenge, encrypted = asyncio.run(record())
    sys.stdout.write(f"secret {SECRET}\nchallenge {challenge}\n")
    for data in encrypted:
        sys.stdout.write(f"frame {data.hex()}\n")


if __name__ == "__main__":
    main()
