"""A call left in clear while encryption was only allowed is shown as such.

The statistics JSON says how encryption turned out ("encryption"), the
handset model shows an open padlock, and the window draws a padlock icon.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from iaxphone.callrecord import CallSummary, encryption_status, summary_fields
from iaxphone.gui.padlock import padlock_pixmap
from iaxphone.linestate import LineState
from iaxphone.viewmodels.handset import HandsetModel
from tests.memnet import MemoryNetwork, MiniPbx, memory_phone, run_virtual


@pytest.mark.parametrize(
    ("policy", "encrypted", "status"),
    [
        ("required", True, "required"),
        ("allowed", True, "allowed-used"),
        ("allowed", False, "allowed-unused"),
        ("off", False, "off"),
    ],
)
def test_encryption_status(policy: str, encrypted: bool, status: str) -> None:
    assert encryption_status(policy, encrypted) == status


def test_the_statistics_json_says_how_encryption_turned_out() -> None:
    summary = CallSummary(1, "out", "600", None, "desk", True, "normal", 16, False,
                          encrypted=False, encryption="allowed-unused")  # fmt: skip
    fields = summary_fields(summary)
    assert fields["encrypted"] is False and fields["encryption"] == "allowed-unused"


@pytest.mark.parametrize(
    ("policy", "padlock", "note"),
    [("allowed", "open", "not encrypted"), ("off", "", "")],
)
def test_a_call_in_clear_shows_an_open_padlock_when_encryption_was_allowed(
    tmp_path: Path, policy: str, padlock: str, note: str
) -> None:
    """The in-memory PBX authenticates with MD5 and never offers AES-128."""

    async def main() -> tuple[str, str, str]:
        network = MemoryNetwork(seed=2)
        async with MiniPbx(network), memory_phone(network, encryption=policy) as phone:
            model = HandsetModel(phone, recordings=tmp_path)
            line = await phone.dial("600")
            info = await phone.wait_line(line, LineState.TALKING)
            await asyncio.sleep(0.1)
            view = model.view()
            await phone.hangup(line)
            model.close()
            return view.padlock, view.codec, info.encryption

    shown, codec, encryption = run_virtual(main)
    assert shown == padlock
    assert encryption == ("allowed-unused" if policy == "allowed" else "off")
    assert (note in codec) if note else codec == "ulaw"


def test_the_window_draws_a_padlock_icon(qtbot: QtBot) -> None:
    del qtbot  # only for the QApplication
    for state in ("open", "closed"):
        pixmap = padlock_pixmap(state)
        assert not pixmap.isNull() and pixmap.width() > 0
        image = pixmap.toImage()
        assert any(image.pixelColor(x, y).alpha() for x in range(image.width())
                   for y in range(image.height()))  # fmt: skip
    assert padlock_pixmap("").isNull()
    assert padlock_pixmap("open").toImage() != padlock_pixmap("closed").toImage()
