"""The one call-record path: a history row per call, statistics JSON written once, stable keys."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from iaxphone.callrecord import (
    CallLog,
    CallSummary,
    StatsFile,
    media_fields,
    summary_fields,
)
from iaxphone.history import History
from iaxphone.media.jitterbuffer import JitterStats
from iaxphone.media.stats import CallStats, MediaStats
from iaxphone.phone import LineState, Phone, PhoneAccount
from iaxphone.wire.constants import Format
from iaxphone.wire.report import ReceiverReport

# The --stats keys the README documents, in the order they are written.
MEDIA_KEYS = [
    "codec",
    "packets_sent",
    "bytes_sent",
    "packets_received",
    "bytes_received",
    "lost",
    "late",
    "duplicates",
    "out_of_order",
    "loss_percent",
    "jitter_ms",
    "jb_target_ms",
    "jb_delay_ms",
    "jb_mean_delay_ms",
    "concealed_ms",
    "rtt_ms",
    "rtt_samples",
    "rtt_last_ms",
    "mos",
    "mic_peak_dbfs",
    "mic_rms_dbfs",
    "speaker_peak_dbfs",
    "speaker_rms_dbfs",
    "mic_last_frame_rms_dbfs",
    "speaker_last_frame_rms_dbfs",
    "far_end",
    "echo_cancellation",
    "noise_suppression",
    "gain_control",
    "erle_db",
    "echo_delay_ms",
    "agc_gain_db",
    "voice_cpu_us_per_frame",
]
OUTCOME_KEYS = [
    "duration_s",
    "hangup_cause",
    "hangup_cause_code",
    "hung_up_by",
    "encrypted",
    "encryption",
]
REPORT_KEYS = [
    "counted",
    "jitter_ms",
    "loss_percent",
    "lost",
    "packets",
    "delay_ms",
    "dropped",
    "out_of_order",
]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def media(**counters: int) -> MediaStats:
    stats = CallStats(codec=Format.ALAW, sent_packets=150, sent_bytes=24000, **counters)
    return stats.snapshot(JitterStats(played=145, lost=5, target_ms=40.0, delay_ms=42.0))


def test_media_fields_keep_the_documented_names_and_values() -> None:
    far = ReceiverReport(jitter_ms=3, loss_percent=1, lost=2, packets=140)
    stats = dataclasses.replace(media(), far_end=far, rtt_ms=31.5, rtt_mean_ms=30.25)
    fields = media_fields(stats)
    assert list(fields) == MEDIA_KEYS
    assert fields["codec"] == "alaw" and fields["packets_sent"] == 150
    assert fields["bytes_sent"] == 24000 and fields["lost"] == 5
    assert fields["loss_percent"] == 3.33 and fields["jb_target_ms"] == 40.0
    assert fields["jb_delay_ms"] == 42.0
    assert (fields["rtt_ms"], fields["rtt_last_ms"]) == (30.25, 31.5)  # the call's mean, the last
    assert fields["mos"] == stats.mos and fields["mic_rms_dbfs"] == -120.0
    far_end = fields["far_end"]
    assert isinstance(far_end, dict) and list(far_end) == REPORT_KEYS
    assert far_end["packets"] == 140 and far_end["lost"] == 2 and far_end["counted"] is True
    assert media_fields(media())["far_end"] == {}  # no report from the far end yet
    json.dumps(fields)  # plain JSON values only


def summary(**changes: object) -> CallSummary:
    base = CallSummary(
        1,
        "out",
        "600",
        None,
        "desk",
        True,
        "normal clearing",
        16,
        False,
        True,
        12.34,
        3.456,
        media(),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_summary_fields_of_an_outgoing_and_an_incoming_call() -> None:
    out = summary_fields(summary())
    assert list(out) == [*MEDIA_KEYS, "setup_ms", *OUTCOME_KEYS]
    assert out["setup_ms"] == 12.3 and out["duration_s"] == 3.46
    assert (out["hangup_cause"], out["hangup_cause_code"]) == ("normal clearing", 16)
    assert out["hung_up_by"] == "local" and out["encrypted"] is True
    incoming = summary_fields(summary(direction="in", number="6006", setup_ms=None, by_remote=True))
    assert list(incoming) == [*MEDIA_KEYS, "caller", *OUTCOME_KEYS]
    assert incoming["caller"] == "6006" and incoming["hung_up_by"] == "remote"


def test_one_history_row_per_call_from_start_to_end(tmp_path: Path) -> None:
    clock = Clock()
    history = History(tmp_path / "history.sqlite3")
    log = CallLog(history, clock=clock)
    seen: list[CallSummary] = []
    log.listeners.append(seen.append)
    log.start(7, "out", "600", None, "desk")
    clock.now += 0.25
    log.answered(7, "alaw")
    log.answered(7, "ulaw")  # a second answer changes nothing
    clock.now += 10.0
    final = media()
    ended = log.ended(7, "normal clearing", 16, by_remote=True, encrypted=False, media=final)
    assert log.ended(7, "again", 1, by_remote=False) is None  # closed once
    assert ended is not None and seen == [ended]
    assert ended.setup_ms == pytest.approx(250.0) and ended.duration_s == pytest.approx(10.0)
    assert ended.answered and ended.by_remote and ended.media == final
    (row,) = history.recent()
    assert (row.direction, row.number, row.account, row.codec) == ("out", "600", "desk", "alaw")
    assert (row.cause, row.cause_code, row.mos) == ("normal clearing", 16, final.mos)


def test_an_unanswered_call_has_no_statistics_and_a_failed_dial_one_row(tmp_path: Path) -> None:
    history = History(tmp_path / "history.sqlite3")
    log = CallLog(history, StatsFile(tmp_path / "s.json"), clock=Clock())
    log.start(1, "out", "6004", None, "desk")
    missed = log.ended(1, "busy", 17, by_remote=True, media=media())
    assert missed is not None and not missed.answered
    assert missed.media is None and missed.setup_ms is None and missed.duration_s == 0.0
    log.failed("out", "600", "desk", "cannot resolve 'pbx.invalid'")
    assert [(r.number, r.cause, r.answered, r.mos) for r in history.recent()] == [
        ("600", "cannot resolve 'pbx.invalid'", None, None),
        ("6004", "busy", None, None),
    ]
    log.close()
    assert not (tmp_path / "s.json").exists()  # nothing was answered: no statistics


def test_the_statistics_file_is_written_once_at_close(tmp_path: Path) -> None:
    one, many = tmp_path / "call.json", tmp_path / "listen.json"
    for path, is_list in ((one, False), (many, True)):
        log = CallLog(None, StatsFile(path, is_list), clock=Clock())
        for line_id, answered in ((1, True), (2, False), (3, True)):
            log.start(line_id, "in", f"60{line_id}", None, None)
            if answered:
                log.answered(line_id, "ulaw")
            log.ended(line_id, "normal clearing", 16, by_remote=True, media=media())
            assert not path.exists()  # not per call: once, at the end
        log.close()
        written = path.read_text()
        path.unlink()
        log.close()  # closing again writes nothing
        assert not path.exists()
        data = json.loads(written)
        if is_list:
            assert [call["caller"] for call in data] == ["601", "603"]  # answered calls only
        else:
            assert data["caller"] == "603"


def test_a_statistics_file_that_cannot_be_written_raises_os_error(tmp_path: Path) -> None:
    log = CallLog(None, StatsFile(tmp_path / "missing" / "s.json"), clock=Clock())
    log.start(1, "out", "600", None, None)
    log.answered(1, "ulaw")
    log.ended(1, "normal clearing", 16, by_remote=False, media=media())
    with pytest.raises(OSError):
        log.close()


async def test_two_phones_leave_one_row_each_and_one_statistics_file(tmp_path: Path) -> None:
    """Phone to phone on 127.0.0.1, no PBX: the call log is the phone's only record."""
    callee_log = CallLog(
        History(tmp_path / "callee.sqlite3"), StatsFile(tmp_path / "callee.json", many=True)
    )
    caller_log = CallLog(History(tmp_path / "caller.sqlite3"), StatsFile(tmp_path / "caller.json"))
    nowhere = ("127.0.0.1", 9)
    callee = Phone(
        [
            PhoneAccount(
                "in", nowhere, "200", "x", auto_answer=True, accept_calls_from=("127.0.0.1",)
            )
        ],
        formats=[Format.ULAW],
        local=("127.0.0.1", 0),
        call_log=callee_log,
        register=False,
    )
    caller = Phone(
        [PhoneAccount("out", nowhere, "100", "x", accept_calls_from=())],
        formats=[Format.ULAW],
        local=("127.0.0.1", 0),
        call_log=caller_log,
        register=False,
    )
    summaries: list[CallSummary] = []
    caller_log.listeners.append(summaries.append)
    async with callee, caller:
        port = callee.client.local_address[1]
        line = await caller.dial(f"iax:127.0.0.1:{port}/200")
        await caller.wait_line(line, LineState.TALKING, 5)
        await callee.wait_line(1, LineState.TALKING, 5)
        await caller.hangup(line)
        await caller.wait_line(line, LineState.ENDED, 5)
        await callee.wait_line(1, LineState.ENDED, 5)
    caller_log.close()
    callee_log.close()
    (ended,) = summaries
    assert ended.answered and not ended.by_remote and ended.media is not None
    out = json.loads((tmp_path / "caller.json").read_text())
    assert out["hung_up_by"] == "local" and out["codec"] == "ulaw" and "setup_ms" in out
    (incoming,) = json.loads((tmp_path / "callee.json").read_text())
    assert incoming["caller"] == "100" and incoming["hung_up_by"] == "remote"
    (row,) = History(tmp_path / "caller.sqlite3").recent()
    assert (row.direction, row.number, row.cause_code, row.codec) == ("out", "200", 16, "ulaw")
    (row,) = History(tmp_path / "callee.sqlite3").recent()
    assert (row.direction, row.number, row.cause_code) == ("in", "100", 16)


PACKAGE = Path(__file__).resolve().parent.parent / "iaxphone"
WRITES_HISTORY = re.compile(
    r"\.(start|answered|ended)\(\s*(row|line\.history_row)\b|history\.(start|answered|ended)\("
)


def sources() -> dict[str, str]:
    return {str(p.relative_to(PACKAGE)): p.read_text() for p in PACKAGE.rglob("*.py")}


def test_the_call_log_is_the_only_writer_of_history_rows_and_statistics_json() -> None:
    writers = {name for name, text in sources().items() if WRITES_HISTORY.search(text)}
    assert writers == {"callrecord.py"}
    dumpers = {name for name, text in sources().items() if "json.dump" in text}
    # Besides: iaxphone load's summary files (from CallResults, themselves from the
    # call log's summaries) and its worker processes' pipe lines.
    assert dumpers == {"callrecord.py", "load/summary.py", "load/messages.py"}


def test_no_statistics_travel_as_untyped_dicts() -> None:
    untyped = {name for name, text in sources().items() if "dict[str, object]" in text}
    assert untyped == set()


def test_a_far_end_report_that_counted_nothing_says_so_instead_of_packets_1() -> None:
    # Asterisk with its jitter buffer off: zeros, and 1 written for 0 packets.
    placeholder = ReceiverReport(packets=1, delay_ms=40)
    far_end = media_fields(dataclasses.replace(media(), far_end=placeholder))["far_end"]
    assert isinstance(far_end, dict)
    assert far_end["counted"] is False and "jitterbuffer=no" in str(far_end["why"])
    assert far_end["packets"] is None and far_end["delay_ms"] is None
    assert set(REPORT_KEYS) <= set(far_end)
