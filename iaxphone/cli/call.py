"""``iaxphone call`` and ``iaxphone register``: the headless phone for scripts and tests."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from iaxphone import config
from iaxphone.aio.client import RegistrationError, UnreachableError
from iaxphone.callrecord import CallLog, CallSummary, StatsFile
from iaxphone.history import History
from iaxphone.media import devices
from iaxphone.media.stats import MediaStats
from iaxphone.media.virtual import AudioFileError, load_wav
from iaxphone.phone import LineState, Phone, PhoneAccount, PhoneEvent, RegistrationChanged
from iaxphone.proto.events import EndReason
from iaxphone.target import Target, TargetError, parse_server, parse_target
from iaxphone.wire.constants import Cause

from . import exitcodes
from .account import Identity, add_account_options, identity
from .errors import CommandError
from .lines import LineDevices, LineWatch, check_writable, open_audio
from .stopping import stop_on_signals

# ---------------------------------------------------------------------------- arguments


def add_call_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    call = commands.add_parser("call", help="call an extension or iax: URI")
    call.add_argument(
        "dest", metavar="DEST", help="extension (with --server) or iax:[user@]host[:port]/number"
    )
    add_account_options(call)
    call.add_argument(
        "--play", type=Path, metavar="FILE.wav", help="send this WAV file as the microphone"
    )
    call.add_argument(
        "--record", type=Path, metavar="FILE.wav", help="write what is heard to this WAV file"
    )
    add_device_options(call)
    call.add_argument(
        "--dtmf", metavar="DIGITS", help="send these digits after answer (',' = 500 ms pause)"
    )
    call.add_argument(
        "--duration", type=float, metavar="SECONDS", help="hang up this long after answer"
    )
    call.add_argument(
        "--stats", type=Path, metavar="FILE.json", help="write final statistics as JSON"
    )
    call.add_argument("--register", action="store_true", help="register the account before calling")
    call.add_argument(
        "--encrypt", action="store_true", help="require AES-128 encryption (exit 7 if refused)"
    )
    call.add_argument(
        "--trunk", action="store_true", help="send voice in IAX2 meta trunk frames (a trunk peer)"
    )
    call.add_argument(
        "--answer-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="give up ringing after this long",
    )
    call.add_argument(
        "-v", "--verbose", action="store_true", help="live one-line status every second"
    )
    call.set_defaults(run=lambda args: asyncio.run(run_call(args)))

    register = commands.add_parser(
        "register", help="register, print status and voicemail count, exit"
    )
    add_account_options(register)
    register.add_argument(
        "--watch", action="store_true", help="stay registered and print changes until Ctrl-C"
    )
    register.set_defaults(run=lambda args: asyncio.run(run_register(args)))


# ---------------------------------------------------------------------------- call


def describe_end(summary: CallSummary) -> str:
    code = f" (cause {summary.cause_code})" if summary.cause_code is not None else ""
    return f"{summary.cause}{code}"


def exit_code_for(summary: CallSummary) -> int:
    """The exit code for a call that ended before it was answered."""
    by_reason = {
        EndReason.WRONG_SECRET: exitcodes.AUTH_REJECTED,
        EndReason.ENCRYPTION_REFUSED: exitcodes.ENCRYPTION_REFUSED,
        EndReason.NO_ANSWER: exitcodes.UNREACHABLE,
    }
    if summary.reason in by_reason:
        return by_reason[summary.reason]
    return exitcodes.CAUSE_EXIT.get(summary.cause_code or 0, exitcodes.FAILURE)


def add_device_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--input", metavar="DEVICE", help="microphone: name or index (default: [audio] input)"
    )
    parser.add_argument(
        "--output", metavar="DEVICE", help="speaker: name or index (default: [audio] output)"
    )


def status_line(stats: MediaStats, elapsed: float) -> str:
    return (
        f"{int(elapsed) // 60:02d}:{int(elapsed) % 60:02d} {stats.codec} "
        f"mic {stats.mic.rms_dbfs:>6.1f} dBFS  spk {stats.speaker.rms_dbfs:>6.1f} dBFS  "
        f"jitter {stats.jitter_ms:>5.1f} ms  jb {stats.jitter_buffer.delay_ms:>5.1f} ms  "
        f"loss {stats.loss.percent:>4.1f} %  MOS {stats.mos}"
    )


def check_dtmf(digits: str | None) -> None:
    if digits is not None and any(d not in "0123456789*#ABCDabcd," for d in digits):
        raise CommandError(
            f"--dtmf {digits!r}: use 0-9, *, #, A-D and ',' for a pause", exitcodes.USAGE
        )


def phone_account(me: Identity, server: tuple[str, int], **settings: Any) -> PhoneAccount:
    """The command's one account for the phone: who we are, at this server.

    It takes no calls unless ``settings`` say whom from (``accept_calls_from``).
    """
    account = PhoneAccount(
        me.account or me.user or "iaxphone",
        server,
        me.user or "",
        me.secret,
        encryption=me.encryption,
        trunk=me.trunk,
        rsa_private_key=me.rsa_private_key,
        accept_calls_from=(),
        voice=me.voice,
    )
    return dataclasses.replace(account, **settings)


def open_call_log(stats: Path | None, many: bool = False) -> CallLog:
    """The command's call log: the history (if it opens) and ``--stats``."""
    return CallLog(open_history(), StatsFile(stats, many) if stats is not None else None)


def close_call_log(log: CallLog) -> None:
    """Write ``--stats`` (once) and close the history; a file that cannot be written is exit 1."""
    try:
        log.close()
    except OSError as exc:
        path = log.stats.path if log.stats is not None else "statistics"
        raise CommandError(
            f"{path}: cannot write statistics ({exc.strerror or exc})", exitcodes.FAILURE
        ) from None


@contextlib.asynccontextmanager
async def running(phone: Phone, log: CallLog) -> AsyncIterator[Phone]:
    """The phone started and, after, stopped; the call log closed once all calls are in."""
    try:
        async with phone:
            yield phone
    except BaseException:
        with contextlib.suppress(OSError):
            log.close()
        raise
    close_call_log(log)


async def run_call(args: argparse.Namespace) -> int:
    uri_user = None
    if args.dest.lower().startswith("iax:"):
        with contextlib.suppress(TargetError):
            uri_user = parse_target(args.dest, None).user
    me = identity(args, uri_user)
    try:
        target = parse_target(args.dest, me.server)
    except TargetError as exc:
        raise CommandError(str(exc), exitcodes.USAGE) from None
    check_dtmf(args.dtmf)
    if args.duration is not None and args.duration <= 0:
        raise CommandError("--duration must be more than 0 seconds", exitcodes.USAGE)
    if args.play is not None:
        try:
            load_wav(args.play, 8000)  # refuse a bad file before ringing anyone
        except AudioFileError as exc:
            raise CommandError(str(exc), exitcodes.USAGE) from None
    check_writable(args.record, "--record")  # and a file we could not write
    check_writable(args.stats, "--stats")
    account = phone_account(
        me,
        (target.host, target.port),
        encryption="required" if args.encrypt else me.encryption,
        trunk=args.trunk or me.trunk,
    )
    log = open_call_log(args.stats)
    audio = LineDevices(lambda line: args, me.audio)
    phone = Phone(
        [account],
        formats=me.formats,
        frame_ms=me.frame_ms,
        call_log=log,
        endpoint_config=me.endpoint_config(),
        register=False,
        line_audio=audio.open,
        line_stats=False,  # the status line asks for them once a second
    )
    try:
        async with running(phone, log):
            if args.register:
                await register_account(phone, target.host, target.port, me)
            return await place_call(phone, log, audio, args, target)
    except UnreachableError as exc:
        raise CommandError(str(exc), exitcodes.UNREACHABLE) from None


def open_history() -> History | None:
    try:
        return History(config.data_dir() / "history.sqlite3")
    except (OSError, sqlite3.Error) as exc:
        print(f"iaxphone: call history disabled: {exc}", file=sys.stderr)
        return None


async def place_call(
    phone: Phone,
    log: CallLog,
    audio: LineDevices,
    args: argparse.Namespace,
    target: Target,
) -> int:
    watch = LineWatch(phone, log)
    # The account is ours at this server: the URI's user is already who we are.
    line_id = await phone.dial(dataclasses.replace(target, user=None))
    ended = watch.ended(line_id)
    with stop_on_signals() as stop:
        await wait_answer(phone, line_id, watch, stop, args.answer_timeout, args.verbose)
        if ended.done() and not ended.result().answered:
            summary = ended.result()
            where = f"{target.number} at {target.host}:{target.port}"
            raise CommandError(
                f"call to {where} failed: {describe_end(summary)}", exit_code_for(summary)
            )
        answered_at = time.monotonic()
        helpers = []
        if args.dtmf:
            helpers.append(asyncio.ensure_future(phone.dtmf(line_id, args.dtmf, feedback=False)))
        if args.verbose:
            helpers.append(asyncio.ensure_future(print_status(phone, line_id, answered_at)))
        stopping = asyncio.ensure_future(stop.wait())
        failed = asyncio.ensure_future(audio.failed.wait())
        waiting: list[asyncio.Future[Any]] = [stopping, failed, ended]
        await asyncio.wait(waiting, timeout=args.duration, return_when=asyncio.FIRST_COMPLETED)
        for task in (*helpers, stopping, failed):
            task.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        if not ended.done():
            await phone.hangup(line_id)
        summary = await ended
    if args.verbose:
        print(file=sys.stderr)
    if audio.error is not None:
        raise audio.error
    if summary.lost:  # nobody hung up: the server stopped answering (crashed, unplugged)
        raise CommandError(
            f"call lost after {summary.duration_s:.1f} s: the server stopped answering: "
            f"{describe_end(summary)}",
            exitcodes.UNREACHABLE,
        )
    who = "far end" if summary.by_remote else "we"
    print(
        f"call ended after {summary.duration_s:.1f} s: {who} hung up, {describe_end(summary)}",
        file=sys.stderr,
    )
    return exitcodes.OK


SLOW_SETUP_S = 2.0  # a set-up this slow gets a word on what is happening


def note_slow_setup(phone: Phone, line_id: int) -> None:
    """Say why the command is quiet: the PBX has not taken the call yet (it is not ringing)."""
    line = phone.line(line_id)
    if line.info.state is LineState.DIALING:
        host, port = line.account.server
        print(
            f"iaxphone: no answer yet from {host}:{port}; still trying (with encryption on, a"
            " wrong password looks like this: the PBX stays silent)",
            file=sys.stderr,
        )


async def wait_answer(
    phone: Phone,
    line_id: int,
    watch: LineWatch,
    stop: asyncio.Event,
    timeout: float,
    verbose: bool = False,
) -> None:
    """Until the line talks or ends; a timeout or a signal cancels the call (exit 5)."""
    talking, ended = watch.talking(line_id), watch.ended(line_id)
    interrupted = asyncio.ensure_future(stop.wait())
    waiting: list[asyncio.Future[Any]] = [talking, ended, interrupted]
    slow = asyncio.get_running_loop().call_later(SLOW_SETUP_S, note_slow_setup, phone, line_id)
    if not verbose:
        slow.cancel()  # errors stay one line; -v says what the wait is
    done, _ = await asyncio.wait(waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    slow.cancel()
    interrupted.cancel()
    if talking in done or ended in done:
        return
    await phone.hangup(line_id, "no answer", Cause.NO_ANSWER)
    await ended
    why = "interrupted" if interrupted in done else f"no answer within {timeout:g} s"
    raise CommandError(f"call cancelled: {why}", exitcodes.NO_ANSWER)


async def print_status(phone: Phone, line_id: int, answered_at: float) -> None:
    tty = sys.stderr.isatty()
    while True:
        await asyncio.sleep(1.0)
        stats = phone.line_stats(line_id)
        if stats is None:
            continue
        line = status_line(stats, time.monotonic() - answered_at)
        print(("\r" + line) if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- register


async def register_account(phone: Phone, host: str, port: int, me: Identity) -> None:
    if not me.user or (me.secret is None and me.rsa_private_key is None):
        raise CommandError(
            "registering needs --user and --secret (or IAXPHONE_SECRET, or --key)", exitcodes.USAGE
        )
    try:
        registered = await phone.register()
    except RegistrationError as exc:
        code = exitcodes.AUTH_REJECTED if exc.failure.auth_rejected else exitcodes.UNREACHABLE
        raise CommandError(
            f"registration rejected by {host}:{port}: {exc}"
            if exc.failure.auth_rejected
            else f"registration with {host}:{port} failed: {exc}",
            code,
        ) from None
    mail = ""
    if registered.new_messages is not None:
        mail = f"; voicemail: {registered.new_messages} new, {registered.old_messages} old"
    print(
        f"registered {me.user} at {host}:{port} for {registered.expires} s{mail}", file=sys.stderr
    )


async def run_register(args: argparse.Namespace) -> int:
    me = identity(args)
    if not me.server:
        raise CommandError(
            "register needs --server HOST[:PORT] (or an account in the config file)",
            exitcodes.USAGE,
        )
    try:
        host, port = parse_server(me.server)
    except TargetError as exc:
        raise CommandError(str(exc), exitcodes.USAGE) from None
    phone = Phone(
        [phone_account(me, (host, port))],
        formats=me.formats,
        endpoint_config=me.endpoint_config(),
        register=False,
    )
    async with phone:
        try:
            await register_account(phone, host, port, me)
        except UnreachableError as exc:
            raise CommandError(str(exc), exitcodes.UNREACHABLE) from None
        if args.watch:
            subscription = phone.subscribe(lambda event: print_change(event, me, host, port))
            try:
                with stop_on_signals() as stop:
                    await stop.wait()
            finally:
                subscription.close()
    return exitcodes.OK


def describe_change(event: RegistrationChanged, user: str, host: str, port: int) -> str | None:
    """``register --watch``'s line for a registration change (None: nothing to say)."""
    who = f"{user} at {host}:{port}"
    if event.change == "renewed":
        return f"registration of {who} renewed"
    if event.change == "lost":
        return f"registration of {who} lost: {event.reason}; retrying"
    if event.change == "failed":
        return f"registration of {who} failed: {event.reason}; retrying"
    if event.change == "recovered":
        after = f" after {event.offline_s:.1f} s offline" if event.offline_s is not None else ""
        return f"registered {who} again{after}"
    return None  # the first answer: register_account has said it


def print_change(event: PhoneEvent, me: Identity, host: str, port: int) -> None:
    if isinstance(event, RegistrationChanged):
        line = describe_change(event, me.user or "", host, port)
        if line is not None:
            stamp = time.strftime("%H:%M:%S")
            print(f"{stamp} {line}", file=sys.stderr, flush=True)


__all__ = ["CommandError", "add_call_parser", "devices", "open_audio"]
