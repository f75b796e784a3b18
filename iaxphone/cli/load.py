"""``iaxphone load``: call load against a PBX, from one process or every core.

The scenario comes from ``--scenario FILE.toml`` and the options (which win;
see :mod:`iaxphone.load.scenario`).  One worker runs in this process; more
(``--workers``, default one per core) run as processes this command starts
and watches (:mod:`iaxphone.load.supervisor`).  A progress line every
second on stderr; at the end the summary on stderr, ``--json`` and
``--csv`` files, and the exit code from ``--max-failed`` (10) and
``--min-mos`` (11).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

from iaxphone.aio.client import UnreachableError
from iaxphone.load.engine import LoadEngine, run_share
from iaxphone.load.plan import plan
from iaxphone.load.progress import Progress
from iaxphone.load.results import CallResult
from iaxphone.load.scenario import EXPECTS, Scenario, ScenarioError, from_table, load_file
from iaxphone.load.summary import (
    LoadSummary,
    WorkerReport,
    describe,
    summarise,
    write_csv,
    write_json,
)
from iaxphone.load.supervisor import run_workers

from . import exitcodes
from .errors import CommandError
from .lines import check_writable
from .stopping import stop_on_signals


def add_load_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    load = commands.add_parser(
        "load", help="call load against a PBX: many calls, set-up times, loss, MOS"
    )
    load.add_argument(
        "dest", nargs="*", metavar="DEST", help="number to call, NUMBER*WEIGHT for a mix"
    )
    load.add_argument("--scenario", type=Path, metavar="FILE.toml", help="the scenario file")
    load.add_argument("--server", metavar="HOST[:PORT]", help="the PBX (the file's target)")
    load.add_argument(
        "--account",
        action="append",
        metavar="USER:SECRET",
        help="call as this account (again for more; USER alone: secret from IAXPHONE_SECRET)",
    )
    load.add_argument("--trunk", action="store_true", default=None, help="trunk peers: meta trunk")
    load.add_argument("--register", action="store_true", default=None, help="register first")
    load.add_argument("--calls", type=float, metavar="N", help="calls to place in all")
    load.add_argument("--rate", type=float, metavar="PER_S", help="new calls per second")
    load.add_argument("--hold", type=float, metavar="SECONDS", help="how long each call stays up")
    load.add_argument("--duration", type=float, metavar="SECONDS", help="end the run after this")
    load.add_argument("--answer-timeout", type=float, metavar="SECONDS", help="give up ringing")
    load.add_argument("--codec", metavar="LIST", help="codecs in order of preference (ulaw)")
    load.add_argument("--play", metavar="FILE.wav", help="send this WAV in every call")
    load.add_argument("--dtmf", metavar="DIGITS", help="send these digits after answer")
    load.add_argument("--expect", choices=EXPECTS, help="what must come back: echo or a tone")
    load.add_argument("--tone-hz", type=float, metavar="HZ", help="the tone sent or expected")
    load.add_argument(
        "--workers", type=float, metavar="N", help="processes (default: one per core)"
    )
    load.add_argument("--json", type=Path, metavar="FILE.json", help="write the summary here")
    load.add_argument("--csv", type=Path, metavar="FILE.csv", help="write one row per call here")
    load.add_argument("--max-failed", metavar="N|P%", help="exit 10 if more calls than this failed")
    load.add_argument(
        "--min-mos", type=float, metavar="MOS", help="exit 11 if an answered call scored less"
    )
    load.add_argument(
        "--mos-threshold", type=float, metavar="MOS", help="count calls at or above it (4.0)"
    )
    load.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    load.add_argument(
        "--locustfile", action="store_true", help="print the path of the Locust file and exit"
    )
    load.set_defaults(run=lambda args: asyncio.run(run_load(args)))


# ---------------------------------------------------------------------------- the scenario

_OPTION_KEYS = (
    ("calls", "calls"),
    ("rate", "rate"),
    ("hold", "hold"),
    ("duration", "duration"),
    ("answer_timeout", "answer_timeout"),
    ("codec", "codec"),
    ("trunk", "trunk"),
    ("register", "register"),
    ("workers", "workers"),
    ("mos_threshold", "mos_threshold"),
    ("min_mos", "min_mos"),
    ("max_failed", "max_failed"),
)


def _whole(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def scenario_from_args(args: argparse.Namespace) -> Scenario:
    """The file's table with the options laid over it, checked (ScenarioError)."""
    table: dict[str, Any] = dict(load_file(args.scenario)) if args.scenario else {}
    source = str(args.scenario) if args.scenario else "iaxphone load"
    base = args.scenario.parent if args.scenario else None
    if args.server:
        table["target"] = args.server
    for option, key in _OPTION_KEYS:
        value = getattr(args, option)
        if value is not None:
            table[key] = _whole(value) if isinstance(value, float) else value
    if args.account:
        accounts = []
        for text in args.account:
            user, sep, secret = text.partition(":")
            accounts.append({"user": user, "secret": secret} if sep else {"user": user})
        table["account"] = accounts
    if args.dest:
        destinations = []
        for text in args.dest:
            match = re.fullmatch(r"(.+)\*([\d.]+)", text)
            number, weight = (match.group(1), float(match.group(2))) if match else (text, 1.0)
            entry: dict[str, Any] = {"number": number, "weight": weight}
            for option, key in (("expect", "expect"), ("tone_hz", "tone_hz"), ("dtmf", "dtmf")):
                if getattr(args, option) is not None:
                    entry[key] = getattr(args, option)
            if args.play is not None:
                entry["play"] = str(Path(args.play).resolve())
            destinations.append(entry)
        table["destination"] = destinations
    elif any(getattr(args, o) is not None for o in ("expect", "tone_hz", "dtmf", "play")):
        for entry in table.get("destination", []):
            if isinstance(entry, dict):
                for option, key in (("expect", "expect"), ("tone_hz", "tone_hz")):
                    if getattr(args, option) is not None:
                        entry[key] = getattr(args, option)
                if args.dtmf is not None:
                    entry["dtmf"] = args.dtmf
                if args.play is not None:
                    entry["play"] = str(Path(args.play).resolve())
    return from_table(table, source, base)


# ---------------------------------------------------------------------------- running


class ProgressPrinter:
    def __init__(self, calls: int, quiet: bool) -> None:
        self.calls = calls
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.printed = False

    def __call__(self, progress: Progress) -> None:
        if self.quiet:
            return
        text = progress.line(self.calls)
        end = "" if self.tty else "\n"
        print(("\r\x1b[K" + text) if self.tty else text, end=end, file=sys.stderr, flush=True)
        self.printed = True

    def finish(self) -> None:
        if self.printed and self.tty:
            print(file=sys.stderr)


async def run_here(
    scenario: Scenario, printer: ProgressPrinter, stop: asyncio.Event
) -> list[CallResult]:
    """One worker, in this process."""
    async with LoadEngine(scenario) as engine:
        engine.check_audio()
        share = asyncio.ensure_future(run_share(engine, plan(scenario, 1), printer))
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({share, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if share.done():
            return share.result()
        share.cancel()
        for line_id in list(engine.phone.lines):
            await engine.phone.hangup(line_id)
        while engine.phone.lines:  # every call's summary is in
            await asyncio.sleep(0.05)
        await asyncio.gather(share, return_exceptions=True)
        return list(engine.results)


def exit_code(summary: LoadSummary) -> int:
    if summary.verdict.too_many_failed:
        return exitcodes.LOAD_FAILED_CALLS
    if summary.verdict.mos_too_low:
        return exitcodes.LOAD_LOW_MOS
    return exitcodes.OK


LOCUSTFILE = Path(__file__).resolve().parent.parent / "load" / "locust" / "locustfile.py"


async def run_load(args: argparse.Namespace) -> int:
    if args.locustfile:
        print(LOCUSTFILE)
        return exitcodes.OK
    try:
        scenario = scenario_from_args(args)
    except ScenarioError as exc:
        raise CommandError(str(exc), exitcodes.USAGE) from None
    check_writable(args.json, "--json")
    check_writable(args.csv, "--csv")
    workers = scenario.workers or os.cpu_count() or 1
    workers = max(1, min(workers, scenario.calls))
    printer = ProgressPrinter(scenario.calls, args.quiet)
    started = time.monotonic()
    cpu0 = time.process_time()
    reports: list[WorkerReport] = []
    with stop_on_signals() as stop:
        try:
            if workers == 1:
                results = await run_here(scenario, printer, stop)
            else:
                # Check what every worker would refuse (a bad WAV) once, here.
                LoadEngine(scenario).check_audio()

                def started_worker(index: int, pid: int) -> None:
                    if not args.quiet:
                        print(f"iaxphone: worker {index} started, pid {pid}", file=sys.stderr)

                results, reports = await run_workers(
                    scenario, workers, printer, started_worker, stop
                )
        except ScenarioError as exc:
            raise CommandError(str(exc), exitcodes.USAGE) from None
        except UnreachableError as exc:
            raise CommandError(str(exc), exitcodes.UNREACHABLE) from None
    printer.finish()
    cpu = time.process_time() - cpu0 + sum(r.cpu_s or 0.0 for r in reports)
    summary = summarise(scenario, results, time.monotonic() - started, cpu, reports)
    for text in describe(summary):
        print(f"iaxphone: {text}", file=sys.stderr)
    try:
        if args.json is not None:
            write_json(args.json, summary, results)
        if args.csv is not None:
            write_csv(args.csv, results)
    except OSError as exc:
        raise CommandError(f"cannot write the summary: {exc.strerror or exc}", 1) from None
    return exit_code(summary)


__all__ = ["add_load_parser", "run_load", "scenario_from_args"]
