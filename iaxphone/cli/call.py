"""``iaxphone call`` and ``iaxphone register``: the headless phone for scripts and tests."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path

from iaxphone.aio.audio import CallAudio
from iaxphone.aio.client import (
    CallFailedError,
    CallHandle,
    IaxClient,
    RegistrationError,
    UnreachableError,
)
from iaxphone.media.codecs import CODECS, codec_info, is_available, parse_codec_list
from iaxphone.media.virtual import (
    AudioFileError,
    NullSink,
    SilenceSource,
    Sink,
    Source,
    WavSink,
    WavSource,
    load_wav,
)
from iaxphone.proto.call import CallOptions
from iaxphone.proto.endpoint import EndpointConfig
from iaxphone.proto.events import CallEnded
from iaxphone.proto.registration import Account

from . import exitcodes
from .target import Target, TargetError, parse_server, parse_target

DEFAULT_CODECS = "ulaw,alaw,g722,gsm,opus,g729"
DTMF_ON_S = 0.1
DTMF_GAP_S = 0.1
DTMF_PAUSE_S = 0.5


class CommandError(Exception):
    """A failure with its exit code and a one-line message."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


# ---------------------------------------------------------------------------- arguments


def add_account_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", metavar="HOST[:PORT]", help="the PBX (default port 4569)")
    parser.add_argument("--user", metavar="NAME", help="IAX2 username (the extension)")
    parser.add_argument(
        "--secret", metavar="SECRET", help="password (or set IAXPHONE_SECRET; never logged)"
    )
    parser.add_argument(
        "--codec",
        metavar="NAME[,NAME...]",
        default=None,
        help=f"codecs in order of preference (default {DEFAULT_CODECS})",
    )


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


def secret_from(args: argparse.Namespace) -> str | None:
    value: str | None = args.secret or os.environ.get("IAXPHONE_SECRET")
    return value


def codecs_from(args: argparse.Namespace) -> list[int]:
    try:
        wanted = parse_codec_list(args.codec or DEFAULT_CODECS)
    except ValueError as exc:
        raise CommandError(f"--codec: {exc}", exitcodes.USAGE) from None
    usable = [int(fmt) for fmt in wanted if is_available(fmt)]
    if args.codec and len(usable) < len(wanted):
        missing = ", ".join(CODECS[fmt].name for fmt in wanted if not is_available(fmt))
        raise CommandError(
            f"--codec: {missing} cannot run here (its library is not installed)", exitcodes.USAGE
        )
    if not usable:
        raise CommandError("no codec can run on this machine", exitcodes.FAILURE)
    return usable


# ---------------------------------------------------------------------------- call


def describe_end(ended: CallEnded) -> str:
    code = f" (cause {ended.cause_code})" if ended.cause_code is not None else ""
    return f"{ended.cause}{code}"


def exit_code_for(ended: CallEnded) -> int:
    if "encrypt" in ended.cause.lower():
        return exitcodes.ENCRYPTION_REFUSED
    if "wrong username or password" in ended.cause:
        return exitcodes.AUTH_REJECTED
    if ended.cause.startswith("no answer from"):
        return exitcodes.UNREACHABLE
    return exitcodes.CAUSE_EXIT.get(ended.cause_code or 0, exitcodes.FAILURE)


def open_audio(args: argparse.Namespace, rate: int) -> tuple[Source, Sink]:
    try:
        source: Source = WavSource(args.play, rate) if args.play else SilenceSource(rate)
        sink: Sink = WavSink(args.record, rate) if args.record else NullSink(rate)
    except AudioFileError as exc:
        raise CommandError(str(exc), exitcodes.USAGE) from None
    return source, sink


def status_line(call: CallHandle, audio: CallAudio, answered_at: float) -> str:
    s = audio.session.snapshot()
    elapsed = time.monotonic() - answered_at
    return (
        f"{int(elapsed) // 60:02d}:{int(elapsed) % 60:02d} {s['codec']} "
        f"mic {s['mic_rms_dbfs']:>6.1f} dBFS  spk {s['speaker_rms_dbfs']:>6.1f} dBFS  "
        f"jitter {s['jitter_ms']:>5.1f} ms  jb {s['jb_delay_ms']:>5.1f} ms  "
        f"loss {s['loss_percent']:>4.1f} %  MOS {s['mos']}"
    )


async def send_digits(call: CallHandle, digits: str) -> None:
    for digit in digits:
        if digit == ",":
            await asyncio.sleep(DTMF_PAUSE_S)
            continue
        call.send_dtmf(digit, begin=True)
        await asyncio.sleep(DTMF_ON_S)
        call.send_dtmf(digit)
        await asyncio.sleep(DTMF_GAP_S)


def check_dtmf(digits: str | None) -> None:
    if digits is not None and any(d not in "0123456789*#ABCDabcd," for d in digits):
        raise CommandError(
            f"--dtmf {digits!r}: use 0-9, *, #, A-D and ',' for a pause", exitcodes.USAGE
        )


async def run_call(args: argparse.Namespace) -> int:
    try:
        target = parse_target(args.dest, args.server)
    except TargetError as exc:
        raise CommandError(str(exc), exitcodes.USAGE) from None
    check_dtmf(args.dtmf)
    if args.duration is not None and args.duration <= 0:
        raise CommandError("--duration must be more than 0 seconds", exitcodes.USAGE)
    formats = codecs_from(args)
    user = args.user or target.user
    secret = secret_from(args)
    if args.play is not None:
        try:
            load_wav(args.play, 8000)  # refuse a bad file before ringing anyone
        except AudioFileError as exc:
            raise CommandError(str(exc), exitcodes.USAGE) from None
    async with IaxClient(("0.0.0.0", 0), EndpointConfig(formats=formats)) as client:
        try:
            if args.register:
                await register_account(client, target.host, target.port, user, secret)
            return await place_call(client, args, target, user, secret)
        except UnreachableError as exc:
            raise CommandError(str(exc), exitcodes.UNREACHABLE) from None


async def place_call(
    client: IaxClient,
    args: argparse.Namespace,
    target: Target,
    user: str | None,
    secret: str | None,
) -> int:
    options = CallOptions(
        target.number, username=user, secret=secret, context=target.context, caller_number=user
    )
    started = time.monotonic()
    call = await client.dial((target.host, target.port), options)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    try:
        try:
            await wait_answer(call, stop, args.answer_timeout)
        except CallFailedError as failure:
            ended = failure.ended
            where = f"{target.number} at {target.host}:{target.port}"
            raise CommandError(
                f"call to {where} failed: {describe_end(ended)}", exit_code_for(ended)
            ) from None
        setup_ms = (time.monotonic() - started) * 1000
        answered_at = time.monotonic()
        rate = codec_info(call.format).sample_rate
        source, sink = open_audio(args, rate)
        audio = CallAudio(call, source, sink).start()
        tasks = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(call.wait_ended())]
        if args.dtmf:
            digits = asyncio.ensure_future(send_digits(call, args.dtmf))
        if args.verbose:
            status = asyncio.ensure_future(print_status(call, audio, answered_at))
        await asyncio.wait(tasks, timeout=args.duration, return_when=asyncio.FIRST_COMPLETED)
        if args.dtmf:
            digits.cancel()
        if args.verbose:
            status.cancel()
        await audio.stop()
        ended = call.ended.result() if call.ended.done() else await call.hangup()
        for task in tasks:
            task.cancel()
        if args.verbose:
            print(file=sys.stderr)
        talk_s = time.monotonic() - answered_at
        write_stats(args.stats, audio, setup_ms, ended, talk_s)
        who = "far end" if ended.by_remote else "we"
        print(
            f"call ended after {talk_s:.1f} s: {who} hung up, {describe_end(ended)}",
            file=sys.stderr,
        )
        return exitcodes.OK
    finally:
        with contextlib.suppress(NotImplementedError):
            loop.remove_signal_handler(signal.SIGINT)
            loop.remove_signal_handler(signal.SIGTERM)


async def wait_answer(call: CallHandle, stop: asyncio.Event, timeout: float) -> None:
    answered = asyncio.ensure_future(call.wait_answered())
    interrupted = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait(
        {answered, interrupted}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
    )
    interrupted.cancel()
    if answered in done:
        answered.result()
        return
    answered.cancel()
    await call.hangup("no answer", 19)
    why = "interrupted" if interrupted in done else f"no answer within {timeout:g} s"
    raise CommandError(f"call cancelled: {why}", exitcodes.NO_ANSWER)


async def print_status(call: CallHandle, audio: CallAudio, answered_at: float) -> None:
    tty = sys.stderr.isatty()
    while True:
        await asyncio.sleep(1.0)
        line = status_line(call, audio, answered_at)
        print(("\r" + line) if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True)


def write_stats(
    path: Path | None, audio: CallAudio, setup_ms: float, ended: CallEnded, talk_s: float
) -> None:
    if path is None:
        return
    stats = audio.session.snapshot()
    stats.update(
        {
            "setup_ms": round(setup_ms, 1),
            "duration_s": round(talk_s, 2),
            "hangup_cause": ended.cause,
            "hangup_cause_code": ended.cause_code,
            "hung_up_by": "remote" if ended.by_remote else "local",
        }
    )
    try:
        path.write_text(json.dumps(stats, indent=2) + "\n")
    except OSError as exc:
        raise CommandError(
            f"{path}: cannot write statistics ({exc.strerror or exc})", exitcodes.FAILURE
        ) from None


# ---------------------------------------------------------------------------- register


async def register_account(
    client: IaxClient, host: str, port: int, user: str | None, secret: str | None
) -> None:
    if not user or secret is None:
        raise CommandError(
            "registering needs --user and --secret (or IAXPHONE_SECRET)", exitcodes.USAGE
        )
    try:
        registered = await client.register(Account(user, secret, (host, port)), timeout=None)
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
    print(f"registered {user} at {host}:{port} for {registered.expires} s{mail}", file=sys.stderr)


async def run_register(args: argparse.Namespace) -> int:
    if not args.server:
        raise CommandError("register needs --server HOST[:PORT]", exitcodes.USAGE)
    try:
        host, port = parse_server(args.server)
    except TargetError as exc:
        raise CommandError(str(exc), exitcodes.USAGE) from None
    formats = codecs_from(args)
    async with IaxClient(("0.0.0.0", 0), EndpointConfig(formats=formats)) as client:
        try:
            await register_account(client, host, port, args.user, secret_from(args))
        except UnreachableError as exc:
            raise CommandError(str(exc), exitcodes.UNREACHABLE) from None
        if args.watch:
            stop = asyncio.Event()
            asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop.set)
            await stop.wait()
    return exitcodes.OK


__all__ = ["CommandError", "add_call_parser"]
