"""``iaxphone listen``: register and take incoming calls (an answering endpoint for scripts)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path

from iaxphone import keys
from iaxphone.aio.client import UnreachableError
from iaxphone.callrecord import CallLog, CallSummary
from iaxphone.media.virtual import AudioFileError, load_wav
from iaxphone.phone import LineInfo, Phone
from iaxphone.target import TargetError, parse_server

from . import exitcodes
from .account import accept_from, add_accept_option, add_account_options, identity
from .call import (
    add_device_options,
    describe_end,
    open_call_log,
    phone_account,
    register_account,
    running,
)
from .errors import CommandError
from .lines import AudioChoice, LineDevices, LineWatch, check_writable
from .stopping import stop_on_signals
from .text import print_received_texts


def add_listen_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    listen = commands.add_parser("listen", help="register and answer incoming calls")
    add_account_options(listen)
    add_accept_option(listen)
    listen.add_argument(
        "--auto-answer",
        action="store_true",
        help="answer every call (from whoever may call) at once",
    )
    listen.add_argument(
        "--pbx-key",
        metavar="NAME|FILE",
        help="take only calls signed with this RSA public key (the PBX's outkey)",
    )
    listen.add_argument(
        "--play", type=Path, metavar="FILE.wav", help="send this WAV file to each caller"
    )
    listen.add_argument(
        "--record",
        type=Path,
        metavar="FILE.wav",
        help="record each call (FILE-N.wav when --max-calls > 1)",
    )
    add_device_options(listen)
    listen.add_argument(
        "--max-calls", type=int, metavar="N", help="exit 0 after N calls have ended"
    )
    listen.add_argument(
        "--duration", type=float, metavar="SECONDS", help="hang up each call after this long"
    )
    listen.add_argument(
        "--stats", type=Path, metavar="FILE.json", help="write a JSON list of per-call statistics"
    )
    listen.add_argument("-v", "--verbose", action="store_true", help="print each call's events")
    listen.set_defaults(run=lambda args: asyncio.run(run_listen(args)))


def recording_path(base: Path | None, index: int, many: bool) -> Path | None:
    if base is None or not many:
        return base
    return base.with_name(f"{base.stem}-{index}{base.suffix}")


def caller(name: str | None, number: str) -> str:
    return f"{name or ''} <{number}>".strip()


async def run_listen(args: argparse.Namespace) -> int:
    me = identity(args)
    if not me.server:
        raise CommandError(
            "listen needs --server HOST[:PORT] (or an account in the config file)", exitcodes.USAGE
        )
    if args.max_calls is not None and args.max_calls < 1:
        raise CommandError("--max-calls must be at least 1", exitcodes.USAGE)
    if args.play is not None:
        try:
            load_wav(args.play, 8000)
        except AudioFileError as exc:
            raise CommandError(str(exc), exitcodes.USAGE) from None
    check_writable(args.record, "--record")
    check_writable(args.stats, "--stats")
    try:
        host, port = parse_server(me.server)
    except TargetError as exc:
        raise CommandError(str(exc), exitcodes.USAGE) from None
    auto_answer = args.auto_answer or me.auto_answer
    caller_key = None
    if args.pbx_key:
        try:
            caller_key = keys.load_public(args.pbx_key)
        except keys.RsaKeyError as exc:
            raise CommandError(str(exc), exitcodes.USAGE) from None
    account = phone_account(
        me,
        (host, port),
        auto_answer=auto_answer,
        accept_calls_from=accept_from(args, me),
        intercom=False,  # listen answers only with --auto-answer
    )
    many = args.max_calls != 1
    # Only incoming calls here, so line N is the Nth call: FILE-N.wav.
    audio = LineDevices(
        lambda line: AudioChoice(
            args.play, recording_path(args.record, line.id, many), args.input, args.output
        ),
        me.audio,
    )
    log = open_call_log(args.stats, many=True)
    phone = Phone(
        [account],
        formats=me.formats,
        frame_ms=me.frame_ms,
        call_log=log,
        endpoint_config=me.endpoint_config(caller_rsa_key=caller_key),
        register=False,
        line_audio=audio.open,
        line_stats=False,  # no graphs here: statistics are read when a call ends
    )
    with stop_on_signals() as stop:
        async with running(phone, log):
            try:
                await register_account(phone, host, port, me)
            except UnreachableError as exc:
                raise CommandError(str(exc), exitcodes.UNREACHABLE) from None
            mode = "on" if auto_answer else "off"
            policy = phone.policies[account.name].describe()
            print(
                f"listening as {me.user} (auto-answer {mode}; calls from {policy})",
                file=sys.stderr,
                flush=True,
            )
            with print_received_texts(phone):  # "text from NUMBER: ..." on stdout
                await answer_calls(phone, log, args, stop)
    return exitcodes.OK


async def answer_calls(
    phone: Phone, log: CallLog, args: argparse.Namespace, stop: asyncio.Event
) -> None:
    """Take calls until ``--max-calls`` have ended or a signal; later calls get busy."""
    watch = LineWatch(phone, log)
    taken: set[int] = set()
    done = asyncio.Event()
    timers: set[asyncio.Task[None]] = set()

    def on_new(line: LineInfo) -> None:
        if args.max_calls is not None and len(taken) >= args.max_calls:
            return  # refused busy: the phone is in do-not-disturb by now
        taken.add(line.id)
        called = f" to {line.called_number}" if line.called_number else ""
        print(
            f"incoming call from {caller(line.name, line.number)}{called}",
            file=sys.stderr,
            flush=True,
        )
        if args.max_calls is not None and len(taken) >= args.max_calls:
            # Once this call is taken (not before: it would be refused too), later ones get busy.
            asyncio.get_running_loop().call_soon(phone.set_dnd, True)

    def on_talking(line: LineInfo) -> None:
        if args.duration is not None:
            timer = asyncio.ensure_future(hang_up_later(phone, line.id, args.duration))
            timers.add(timer)
            timer.add_done_callback(timers.discard)

    def on_ended(summary: CallSummary) -> None:
        if summary.line_id not in taken:
            return
        who = caller(summary.name, summary.number)
        if summary.answered:
            took = round(summary.duration_s, 2)
            print(
                f"call from {who} ended after {took} s: {describe_end(summary)}",
                file=sys.stderr,
                flush=True,
            )
        else:
            print(f"missed call from {who}: {describe_end(summary)}", file=sys.stderr, flush=True)
        taken.discard(summary.line_id)
        finished.append(summary.line_id)
        if args.max_calls is not None and len(finished) >= args.max_calls:
            done.set()

    finished: list[int] = []
    watch.on_new, watch.on_talking, watch.on_ended = on_new, on_talking, on_ended
    stopping = asyncio.ensure_future(stop.wait())
    all_done = asyncio.ensure_future(done.wait())
    try:
        await asyncio.wait({stopping, all_done}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (stopping, all_done, *timers):
            task.cancel()


async def hang_up_later(phone: Phone, line_id: int, seconds: float) -> None:
    """``--duration``: hang up a call this long after it was answered."""
    await asyncio.sleep(seconds)
    with contextlib.suppress(KeyError):  # it ended already
        await phone.hangup(line_id)
