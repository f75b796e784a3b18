"""Call set-up through 30 % loss both ways: success rate and time over 50 tries.

Each try is a real ``iaxphone call 600`` process (the echo test) whose
every datagram, both ways, crosses its own :class:`benchmarks.netsim.Relay`
with 30 % random loss.  The call is answered, held 1 s and hung up; the set-up
time is the ``setup_ms`` of its statistics JSON (first NEW to ANSWER).  Five
tries run at a time, each with its own relay and seed.  A try succeeds when
the command exits 0 (answered and ended normally) within 90 s.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.netsim import Impairment, Relay
from benchmarks.results import PBX, Result

NOTE = (
    "`python -m benchmarks.lossy_setup`: 50 `iaxphone call 600` processes, five at a time, "
    "each through its own relay dropping 30 % of datagrams each way (seeded). Success: "
    "answered and ended normally (exit 0)."
)
SCENARIO = "Call set-up through 30 % loss both ways (signalling and voice)"
TRIES = 50
AT_ONCE = 5
LOSS = 0.30


@dataclass(frozen=True)
class Try:
    exit_code: int
    setup_ms: float | None


async def one_try(seed: int, folder: Path) -> Try:
    lossy = Impairment(loss=LOSS)
    async with Relay(PBX, up=lossy, down=lossy, seed=seed) as relay:
        host, port = relay.address
        stats = folder / f"try-{seed}.json"
        env = dict(os.environ)
        env.update(
            IAXPHONE_CONFIG=os.devnull,  # an empty configuration
            IAXPHONE_DATA_DIR=str(folder / f"data-{seed}"),
            PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "iaxphone", "call", "600",
            "--server", f"{host}:{port}", "--user", "6001", "--secret", "iax6001secret",
            "--codec", "ulaw", "--duration", "1", "--answer-timeout", "60",
            "--stats", str(stats),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, env=env,
        )  # fmt: skip
        try:
            code = await asyncio.wait_for(process.wait(), 90)
        except TimeoutError:
            process.kill()
            code = await process.wait()
    setup = None
    if stats.exists():
        setup = json.loads(stats.read_text()).get("setup_ms")
    return Try(code, float(setup) if setup is not None and code == 0 else None)


async def all_tries() -> list[Try]:
    with tempfile.TemporaryDirectory(prefix="iaxphone-lossy-") as tmp:
        folder = Path(tmp)
        tries: list[Try] = []
        for first in range(0, TRIES, AT_ONCE):
            batch = range(first, min(first + AT_ONCE, TRIES))
            tries += await asyncio.gather(*(one_try(seed, folder) for seed in batch))
        return tries


def run() -> list[Result]:
    tries = asyncio.run(all_tries())
    ok = [t.setup_ms for t in tries if t.setup_ms is not None]
    rate = 100 * len(ok) / len(tries)

    def r(
        metric: str, value: float, unit: str, target: str = "", met: bool | None = None
    ) -> Result:
        return Result(SCENARIO, metric, value, unit, target, met)

    results = [r(f"calls set up and ended normally, of {len(tries)}", rate, "%")]
    for code in sorted({t.exit_code for t in tries} - {0}):
        failed = sum(t.exit_code == code for t in tries)
        results.append(r(f"tries that exited {code}", failed, ""))
    if ok:
        ok.sort()
        results += [
            r("set-up time p50", statistics.median(ok), "ms"),
            r("set-up time p95", ok[min(len(ok) - 1, int(0.95 * len(ok)))], "ms"),
            r("set-up time worst", ok[-1], "ms"),
        ]
    return results


def main() -> int:
    for result in run():
        print(result.row(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
