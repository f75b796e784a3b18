"""The benchmarks' network impairment: statistics of the models, and the live UDP relay."""

from __future__ import annotations

import asyncio
import itertools
import statistics
from typing import cast

import pytest

from benchmarks.netsim import (
    DelayModel,
    GilbertElliott,
    Impairer,
    Impairment,
    LogEntry,
    Relay,
    TraceModel,
)

N = 20_000


def decisions(impairment: Impairment, n: int = N, seed: int = 1) -> list[LogEntry]:
    impairer = Impairer(impairment, seed)
    return [impairer.decide() for _ in range(n)]


def bursts(entries: list[LogEntry]) -> list[int]:
    runs: list[int] = []
    run = 0
    for entry in entries:
        if entry.action == "dropped":
            run += 1
        elif run:
            runs.append(run)
            run = 0
    if run:
        runs.append(run)
    return runs


@pytest.mark.parametrize("loss", [0.01, 0.05, 0.1, 0.3])
def test_random_loss_rate(loss: float) -> None:
    entries = decisions(Impairment(loss=loss))
    rate = sum(e.action == "dropped" for e in entries) / N
    # 4 standard deviations of a binomial proportion.
    assert abs(rate - loss) < 4 * (loss * (1 - loss) / N) ** 0.5


def test_same_seed_same_decisions_other_seed_differs() -> None:
    imp = Impairment(loss=0.1, delay=DelayModel("uniform", 10, 40))
    assert decisions(imp, 500, seed=3) == decisions(imp, 500, seed=3)
    assert decisions(imp, 500, seed=3) != decisions(imp, 500, seed=4)


def test_aspects_have_independent_random_streams() -> None:
    """Turning duplication on does not change which datagrams are lost."""
    plain = decisions(Impairment(loss=0.1), 2000)
    dup = decisions(Impairment(loss=0.1, duplicate=0.2), 2000)
    assert [e.action == "dropped" for e in plain] == [e.action == "dropped" for e in dup]


@pytest.mark.parametrize(("average", "burst"), [(0.05, 2.0), (0.05, 4.0), (0.1, 3.0)])
def test_gilbert_elliott_burstiness(average: float, burst: float) -> None:
    ge = GilbertElliott.for_average(average, burst)
    assert ge.average_loss == pytest.approx(average)
    entries = decisions(Impairment(burst=ge), 4 * N)
    rate = sum(e.action == "dropped" for e in entries) / len(entries)
    runs = bursts(entries)
    assert rate == pytest.approx(average, rel=0.15)
    assert statistics.mean(runs) == pytest.approx(1 / ge.r, rel=0.15)
    # Bursty, unlike random loss at the same rate (mean run 1 / (1 - loss)).
    random_runs = bursts(decisions(Impairment(loss=average), 4 * N))
    assert statistics.mean(runs) > 1.5 * statistics.mean(random_runs)


def test_gilbert_elliott_partial_loss_in_bad_state() -> None:
    ge = GilbertElliott(p=0.02, r=0.2, loss_bad=0.5, loss_good=0.01)
    entries = decisions(Impairment(burst=ge), 4 * N)
    rate = sum(e.action == "dropped" for e in entries) / len(entries)
    assert rate == pytest.approx(ge.average_loss, rel=0.15)


def delays(model: DelayModel) -> list[float]:
    return [e.delays_ms[0] for e in decisions(Impairment(delay=model))]


def test_constant_delay() -> None:
    assert set(delays(DelayModel("constant", 25.0))) == {25.0}


def test_uniform_delay() -> None:
    d = delays(DelayModel("uniform", 10.0, 40.0))
    assert 10.0 <= min(d) < 10.5 and 49.5 < max(d) <= 50.0
    assert statistics.mean(d) == pytest.approx(30.0, abs=0.5)
    assert statistics.pstdev(d) == pytest.approx(40.0 / 12**0.5, rel=0.03)


def test_normal_delay_clipped_at_zero() -> None:
    d = delays(DelayModel("normal", 30.0, 10.0))
    assert statistics.mean(d) == pytest.approx(30.0, abs=0.5)
    assert statistics.pstdev(d) == pytest.approx(10.0, rel=0.05)
    clipped = delays(DelayModel("normal", 5.0, 10.0))
    assert min(clipped) == 0.0
    assert sum(x == 0.0 for x in clipped) / N == pytest.approx(0.31, abs=0.02)  # P(Z < -0.5)


def test_pareto_delay_has_a_heavy_tail() -> None:
    d = sorted(delays(DelayModel("pareto", 20.0, 10.0, alpha=2.5)))
    assert min(d) >= 20.0
    # Mean of Pareto(alpha) - 1 is 1 / (alpha - 1).
    assert statistics.mean(d) == pytest.approx(20.0 + 10.0 / 1.5, rel=0.05)
    median, p999 = d[N // 2] - 20.0, d[int(N * 0.999)] - 20.0
    assert p999 > 20 * median


def test_reordering_counts() -> None:
    imp = Impairment(delay=DelayModel("constant", 10.0), reorder=0.1, reorder_extra_ms=50.0)
    entries = decisions(imp)
    flagged = [e for e in entries if e.reordered]
    assert len(flagged) / N == pytest.approx(0.1, abs=4 * (0.09 / N) ** 0.5)
    assert all(e.delays_ms == (60.0,) for e in flagged)
    # With 20 ms spacing every delayed datagram is overtaken by the next ones.
    arrivals = TraceModel(imp, seed=1).arrivals([i * 0.02 for i in range(N)])
    order = [a.index for a in arrivals]
    overtaken = sum(1 for a, b in itertools.pairwise(order) if a > b)
    assert overtaken == pytest.approx(len(flagged), rel=0.05)


def test_duplication_counts() -> None:
    imp = Impairment(loss=0.05, duplicate=0.03, delay=DelayModel("uniform", 5.0, 10.0))
    model = TraceModel(imp, seed=2)
    arrivals = model.arrivals([i * 0.02 for i in range(N)])
    dups = sum(e.action == "duplicated" for e in model.log)
    dropped = sum(e.action == "dropped" for e in model.log)
    assert dups / (N - dropped) == pytest.approx(0.03, abs=4 * (0.03 * 0.97 / N) ** 0.5)
    assert len(arrivals) == N - dropped + dups
    assert [a.arrival_s for a in arrivals] == sorted(a.arrival_s for a in arrivals)


def test_trace_model_matches_log() -> None:
    imp = Impairment(loss=0.1, delay=DelayModel("normal", 40.0, 15.0))
    model = TraceModel(imp, seed=5)
    sends = [i * 0.02 for i in range(1000)]
    arrivals = model.arrivals(sends)
    by_index = {a.index: a for a in arrivals}
    for entry in model.log:
        if entry.action == "dropped":
            assert entry.index not in by_index
        else:
            got = by_index[entry.index]
            assert got.arrival_s == pytest.approx(sends[entry.index] + entry.delays_ms[0] / 1000)


class Collector(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.datagrams: list[bytes] = []
        self.transport: asyncio.DatagramTransport | None = None
        self.changed = asyncio.Event()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
        self.datagrams.append(data)
        self.changed.set()

    async def wait_for(self, count: int) -> None:
        while len(self.datagrams) < count:
            self.changed.clear()
            await self.changed.wait()


async def test_live_relay_delivers_exactly_what_the_log_says() -> None:
    loop = asyncio.get_running_loop()
    server_transport, server = await loop.create_datagram_endpoint(
        Collector, local_addr=("127.0.0.1", 0)
    )
    up = Impairment(loss=0.1, duplicate=0.02, delay=DelayModel("uniform", 0.0, 3.0))
    down = Impairment(loss=0.1)
    relay = Relay(server_transport.get_extra_info("sockname")[:2], up, down, seed=7)
    address = await relay.start()
    client_transport, client = await loop.create_datagram_endpoint(Collector, remote_addr=address)
    n = 1000
    try:
        async with asyncio.timeout(8):
            for start in range(0, n, 50):  # in bursts the socket buffers surely hold
                for i in range(start, start + 50):
                    client_transport.sendto(f"{i:04d}".encode())
                await relay.wait_received("up", start + 50)
            await relay.drain()
            expected = {
                f"{e.index:04d}".encode(): e.copies for e in relay.log if e.direction == "up"
            }
            await server.wait_for(relay.delivered("up"))
            # The server answers every datagram it got; the relay impairs the answers.
            assert server.transport is not None
            for start in range(0, len(server.datagrams), 50):
                for data in server.datagrams[start : start + 50]:
                    server.transport.sendto(data, relay.server_side_address)
                await relay.wait_received("down", min(start + 50, len(server.datagrams)))
            await relay.drain()
            await client.wait_for(relay.delivered("down"))
    finally:
        relay.close()
        client_transport.close()
        server_transport.close()

    got: dict[bytes, int] = {}
    for data in server.datagrams:
        got[data] = got.get(data, 0) + 1
    assert got == {k: v for k, v in expected.items() if v}
    dropped = sum(v == 0 for v in expected.values())
    assert 0.07 < dropped / n < 0.13
    assert sum(v == 2 for v in expected.values()) > 0
    # No delay downstream, so order is kept: the client got the answers the log forwarded.
    down_log = [e for e in relay.log if e.direction == "down"]
    kept = [d for d, e in zip(server.datagrams, down_log, strict=True) if e.action != "dropped"]
    assert client.datagrams == kept
    assert len(kept) < len(server.datagrams)


async def test_a_cut_relay_drops_everything_both_ways_until_restored() -> None:
    loop = asyncio.get_running_loop()
    server_transport, server = await loop.create_datagram_endpoint(
        Collector, local_addr=("127.0.0.1", 0)
    )
    relay = Relay(server_transport.get_extra_info("sockname")[:2])
    address = await relay.start()
    client_transport, client = await loop.create_datagram_endpoint(Collector, remote_addr=address)
    try:
        async with asyncio.timeout(5):
            client_transport.sendto(b"before")
            await server.wait_for(1)
            relay.cut = True
            client_transport.sendto(b"lost up")
            assert server.transport is not None
            server.transport.sendto(b"lost down", relay.server_side_address)
            while relay.cut_dropped < 2:
                relay._progress.clear()
                await relay._progress.wait()
            relay.cut = False
            client_transport.sendto(b"after")
            await server.wait_for(2)
            server.transport.sendto(b"answer", relay.server_side_address)
            await client.wait_for(1)
    finally:
        relay.close()
        client_transport.close()
        server_transport.close()
    assert server.datagrams == [b"before", b"after"] and client.datagrams == [b"answer"]
    assert relay.cut_dropped == 2
    assert [e.action for e in relay.log if e.index == -1] == ["dropped", "dropped"]
