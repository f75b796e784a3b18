"""``iaxphone call`` and ``iaxphone register``: the headless phone for scripts and tests."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sqlite3
import sys
import time
from pathlib import Path

from iaxphone import config
from iaxphone.aio.audio import CallAudio
from iaxphone.aio.client import (
    CallFailedError,
    CallHandle,
    IaxClient,
    RegistrationError,
    UnreachableError,
)
from iaxphone.history import History
from iaxphone.media import devices
from iaxphone.media.codecs import codec_info
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
from iaxphone.proto.call import ENCRYPTION_REFUSED, CallOptions
from iaxphone.proto.events import CallEnded
from iaxphone.proto.registration import Account
from iaxphone.target import Target, TargetError, parse_server, parse_target
from iaxphone.wire.constants import Cause

from . import exitcodes
from .account import Identity, add_account_options, identity
from .errors import CommandError
from .stopping import stop_on_signals

DTMF_ON_S = 0.1
DTMF_GAP_S = 0.1
DTMF_PAUSE_S = 0.5


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


def describe_end(ended: CallEnded) -> str:
    code = f" (cause {ended.cause_code})" if ended.cause_code is not None else ""
    return f"{ended.cause}{code}"


def exit_code_for(ended: CallEnded) -> int:
    if "wrong username or password" in ended.cause:
        return exitcodes.AUTH_REJECTED
    if ended.cause == ENCRYPTION_REFUSED:
        return exitcodes.ENCRYPTION_REFUSED
    if ended.cause.startswith("no answer from"):
        return exitcodes.UNREACHABLE
    return exitcodes.CAUSE_EXIT.get(ended.cause_code or 0, exitcodes.FAILURE)


def add_device_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--input", metavar="DEVICE", help="microphone: name or index (default: [audio] input)"
    )
    parser.add_argument(
        "--output", metavar="DEVICE", help="speaker: name or index (default: [audio] output)"
    )


def open_audio(
    args: argparse.Namespace, rate: int, audio: config.AudioConfig
) -> tuple[Source, Sink]:
    """WAV files where given; the sound card for the rest (silence and discard without one).

    The card is ``--input``/``--output`` if given, else the config's ``[audio]`` choice.
    """
    device_source: Source | None = None
    device_sink: Sink | None = None
    if not args.play or not args.record:
        configured_input, configured_output = audio.devices()
        device_source, device_sink, note = devices.open_audio(
            None if args.play else (args.input or configured_input),
            None if args.record else (args.output or configured_output),
            rate,
        )
        if note:
            print(f"iaxphone: {note}", file=sys.stderr)
    try:
        source: Source = (
            WavSource(args.play, rate) if args.play else (device_source or SilenceSource(rate))
        )
        sink: Sink = WavSink(args.record, rate) if args.record else (device_sink or NullSink(rate))
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
    history = open_history()
    async with IaxClient(("0.0.0.0", 0), me.endpoint_config()) as client:
        try:
            if args.register:
                await register_account(
                    client, target.host, target.port, me.user, me.secret, me.rsa_private_key
                )
            return await place_call(client, args, target, me, history)
        except UnreachableError as exc:
            raise CommandError(str(exc), exitcodes.UNREACHABLE) from None
        finally:
            if history is not None:
                history.close()


def open_history() -> History | None:
    try:
        return History(config.data_dir() / "history.sqlite3")
    except (OSError, sqlite3.Error) as exc:
        print(f"iaxphone: call history disabled: {exc}", file=sys.stderr)
        return None


async def place_call(
    client: IaxClient,
    args: argparse.Namespace,
    target: Target,
    me: Identity,
    history: History | None,
) -> int:
    options = CallOptions(
        target.number,
        username=me.user,
        secret=me.secret,
        context=target.context,
        caller_number=me.user,
        encryption="required" if args.encrypt else me.encryption,
        trunk=args.trunk or me.trunk,
        rsa_private_key=me.rsa_private_key,
    )
    started = time.monotonic()
    row = history.start("out", target.number, account=me.account) if history else None
    try:
        call = await client.dial((target.host, target.port), options)
    except UnreachableError as exc:
        if history is not None and row is not None:
            history.ended(row, str(exc), None)
        raise
    with stop_on_signals() as stop:
        try:
            await wait_answer(call, stop, args.answer_timeout)
        except CommandError as cancelled:
            if history is not None and row is not None:
                history.ended(row, str(cancelled), Cause.NO_ANSWER)
            raise
        except CallFailedError as failure:
            ended = failure.ended
            if history is not None and row is not None:
                history.ended(row, ended.cause, ended.cause_code)
            where = f"{target.number} at {target.host}:{target.port}"
            raise CommandError(
                f"call to {where} failed: {describe_end(ended)}", exit_code_for(ended)
            ) from None
        setup_ms = (time.monotonic() - started) * 1000
        answered_at = time.monotonic()
        codec = codec_info(call.format)
        if history is not None and row is not None:
            history.answered(row, codec.name)
        source, sink = open_audio(args, codec.sample_rate, me.audio)
        audio = CallAudio(call, source, sink, frame_ms=me.frame_ms).start()
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
        if history is not None and row is not None:
            mos = audio.session.snapshot().get("mos")
            history.ended(
                row, ended.cause, ended.cause_code, float(mos) if isinstance(mos, float) else None
            )
        write_stats(args.stats, audio, setup_ms, ended, talk_s)
        who = "far end" if ended.by_remote else "we"
        print(
            f"call ended after {talk_s:.1f} s: {who} hung up, {describe_end(ended)}",
            file=sys.stderr,
        )
        return exitcodes.OK


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
    await call.hangup("no answer", Cause.NO_ANSWER)
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
            "encrypted": audio.call.encrypted,
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
    client: IaxClient,
    host: str,
    port: int,
    user: str | None,
    secret: str | None,
    rsa_private_key: bytes | None = None,
) -> None:
    if not user or (secret is None and rsa_private_key is None):
        raise CommandError(
            "registering needs --user and --secret (or IAXPHONE_SECRET, or --key)", exitcodes.USAGE
        )
    try:
        account = Account(user, secret or "", (host, port), rsa_private_key=rsa_private_key)
        registered = await client.register(account, timeout=None)
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
    async with IaxClient(("0.0.0.0", 0), me.endpoint_config()) as client:
        try:
            await register_account(client, host, port, me.user, me.secret, me.rsa_private_key)
        except UnreachableError as exc:
            raise CommandError(str(exc), exitcodes.UNREACHABLE) from None
        if args.watch:
            with stop_on_signals() as stop:
                await stop.wait()
    return exitcodes.OK


__all__ = ["CommandError", "add_call_parser"]
