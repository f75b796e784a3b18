"""Faults: how long the phone takes to notice a dead PBX or network, and to recover.

    python -m benchmarks faults          (into RESULTS.md)
    python -m benchmarks.faults          (prints the rows only)

The benchmark starts a PBX instance of its own (named after
IAXPHONE_PBX_INSTANCE plus "-faultsbench", on ports the kernel says are
free) so that killing it disturbs no other run, and stops it at the end.
Each scenario runs a few times; the rows give the median and the worst.

* PBX restart while registered: a registered phone (Phone, account 6009);
  the PBX is killed (kill -9), the phone notices (RegistrationChanged
  "lost"), the PBX is started again, and the time from the PBX answering
  again (docker/pbx up returned) to RegistrationChanged "recovered" is the
  figure.  Also measured: a quick restart (down and up at once, about 2 s
  away), which the keepalive may not see.
* PBX killed mid-call: a call to the echo test (600) talking; kill -9 of
  the PBX; the time until the line ends (``lost``: no HANGUP came).
* Network gone 30 s: the phone registers through benchmarks/netsim.py's
  relay; every datagram both ways is dropped for 30 s (``Relay.cut``);
  the time from the network back to RegistrationChanged "recovered".
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

from benchmarks.netsim import Relay
from benchmarks.ownpbx import OwnPbx
from benchmarks.results import Result
from iaxphone.linestate import LineState
from iaxphone.media.virtual import NullSink, SilenceSource
from iaxphone.phone import LineChanged, Phone, PhoneAccount, RegistrationChanged
from iaxphone.proto.registration import KEEPALIVE_S, MAX_BACKOFF, REFRESH_AT_MOST_S
from iaxphone.proto.reliability import RetryPolicy
from iaxphone.wire.constants import Format

SCENARIO = "Faults: PBX restart, PBX killed mid-call, network gone 30 s"
NOTE = (
    "A PBX instance of the benchmark's own (killed with kill -9, started again with "
    "docker/pbx up, which returns once AMI, the CLI and a POKE answer). The phone POKEs its "
    f"registrar every {KEEPALIVE_S:g} s; a POKE unanswered through the retries "
    f"({RetryPolicy().give_up_after():g} s) marks the registration lost, and REGREQ is "
    f"retried at once and then after 1, 2, 4, {MAX_BACKOFF:g} s: so a dead PBX is noticed "
    f"within {KEEPALIVE_S + RetryPolicy().give_up_after():g} s and a PBX that is back is "
    f"registered with within about {MAX_BACKOFF + RetryPolicy().give_up_after():g} s. A call "
    "notices within its 10 s PING plus the same retry window. A quick restart (the bundled "
    "PBX is back in about 2 s, with a fresh astdb, so it has forgotten the phone) can fall "
    "between two POKEs: the phone is then registered again at its next refresh, which "
    f"comes at least every {REFRESH_AT_MOST_S:g} s. Command: `python -m benchmarks faults`."
)
REPEATS = 3
NETWORK_GONE_S = 30.0
PROJECT = Path(__file__).resolve().parent.parent


def make_phone(server: tuple[str, int], register: bool = True) -> Phone:
    return Phone(
        [PhoneAccount("bench", server, "6009", "iax6009secret", encryption="off")],
        source=SilenceSource(8000),
        sink=NullSink(8000),
        formats=[Format.ULAW],
        local=("127.0.0.1", 0),
        register=register,
    )


async def next_change(events: object, change: str, timeout: float) -> RegistrationChanged:
    """The next RegistrationChanged of a kind in ``change`` ("a|b") from an event queue."""
    deadline = time.monotonic() + timeout
    while True:
        event = await asyncio.wait_for(
            events.get(),  # type: ignore[attr-defined]
            max(0.01, deadline - time.monotonic()),
        )
        if isinstance(event, RegistrationChanged) and event.change in change.split("|"):
            return event


async def pbx_restart(
    pbx: OwnPbx, quick: bool, down_s: float = 0.0
) -> tuple[float, float | None, float]:
    """(PBX started -> registered again, PBX killed -> loss noticed or None,
    PBX answering (docker/pbx up returned) -> registered again, 0 if before).

    ``down_s``: how long the PBX stays down after the loss is noticed, so the
    restart lands at different points of the back-off."""
    phone = make_phone(pbx.address)
    events = phone.event_queue(RegistrationChanged)
    async with phone:
        await next_change(events, "registered", 15)
        noticed = None
        if quick:
            await asyncio.to_thread(pbx.down)
            await asyncio.to_thread(pbx.up)
        else:
            killed = time.monotonic()
            pbx.kill()
            await next_change(events, "lost", 30)
            noticed = time.monotonic() - killed
            await asyncio.sleep(down_s)
            started = time.monotonic()
            again = asyncio.ensure_future(next_change(events, "recovered", 70))
            await asyncio.to_thread(pbx.up)
        ready = time.monotonic()
        if quick:
            started = ready
            # A quick restart may go unseen: the next refresh (REFRESH_AT_MOST_S) registers again.
            again = asyncio.ensure_future(next_change(events, "renewed|recovered", 70))
        await again
        registered = time.monotonic()
        return registered - started, noticed, max(0.0, registered - ready)


async def call_through_a_killed_pbx(pbx: OwnPbx) -> tuple[float, bool]:
    """(kill -9 -> the line ended, whether it ended as lost)."""
    phone = make_phone(pbx.address, register=False)
    async with phone:
        ended = phone.event_queue(LineChanged)
        line = await phone.dial("600")
        await phone.wait_line(line, LineState.TALKING, timeout=15)
        killed = time.monotonic()
        pbx.kill()
        info = await phone.wait_line(line, LineState.ENDED, timeout=40)
        took = time.monotonic() - killed
        ended.close()
    await asyncio.to_thread(pbx.up)
    return took, "no answer from" in (info.cause or "")


async def network_gone(pbx: OwnPbx) -> tuple[float, float]:
    """(network back -> registered again, network cut -> loss noticed)."""
    async with Relay(pbx.address) as relay:
        phone = make_phone(relay.address)
        events = phone.event_queue(RegistrationChanged)
        async with phone:
            await next_change(events, "registered", 15)
            relay.cut = True
            cut = time.monotonic()
            await next_change(events, "lost", 30)
            noticed = time.monotonic() - cut
            await asyncio.sleep(max(0.0, cut + NETWORK_GONE_S - time.monotonic()))
            relay.cut = False
            back = time.monotonic()
            await next_change(events, "recovered", 40)
            return time.monotonic() - back, noticed


async def measure(repeats: int) -> list[Result]:
    pbx = OwnPbx.on_free_ports("faultsbench")
    await asyncio.to_thread(pbx.up)
    restart: list[float] = []
    restart_ready: list[float] = []
    restart_noticed: list[float] = []
    quick: list[float] = []
    killed: list[float] = []
    killed_lost: list[bool] = []
    net: list[float] = []
    net_noticed: list[float] = []
    try:
        for i in range(repeats):
            back, noticed, after_ready = await pbx_restart(pbx, quick=False, down_s=10.0 * i)
            restart.append(back)
            restart_ready.append(after_ready)
            restart_noticed.append(noticed or 0.0)
        for _ in range(repeats):
            back, _, _ = await pbx_restart(pbx, quick=True)
            quick.append(back)
        for _ in range(repeats):
            took, lost = await call_through_a_killed_pbx(pbx)
            killed.append(took)
            killed_lost.append(lost)
        for _ in range(max(1, repeats - 1)):
            back, noticed = await network_gone(pbx)
            net.append(back)
            net_noticed.append(noticed)
    finally:
        await asyncio.to_thread(pbx.down)
    slack = 0.5  # scheduling: the timers fire on a busy loop
    notice_bound = KEEPALIVE_S + RetryPolicy().give_up_after() + slack
    back_bound = MAX_BACKOFF + RetryPolicy().give_up_after() + slack
    call_bound = 10.0 + RetryPolicy().give_up_after() + slack

    def pair(name: str, values: list[float], target: float | None) -> list[Result]:
        worst = max(values)
        tgt = f"<= {target:g} s" if target is not None else ""
        met = worst <= target if target is not None else None
        return [
            Result(SCENARIO, f"{name}, median of {len(values)}", statistics.median(values), "s"),
            Result(SCENARIO, f"{name}, worst", worst, "s", tgt, met),
        ]

    return [
        *pair("PBX killed while registered -> loss noticed", restart_noticed, notice_bound),
        *pair(
            "PBX restart (down 0, 10, 20 s): PBX started -> registered again",
            restart,
            back_bound + 2.0,  # the PBX's own start (about 1.5 s) included
        ),
        *pair("PBX restart: PBX answering -> registered again", restart_ready, back_bound),
        *pair(
            "quick PBX restart (down, up at once): back -> registered",
            quick,
            REFRESH_AT_MOST_S + back_bound,  # the refresh, failing if the PBX is still away
        ),
        *pair("PBX killed mid-call -> call ended", killed, call_bound),
        Result(
            SCENARIO,
            "calls ended as lost (no answer from the server), of those killed",
            sum(killed_lost),
            f"of {len(killed_lost)}",
        ),
        *pair(f"network gone {NETWORK_GONE_S:g} s -> loss noticed", net_noticed, notice_bound),
        *pair(f"network gone {NETWORK_GONE_S:g} s: back -> registered again", net, back_bound),
    ]


def run(repeats: int = REPEATS) -> list[Result]:
    return asyncio.run(measure(repeats))


def main(argv: list[str]) -> int:
    """python -m benchmarks.faults [REPEATS]: print the rows (RESULTS.md is left alone)."""
    for result in run(int(argv[0]) if argv else REPEATS):
        print(result.row(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
