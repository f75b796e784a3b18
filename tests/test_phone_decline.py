"""Declining a call that rings here (hang-up key or reject) against the bundled PBX."""

from __future__ import annotations

from pathlib import Path

import pytest

from iaxphone.gui.history_view import is_missed
from iaxphone.history import History
from iaxphone.phone import LineState, Phone
from tests.guiloop import desk_phone, until
from tests.pbx import Pbx

pytestmark = pytest.mark.pbx


def ringing(phone: Phone) -> int | None:
    return next(
        (i for i, line in phone.lines.items() if line.info.state is LineState.INCOMING), None
    )


@pytest.mark.parametrize("how", ["hangup", "reject"])
async def test_declining_a_ringing_call_ends_it_for_both_sides(
    pbx: Pbx, tmp_path: Path, how: str
) -> None:
    history = History(tmp_path / "history.sqlite3")
    try:
        async with desk_phone(pbx, 6003, history) as bob, desk_phone(pbx, 6004) as carol:
            call = await carol.dial("6003")
            await until(bob, lambda: ringing(bob) is not None)
            line_id = ringing(bob)
            assert line_id is not None
            if how == "hangup":
                await bob.hangup(line_id)
            else:
                bob.reject(line_id)
            ended = await bob.wait_line(line_id, LineState.ENDED)
            assert ended.cause_code == 21
            await carol.wait_line(call, LineState.ENDED)
        (record,) = history.recent()
        assert record.direction == "in" and record.answered is None and record.cause_code == 21
        assert not is_missed(record)  # declined on purpose, not missed
    finally:
        history.close()
