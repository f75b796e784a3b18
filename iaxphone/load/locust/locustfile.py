"""iaxphone's Locust user class: IAX2 calls from Locust's users, over many machines.

Run it (the path is printed by ``iaxphone load --locustfile``)::

    locust -f LOCUSTFILE --master --iax-scenario run.toml           # web UI on :8089
    locust -f LOCUSTFILE --worker --master-host MASTER --iax-scenario run.toml  # each core

The scenario file is ``iaxphone load``'s (target, accounts, destinations
with their weights and actions, hold, answer timeout); Locust's users and
spawn rate replace its ``calls`` and ``rate``: each user places one call
at a time, holds it, hangs up and calls again.

How it runs: Locust is gevent, iaxphone is asyncio.  Each Locust worker
process starts one iaxphone agent, a real process of its own
(``python -m iaxphone.load.worker``, the same worker ``iaxphone load
--workers`` uses) with its own event loop and socket, and talks to it over
pipes in JSON lines: a user's task writes "place call i" and waits (as a
greenlet, on a gevent AsyncResult) for that call's result line.  No
asyncio code ever runs under gevent's monkey-patching.

What Locust shows: each call gives two entries in the request statistics,
type ``IAX2``: ``setup <number>`` (response time = dial to answer) and
``call <number>`` (response time = the answered call's duration), failed
with the call's cause ("user busy", "no answer", "expect failed", ...).
MOS, loss and frames missing are custom metrics: each worker reports them
to the master with its statistics, and the master serves them as JSON at
``/iaxphone`` on the web UI, prints them when it quits, and writes them to
``--iax-json FILE`` if given.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import gevent
from gevent.event import AsyncResult
from locust import User, constant, events, task
from locust.env import Environment

from iaxphone.load.messages import line, parse_line, scenario_fields
from iaxphone.load.plan import destination_order
from iaxphone.load.results import CallResult
from iaxphone.load.scenario import Scenario, ScenarioError, from_table, load_file
from iaxphone.load.summary import figures_line, write_figures

REQUEST_TYPE = "IAX2"


# ------------------------------------------------------------------------- the agent


class Agent:
    """This Locust process's iaxphone: an agent process and the calls waiting on it."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.process = subprocess.Popen(
            [sys.executable, "-m", "iaxphone.load.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.process.stdin is not None
        self.process.stdin.write(line("agent", {"scenario": scenario_fields(scenario)}))
        self.process.stdin.flush()
        self.waiting: dict[int, AsyncResult] = {}
        self.ready = AsyncResult()
        self.counter = itertools.count()
        weights = tuple(d.weight for d in scenario.destinations)
        cycle = max(1, round(sum(weights) / min(weights))) * len(weights)
        self.order = itertools.cycle(destination_order(weights, cycle))
        self.accounts = itertools.cycle(range(len(scenario.accounts)))
        self.reader = gevent.spawn(self._read)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for data in self.process.stdout:
            message = parse_line(data)
            if message is None:
                continue
            kind, body = message
            if kind == "ready":
                self.ready.set(True)
            elif kind == "result":
                result = CallResult.from_fields(body)
                waiter = self.waiting.pop(result.index, None)
                if waiter is not None:
                    waiter.set(result)
        self.ready.set(False)
        for waiter in self.waiting.values():  # the agent is gone: nobody will answer
            waiter.set(None)
        self.waiting.clear()

    def place(self) -> CallResult | None:
        """Place one call and wait for its result (None: the agent died)."""
        if not self.ready.get():
            return None
        index = next(self.counter)
        waiter = AsyncResult()
        self.waiting[index] = waiter
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(line("call", [index, next(self.order), next(self.accounts)]))
            self.process.stdin.flush()
        except (BrokenPipeError, ValueError):
            self.waiting.pop(index, None)
            return None
        result: CallResult | None = waiter.get()
        return result

    def close(self) -> None:
        """Stdin closes: the agent lets its calls end and exits."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self.process.stdin.close()
        try:
            self.process.wait(timeout=self.scenario.hold_s + self.scenario.answer_timeout_s + 5)
        except subprocess.TimeoutExpired:
            self.process.kill()


_agents: list[Agent] = []  # this process's one agent, once a user needs it


def agent_for(environment: Environment) -> Agent:
    if not _agents:
        _agents.append(Agent(scenario_of(environment)))
    return _agents[0]


def scenario_of(environment: Environment) -> Scenario:
    options = environment.parsed_options
    path = getattr(options, "iax_scenario", None) or os.environ.get("IAXPHONE_LOAD_SCENARIO")
    if not path:
        raise ScenarioError("give the scenario: --iax-scenario FILE.toml")
    file = Path(path)
    return from_table(load_file(file), str(file), file.parent)


# ------------------------------------------------------------------------- custom metrics


class Quality:
    """MOS, loss and frames missing, summed so that workers' reports add up."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.calls = 0
        self.mos_sum = 0.0
        self.mos_min: float | None = None
        self.loss_sum = 0.0
        self.missing_sum = 0.0
        self.meeting = 0
        self.by_worker: dict[str, int] = {}

    def add(self, result: CallResult, threshold: float) -> None:
        if result.mos is None:
            return
        self.calls += 1
        self.mos_sum += result.mos
        self.mos_min = result.mos if self.mos_min is None else min(self.mos_min, result.mos)
        self.loss_sum += result.loss_percent or 0.0
        self.missing_sum += result.missing_percent or 0.0
        self.meeting += result.mos >= threshold

    def fields(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "mos_sum": self.mos_sum,
            "mos_min": self.mos_min,
            "loss_sum": self.loss_sum,
            "missing_sum": self.missing_sum,
            "meeting": self.meeting,
        }

    def merge(self, raw: dict[str, Any], worker: str) -> None:
        self.calls += raw["calls"]
        self.mos_sum += raw["mos_sum"]
        self.loss_sum += raw["loss_sum"]
        self.missing_sum += raw["missing_sum"]
        self.meeting += raw["meeting"]
        if raw["mos_min"] is not None:
            low = raw["mos_min"]
            self.mos_min = low if self.mos_min is None else min(self.mos_min, low)
        self.by_worker[worker] = self.by_worker.get(worker, 0) + raw["calls"]

    def report(self) -> dict[str, Any]:
        n = self.calls
        return {
            "calls": n,
            "mos_mean": round(self.mos_sum / n, 3) if n else None,
            "mos_min": self.mos_min,
            "loss_percent_mean": round(self.loss_sum / n, 3) if n else None,
            "missing_percent_mean": round(self.missing_sum / n, 3) if n else None,
            "meeting_mos": self.meeting,
            "calls_by_worker": dict(self.by_worker),
        }


local_quality = Quality()  # this process's calls since the last report
total_quality = Quality()  # the master's (or a local run's) sum over all workers


def _options(parser: Any) -> None:
    parser.add_argument("--iax-scenario", help="iaxphone load scenario (TOML)", default="")
    parser.add_argument("--iax-json", help="write MOS and loss figures here at the end", default="")


def _report(client_id: str, data: dict[str, Any]) -> None:
    data["iaxphone"] = local_quality.fields()
    local_quality.reset()


def _worker_report(client_id: str, data: dict[str, Any]) -> None:
    if "iaxphone" in data:
        total_quality.merge(data["iaxphone"], client_id)


def _init(environment: Environment, **_: Any) -> None:
    web_ui = environment.web_ui
    if web_ui is not None and web_ui.app is not None:
        web_ui.app.add_url_rule("/iaxphone", "iaxphone", total_quality.report)


def _quitting(environment: Environment, **_: Any) -> None:
    for agent in _agents:
        agent.close()
    if local_quality.calls:  # a run without workers: this process's own
        total_quality.merge(local_quality.fields(), "local")
        local_quality.reset()
    if environment.runner is None or type(environment.runner).__name__ == "WorkerRunner":
        return
    figures = total_quality.report()
    print(f"iaxphone: {figures_line(figures)}", file=sys.stderr)
    path = getattr(environment.parsed_options, "iax_json", "")
    if path:
        write_figures(Path(path), figures)


events.init_command_line_parser.add_listener(_options)  # type: ignore[no-untyped-call]
events.report_to_master.add_listener(_report)  # type: ignore[no-untyped-call]
events.worker_report.add_listener(_worker_report)  # type: ignore[no-untyped-call]
events.init.add_listener(_init)  # type: ignore[no-untyped-call]
events.quitting.add_listener(_quitting)  # type: ignore[no-untyped-call]


# ------------------------------------------------------------------------- the user


class IaxphoneUser(User):
    """One caller: places a call, holds it for the scenario's hold time, and again."""

    wait_time = constant(0)

    @task
    def call(self) -> None:
        agent = agent_for(self.environment)
        result = agent.place()
        fire = self.environment.events.request.fire
        if result is None:
            fire(request_type=REQUEST_TYPE, name="setup", response_time=0, response_length=0,
                 exception=RuntimeError("the iaxphone agent died"))  # fmt: skip
            self.stop()
            return
        number = result.number
        setup_failed = None if result.answered else RuntimeError(result.failure or result.cause)
        setup_ms = result.setup_ms or 0.0
        fire(request_type=REQUEST_TYPE, name=f"setup {number}",
             response_time=setup_ms, response_length=0, exception=setup_failed)  # fmt: skip
        if result.answered:
            failed = RuntimeError(result.failure) if result.failure else None
            fire(request_type=REQUEST_TYPE, name=f"call {number}",
                 response_time=result.duration_s * 1000.0, response_length=result.packets_received,
                 exception=failed)  # fmt: skip
            local_quality.add(result, agent.scenario.mos_threshold)
        else:
            gevent.sleep(1.0)  # a refused call: do not hammer the PBX in a tight loop
