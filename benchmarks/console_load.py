"""Load for benchmarks/console_scale.py, in a process of its own (its CPU is not the console's).

    python -m benchmarks.console_load CALLS WAITING

Makes CALLS calls from the benchmark peers 7100... to the echo service (600)
and WAITING calls from 7150... to the sales queue (610), on one IaxClient,
prints "ready" once every call is answered (a queue answers its callers),
and holds them until its standard input closes; then hangs up.
"""

from __future__ import annotations

import asyncio
import sys

from benchmarks.results import PBX
from iaxphone.aio.client import CallHandle, IaxClient
from iaxphone.proto.call import CallOptions
from iaxphone.proto.endpoint import EndpointConfig
from iaxphone.wire.constants import Format

CALLERS, QUEUERS = 7100, 7150


async def main(calls: int, waiting: int) -> None:
    async with IaxClient(("127.0.0.1", 0), EndpointConfig(formats=[Format.ULAW])) as client:
        handles: list[CallHandle] = []
        plan = [(CALLERS + i, "600") for i in range(calls)]
        plan += [(QUEUERS + i, "610") for i in range(waiting)]
        for number, target in plan:
            options = CallOptions(target, str(number), f"bench{number}secret")
            handles.append(await client.dial(PBX, options))
        for handle in handles:
            await handle.wait_answered(timeout=30)
        print("ready", len(handles), flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)  # until the benchmark closes it
        for handle in handles:
            await handle.hangup()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
