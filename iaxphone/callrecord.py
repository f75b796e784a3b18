"""What is kept of every call: its history row, its statistics and how it ended.

Theory of operation
-------------------
:class:`CallLog` is the one place a call leaves a trace.  The phone tells
it when a line starts (:meth:`CallLog.start`: the history row is written),
is answered (:meth:`CallLog.answered`: answer time and codec) and ends
(:meth:`CallLog.ended`: end time, cause, cause code and MOS), and a dial
that never became a call (the server's name does not resolve) is one
:meth:`CallLog.failed` row.  Each step commits the history row at once, so
a crash mid-call still leaves the call in the history (see
:mod:`iaxphone.history`); :meth:`CallLog.alive`, called by the phone
once a second while a call talks, marks the open rows alive, so a crashed
call's row keeps its talk time.

:meth:`CallLog.ended` returns the call's :class:`CallSummary`: how long
set-up and talk took, who hung up and why (the cause behind the command's
exit code) and the final :class:`~iaxphone.media.stats.MediaStats`.  When
the log has a :class:`StatsFile`, the summary of every answered call goes
to it, and :meth:`CallLog.close` writes the file once: one JSON object for
``iaxphone call --stats``, a list for ``iaxphone listen --stats``.

:func:`media_fields` and :func:`summary_fields` are the only code that
names the JSON's keys; the README documents them and they stay stable.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

from iaxphone.history import History
from iaxphone.media.stats import MediaStats, far_end_counts
from iaxphone.proto.events import EndReason
from iaxphone.wire.report import ReceiverReport

log = logging.getLogger("iaxphone.callrecord")

JsonValue: TypeAlias = "str | int | float | bool | list[JsonValue] | dict[str, JsonValue] | None"
JsonObject: TypeAlias = dict[str, JsonValue]


@dataclass(frozen=True)
class CallSummary:
    """One call once it has ended."""

    line_id: int
    direction: str  # "in" or "out"
    number: str  # the far end's: the number dialled, or the caller's
    name: str | None
    account: str | None
    answered: bool
    cause: str
    cause_code: int | None
    by_remote: bool  # the far end hung up (or refused)
    encrypted: bool = False
    setup_ms: float | None = None  # dial to answer (outgoing calls that were answered)
    duration_s: float = 0.0  # answer to end; 0 if never answered
    media: MediaStats | None = None  # the final statistics (answered calls)
    lost: bool = False  # nobody hung up: the far end stopped answering
    encryption: str = "off"  # encryption_status(): required, allowed-used, allowed-unused, off
    reason: EndReason = EndReason.CLEARED  # why it ended, for the exit code (cause: for people)


REPORT_FIELDS = (
    "jitter_ms",
    "loss_percent",
    "lost",
    "packets",
    "delay_ms",
    "dropped",
    "out_of_order",
)
FAR_END_COUNTS_NOTHING = (
    "the PBX counted nothing it received (Asterisk with jitterbuffer=no reports zeros)"
)


def _report_fields(report: ReceiverReport | None) -> JsonObject:
    """The far end's receiver report; its figures null if it counted nothing (far_end_counts)."""
    if report is None:
        return {}
    if not far_end_counts(report):
        fields: JsonObject = {"counted": False, "why": FAR_END_COUNTS_NOTHING}
        fields.update(dict.fromkeys(REPORT_FIELDS))
        return fields
    return {
        "counted": True,
        "jitter_ms": report.jitter_ms,
        "loss_percent": report.loss_percent,
        "lost": report.lost,
        "packets": report.packets,
        "delay_ms": report.delay_ms,
        "dropped": report.dropped,
        "out_of_order": report.out_of_order,
    }


def media_fields(stats: MediaStats) -> JsonObject:
    """Media statistics under the JSON's documented (and stable) key names."""
    return {
        "codec": stats.codec,
        "packets_sent": stats.traffic.packets_sent,
        "bytes_sent": stats.traffic.bytes_sent,
        "packets_received": stats.traffic.packets_received,
        "bytes_received": stats.traffic.bytes_received,
        "lost": stats.loss.lost,
        "late": stats.loss.late,
        "duplicates": stats.loss.duplicates,
        "out_of_order": stats.loss.out_of_order,
        "loss_percent": stats.loss.percent,
        "jitter_ms": stats.jitter_ms,
        "jb_target_ms": stats.jitter_buffer.target_ms,
        "jb_delay_ms": stats.jitter_buffer.delay_ms,
        "jb_mean_delay_ms": stats.jitter_buffer.mean_delay_ms,
        "concealed_ms": stats.loss.concealed_ms,
        "rtt_ms": stats.rtt_mean_ms,
        "rtt_samples": stats.rtt_samples,
        "rtt_last_ms": stats.rtt_ms,
        "mos": stats.mos,
        "mic_peak_dbfs": stats.mic.call_peak_dbfs,
        "mic_rms_dbfs": stats.mic.call_rms_dbfs,
        "speaker_peak_dbfs": stats.speaker.call_peak_dbfs,
        "speaker_rms_dbfs": stats.speaker.call_rms_dbfs,
        "mic_last_frame_rms_dbfs": stats.mic.rms_dbfs,
        "speaker_last_frame_rms_dbfs": stats.speaker.rms_dbfs,
        "far_end": _report_fields(stats.far_end),
        "echo_cancellation": stats.voice.echo_cancellation,
        "noise_suppression": stats.voice.noise_suppression,
        "gain_control": stats.voice.gain_control,
        "erle_db": stats.voice.erle_db,
        "echo_delay_ms": stats.voice.echo_delay_ms,
        "agc_gain_db": stats.voice.agc_gain_db,
        "voice_cpu_us_per_frame": stats.voice.cpu_us_per_frame,
    }


def summary_fields(summary: CallSummary) -> JsonObject:
    """A call's ``--stats`` JSON: its media statistics and how it went.

    Outgoing calls carry ``setup_ms``, incoming ones ``caller``; both carry
    the duration, the hangup cause and code, who hung up, ``encrypted`` and
    ``encryption`` (:func:`encryption_status`).
    """
    fields = media_fields(summary.media) if summary.media is not None else {}
    if summary.direction == "in":
        fields["caller"] = summary.number
    if summary.setup_ms is not None:
        fields["setup_ms"] = round(summary.setup_ms, 1)
    fields.update(
        {
            "duration_s": round(summary.duration_s, 2),
            "hangup_cause": summary.cause,
            "hangup_cause_code": summary.cause_code,
            "hung_up_by": "remote" if summary.by_remote else "local",
            "encrypted": summary.encrypted,
            "encryption": summary.encryption,
        }
    )
    return fields


class StatsFile:
    """Where ``--stats`` goes: one call's object (``many=False``) or a list of calls."""

    def __init__(self, path: Path, many: bool = False) -> None:
        self.path = path
        self.many = many
        self.calls: list[CallSummary] = []

    def add(self, summary: CallSummary) -> None:
        if summary.answered:
            self.calls.append(summary)

    def write(self) -> None:
        """Write the file (raises OSError); a single call's file only if it was answered."""
        if self.many:
            data: JsonValue = [summary_fields(summary) for summary in self.calls]
        elif self.calls:
            data = summary_fields(self.calls[-1])
        else:
            return
        self.path.write_text(json.dumps(data, indent=2) + "\n")


ENCRYPTION_STATUSES = ("required", "allowed-used", "allowed-unused", "off")


def encryption_status(policy: str, encrypted: bool) -> str:
    """How a call's encryption turned out, from our policy and whether AES-128 ran.

    "required" (asked for and on), "allowed-used" (offered and taken up),
    "allowed-unused" (offered, but the far end went on in clear: shown with
    an open padlock), "off" (never offered; incoming calls are never
    encrypted).
    """
    if policy == "required":
        return "required" if encrypted else "off"  # a refused call never talks
    if policy == "allowed":
        return "allowed-used" if encrypted else "allowed-unused"
    return "allowed-used" if encrypted else "off"


ALIVE_INTERVAL_S = 1.0  # how often talking calls' rows are marked alive (crash -> talk time)


@dataclass
class _Open:
    row: int | None
    direction: str
    number: str
    name: str | None
    account: str | None
    started: float
    answered: float | None = None


class CallLog:
    """History rows and statistics of every call of one phone (see the module doc)."""

    def __init__(
        self,
        history: History | None = None,
        stats: StatsFile | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.history = history
        self.stats = stats
        self.clock = clock
        self._open: dict[int, _Open] = {}
        self._closed = False
        self._alive_at = float("-inf")
        # Told each summary as a call ends (a command waiting for its call).
        self.listeners: list[Callable[[CallSummary], None]] = []

    def start(
        self, line_id: int, direction: str, number: str, name: str | None, account: str | None
    ) -> None:
        row = self.history.start(direction, number, name, account) if self.history else None
        self._open[line_id] = _Open(row, direction, number, name, account, self.clock())

    def answered(self, line_id: int, codec: str | None) -> None:
        call = self._open.get(line_id)
        if call is None or call.answered is not None:
            return
        call.answered = self.clock()
        if self.history is not None and call.row is not None:
            self.history.answered(call.row, codec)

    def alive(self) -> None:
        """The answered calls are still going: note it in history (at most once a second)."""
        now = self.clock()
        if self.history is None or now - self._alive_at < ALIVE_INTERVAL_S:
            return
        self._alive_at = now
        rows = [c.row for c in self._open.values() if c.answered is not None and c.row is not None]
        try:
            self.history.alive(rows)
        except sqlite3.Error as exc:  # a full or locked disk must not stop the call
            log.warning("call history: cannot note calls alive: %s", exc)

    def ended(
        self,
        line_id: int,
        cause: str,
        cause_code: int | None,
        *,
        by_remote: bool,
        encrypted: bool = False,
        media: MediaStats | None = None,
        lost: bool = False,
        encryption: str | None = None,
        reason: EndReason = EndReason.CLEARED,
    ) -> CallSummary | None:
        """Close the line's record (once); None if it has none or was closed already."""
        call = self._open.pop(line_id, None)
        if call is None:
            return None
        now = self.clock()
        answered = call.answered is not None
        summary = CallSummary(
            line_id,
            call.direction,
            call.number,
            call.name,
            call.account,
            answered,
            cause,
            cause_code,
            by_remote,
            encrypted,
            setup_ms=(
                (call.answered - call.started) * 1000.0
                if call.answered is not None and call.direction == "out"
                else None
            ),
            duration_s=now - call.answered if call.answered is not None else 0.0,
            media=media if answered else None,
            lost=lost,
            encryption=encryption or ("allowed-used" if encrypted else "off"),
            reason=reason,
        )
        if self.history is not None and call.row is not None:
            mos = summary.media.mos if summary.media is not None else None
            self.history.ended(call.row, cause, cause_code, mos)
        if self.stats is not None:
            self.stats.add(summary)
        for listener in self.listeners:
            listener(summary)
        return summary

    def row_of(self, line_id: int) -> int | None:
        """The history row of a live line (None without history, or once it ended)."""
        call = self._open.get(line_id)
        return call.row if call is not None else None

    def set_note(self, row: int, note: str) -> bool:
        """Keep the operator's note with a history row (a live call's or an ended one's)."""
        return self.history.set_note(row, note) if self.history is not None else False

    def failed(self, direction: str, number: str, account: str | None, cause: str) -> None:
        """A call that never started (say, the server's name does not resolve): one row."""
        if self.history is not None:
            row = self.history.start(direction, number, None, account)
            self.history.ended(row, cause, None)

    def close(self) -> None:
        """Write the statistics file (once; raises OSError) and close the history."""
        if self._closed:
            return
        self._closed = True
        try:
            if self.stats is not None:
                self.stats.write()
        finally:
            if self.history is not None:
                self.history.close()


__all__ = [
    "CallLog",
    "CallSummary",
    "JsonObject",
    "JsonValue",
    "StatsFile",
    "media_fields",
    "summary_fields",
]
