"""Which call goes where, as who, placed by which worker, and when.

The plan is worked out from the scenario alone, so every worker process
(and the supervisor, which counts the calls of a worker that died) agrees
on it without talking:

* call ``i`` starts ``i / rate`` seconds into the run;
* it is placed by worker ``i % workers``;
* its destination follows a smooth weighted round robin over the
  destinations (nginx's: each pick adds every weight to its credit and
  takes the largest, which spreads a 3:1 mix as A A B A A A B A ...,
  exact over every cycle of the weights, not a random draw);
* its account: each worker takes its own slice of the accounts
  (``accounts[w::workers]``, one trunk or one set of phones per process)
  when there are enough of them, else all of them; calls take the slice's
  accounts in turn.
"""

from __future__ import annotations

from dataclasses import dataclass

from .scenario import Scenario


@dataclass(frozen=True)
class PlannedCall:
    index: int
    worker: int
    at_s: float  # seconds after the run started
    destination: int  # index into scenario.destinations
    account: int  # index into scenario.accounts


def destination_order(weights: tuple[float, ...], count: int) -> list[int]:
    """Smooth weighted round robin: ``count`` picks spread by ``weights``."""
    credit = [0.0] * len(weights)
    total = sum(weights)
    order: list[int] = []
    for _ in range(count):
        for i, weight in enumerate(weights):
            credit[i] += weight
        best = max(range(len(weights)), key=lambda i: credit[i])
        credit[best] -= total
        order.append(best)
    return order


def worker_accounts(scenario: Scenario, worker: int, workers: int) -> list[int]:
    """The accounts a worker calls as: a slice of its own if there are enough."""
    every = list(range(len(scenario.accounts)))
    return every[worker::workers] if len(every) >= workers else every


def plan(scenario: Scenario, workers: int = 1) -> list[PlannedCall]:
    """Every call of the run, in the order they start."""
    order = destination_order(tuple(d.weight for d in scenario.destinations), scenario.calls)
    own = [worker_accounts(scenario, w, workers) for w in range(workers)]
    turns = [0] * workers
    calls: list[PlannedCall] = []
    for index, destination in enumerate(order):
        worker = index % workers
        accounts = own[worker]
        account = accounts[turns[worker] % len(accounts)]
        turns[worker] += 1
        calls.append(PlannedCall(index, worker, index / scenario.rate, destination, account))
    return calls


__all__ = ["PlannedCall", "destination_order", "plan", "worker_accounts"]
