"""The call command's exit code follows why the call ended, never the cause's wording."""

from __future__ import annotations

import pytest

from iaxphone.callrecord import CallSummary
from iaxphone.cli import exitcodes
from iaxphone.cli.call import exit_code_for
from iaxphone.proto.events import EndReason


def summary(cause: str, code: int | None, reason: EndReason) -> CallSummary:
    return CallSummary(1, "out", "600", None, None, False, cause, code, True, reason=reason)


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        (EndReason.WRONG_SECRET, exitcodes.AUTH_REJECTED),
        (EndReason.ENCRYPTION_REFUSED, exitcodes.ENCRYPTION_REFUSED),
        (EndReason.NO_ANSWER, exitcodes.UNREACHABLE),
    ],
)
def test_the_reason_picks_the_exit_code(reason: EndReason, expected: int) -> None:
    assert exit_code_for(summary("something a PBX said", 21, reason)) == expected


def test_a_pbx_cause_that_reads_like_ours_does_not_change_the_exit_code() -> None:
    # A PBX's own cause text is free-form: "no answer from ..." with cause 17
    # is the far end being busy, not our server being unreachable.
    tricky = summary("no answer from 6002 (wrong username or password)", 17, EndReason.CLEARED)
    assert exit_code_for(tricky) == exitcodes.BUSY
