"""One load call's outcome, flat and frozen: what the summary, the CSV and the workers carry.

:func:`call_result` reads a call's :class:`~iaxphone.callrecord.CallSummary`
(the phone's own record of how it ended, with its final
:class:`~iaxphone.media.stats.MediaStats`) and keeps the figures a load
run reports: set-up time, how it ended, loss, jitter and MOS.  Nothing is
measured twice: every figure comes from the phone's statistics.

``failure`` is None for a call that did what the scenario asked, else a
short cause a person reads in the progress line and the summary: the
Q.931 cause in words ("user busy", "unallocated"), "no answer" (our own
answer timeout), "unreachable" (the server stopped answering), "lost"
(the call went silent mid-call), "expect failed" (it talked, but the echo
or tone never came), "worker died" (the process holding it died).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, cast

from iaxphone.callrecord import CallSummary, JsonObject
from iaxphone.proto.events import EndReason
from iaxphone.wire.constants import Cause

NO_ANSWER = "no answer"
UNREACHABLE = "unreachable"
LOST = "lost"
EXPECT_FAILED = "expect failed"
WORKER_DIED = "worker died"
DIAL_FAILED = "dial failed"
AUTH_REJECTED = "auth rejected"
ENCRYPTION_REFUSED = "encryption refused"


@dataclass(frozen=True)
class CallResult:
    index: int  # the call's number in the run, from 0
    worker: int  # the process that placed it (0 without workers)
    account: str
    number: str
    answered: bool
    failure: str | None  # None: the call did what was asked
    cause: str = ""
    cause_code: int | None = None
    setup_ms: float | None = None
    duration_s: float = 0.0
    codec: str | None = None
    packets_sent: int = 0
    packets_received: int = 0
    missing_percent: float | None = None  # frames that never came, by the talk time
    loss_percent: float | None = None  # the jitter buffer's loss
    jitter_ms: float | None = None
    mos: float | None = None
    expect_ok: bool | None = None  # None: nothing expected

    def to_fields(self) -> JsonObject:
        return cast(JsonObject, asdict(self))

    @classmethod
    def from_fields(cls, raw: Mapping[str, Any]) -> CallResult:
        """Back from :meth:`to_fields` (a worker's JSON line); unknown keys are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})


FIELD_NAMES = tuple(f.name for f in fields(CallResult))


def cause_words(code: int | None) -> str | None:
    if code is None or code == 0:
        return None
    try:
        return Cause(code).name.lower().replace("_", " ")
    except ValueError:
        return f"cause {code}"


def failure_of(summary: CallSummary, expect_ok: bool | None) -> str | None:
    """Why a call counts as failed (None: it did not)."""
    if summary.answered:
        if summary.lost:
            return LOST
        if expect_ok is False:
            return EXPECT_FAILED
        return None
    if summary.reason is EndReason.WRONG_SECRET:
        return AUTH_REJECTED
    if summary.reason is EndReason.ENCRYPTION_REFUSED:
        return ENCRYPTION_REFUSED
    if summary.reason in (EndReason.NO_ANSWER, EndReason.FORGOTTEN):
        return UNREACHABLE
    if summary.cause_code == Cause.NO_ANSWER and not summary.by_remote:
        return NO_ANSWER
    return cause_words(summary.cause_code) or summary.cause or "failed"


def missing_percent(packets_received: int, duration_s: float, frame_ms: int) -> float | None:
    """Frames that never came, against what the talk time should have brought."""
    expected = duration_s * 1000.0 / frame_ms
    if expected < 1:
        return None
    return round(max(0.0, 100.0 * (1.0 - packets_received / expected)), 2)


def call_result(
    summary: CallSummary,
    index: int,
    worker: int,
    account: str,
    expect_ok: bool | None,
    frame_ms: int = 20,
) -> CallResult:
    media = summary.media
    return CallResult(
        index=index,
        worker=worker,
        account=account,
        number=summary.number,
        answered=summary.answered,
        failure=failure_of(summary, expect_ok),
        cause=summary.cause,
        cause_code=summary.cause_code,
        setup_ms=round(summary.setup_ms, 1) if summary.setup_ms is not None else None,
        duration_s=round(summary.duration_s, 2),
        codec=media.codec if media else None,
        packets_sent=media.traffic.packets_sent if media else 0,
        packets_received=media.traffic.packets_received if media else 0,
        missing_percent=(
            missing_percent(media.traffic.packets_received, summary.duration_s, frame_ms)
            if media
            else None
        ),
        loss_percent=media.loss.percent if media else None,
        jitter_ms=media.jitter_ms if media else None,
        mos=media.mos if media else None,
        expect_ok=expect_ok,
    )


def failed_call(index: int, worker: int, account: str, number: str, why: str) -> CallResult:
    """A call that never got as far as a summary (dial refused, worker died)."""
    return CallResult(index, worker, account, number, answered=False, failure=why, cause=why)


__all__ = [
    "FIELD_NAMES",
    "CallResult",
    "call_result",
    "cause_words",
    "failed_call",
    "failure_of",
    "missing_percent",
]
