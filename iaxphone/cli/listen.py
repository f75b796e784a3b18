"""``iaxphone listen``: register and take incoming calls (an answering endpoint for scripts)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from pathlib import Path

from iaxphone import keys
from iaxphone.aio.audio import CallAudio
from iaxphone.aio.callers import caller_policy
from iaxphone.aio.client import CallHandle, IaxClient, UnreachableError
from iaxphone.config import AudioConfig
from iaxphone.history import History
from iaxphone.media.codecs import codec_info
from iaxphone.media.virtual import AudioFileError, load_wav
from iaxphone.target import TargetError, parse_server

from . import exitcodes
from .account import accept_from, add_accept_option, add_account_options, identity
from .call import (
    add_device_options,
    describe_end,
    open_audio,
    open_history,
    register_account,
)
from .errors import CommandError
from .stopping import stop_on_signals


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
    try:
        host, port = parse_server(me.server)
    except TargetError as exc:
        raise CommandError(str(exc), exitcodes.USAGE) from None
    auto_answer = args.auto_answer or me.auto_answer
    accepted = accept_from(args, me)
    caller_key = None
    if args.pbx_key:
        try:
            caller_key = keys.load_public(args.pbx_key)
        except keys.RsaKeyError as exc:
            raise CommandError(str(exc), exitcodes.USAGE) from None
    history = open_history()
    results: list[dict[str, object]] = []
    try:
        with stop_on_signals() as stop:
            policy = await caller_policy(accepted, host)
            config = me.endpoint_config(caller_rsa_key=caller_key, accept_calls_from=policy)
            async with IaxClient(("0.0.0.0", 0), config) as client:
                try:
                    await register_account(
                        client, host, port, me.user, me.secret, me.rsa_private_key
                    )
                except UnreachableError as exc:
                    raise CommandError(str(exc), exitcodes.UNREACHABLE) from None
                mode = "on" if auto_answer else "off"
                print(
                    f"listening as {me.user} (auto-answer {mode}; calls from {policy.describe()})",
                    file=sys.stderr,
                    flush=True,
                )
                handled: set[asyncio.Task[None]] = set()
                count = 0
                many = args.max_calls != 1
                waiter = asyncio.ensure_future(stop.wait())
                while not stop.is_set():
                    if args.max_calls is not None and count >= args.max_calls:
                        break
                    getter = asyncio.ensure_future(client.incoming.get())
                    await asyncio.wait({getter, waiter}, return_when=asyncio.FIRST_COMPLETED)
                    if not getter.done():
                        getter.cancel()
                        break
                    count += 1
                    record = recording_path(args.record, count, many)
                    call = getter.result()
                    task = asyncio.ensure_future(
                        take_call(
                            call, args, auto_answer, record, results, history, me.frame_ms, me.audio
                        )
                    )
                    handled.add(task)
                    task.add_done_callback(handled.discard)
                    if args.max_calls is not None and count >= args.max_calls:
                        # The last call: wait for it to end, or for a signal to stop.
                        while handled and not stop.is_set():
                            await asyncio.wait(
                                {*handled, waiter}, return_when=asyncio.FIRST_COMPLETED
                            )
                waiter.cancel()
                for task in list(handled):
                    task.cancel()
    finally:
        if history is not None:
            history.close()
    if args.stats is not None:
        try:
            args.stats.write_text(json.dumps(results, indent=2) + "\n")
        except OSError as exc:
            why = exc.strerror or exc
            raise CommandError(f"{args.stats}: cannot write ({why})", exitcodes.FAILURE) from None
    return exitcodes.OK


async def take_call(
    call: CallHandle,
    args: argparse.Namespace,
    auto_answer: bool,
    record: Path | None,
    results: list[dict[str, object]],
    rows: History | None,
    frame_ms: int,
    devices: AudioConfig,
) -> None:
    offer = call.incoming
    assert offer is not None
    who = f"{offer.caller_name or ''} <{offer.caller_number or 'unknown'}>".strip()
    print(f"incoming call from {who} to {offer.called_number}", file=sys.stderr, flush=True)
    row = rows.start("in", offer.caller_number or "unknown", offer.caller_name) if rows else None
    if not auto_answer:
        call.accept()  # ring until the caller gives up
        ended = await call.wait_ended()
        if rows is not None and row is not None:
            rows.ended(row, ended.cause, ended.cause_code)
        print(f"missed call from {who}: {describe_end(ended)}", file=sys.stderr, flush=True)
        return
    call.answer()
    answered = time.monotonic()
    codec = codec_info(call.format)
    if rows is not None and row is not None:
        rows.answered(row, codec.name)
    files_and_devices = argparse.Namespace(
        play=args.play, record=record, input=args.input, output=args.output
    )
    source, sink = open_audio(files_and_devices, codec.sample_rate, devices)
    audio = CallAudio(call, source, sink, frame_ms=frame_ms).start()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(call.ended), args.duration)
    await audio.stop()
    ended = call.ended.result() if call.ended.done() else await call.hangup()
    stats = audio.session.snapshot()
    stats.update(
        {
            "caller": offer.caller_number,
            "duration_s": round(time.monotonic() - answered, 2),
            "hangup_cause": ended.cause,
            "hangup_cause_code": ended.cause_code,
            "hung_up_by": "remote" if ended.by_remote else "local",
        }
    )
    results.append(stats)
    if rows is not None and row is not None:
        mos = stats.get("mos")
        rows.ended(row, ended.cause, ended.cause_code, mos if isinstance(mos, float) else None)
    took = stats["duration_s"]
    print(
        f"call from {who} ended after {took} s: {describe_end(ended)}", file=sys.stderr, flush=True
    )
