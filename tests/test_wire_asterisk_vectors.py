"""Frames captured from the bundled Asterisk round-trip byte for byte.

tests/golden/asterisk_frames.txt is written by tests/golden/record_asterisk_frames.py
from a real session (registration, calls in u-law and GSM, a rejected call).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from iaxphone.wire.constants import ControlType, Format, FrameType, IaxCommand
from iaxphone.wire.errors import FrameParseError
from iaxphone.wire.frames import FullFrame, MiniFrame, describe, parse_frame

VECTORS = {
    name: bytes.fromhex(hexdata)
    for name, hexdata in (
        line.split()
        for line in (Path(__file__).parent / "golden" / "asterisk_frames.txt")
        .read_text()
        .splitlines()
    )
}


def test_the_capture_covers_the_call_and_registration_frames() -> None:
    for name in (
        "full-iax-calltoken",
        "full-iax-regauth",
        "full-iax-regack",
        "full-iax-authreq",
        "full-iax-accept",
        "full-iax-hangup",
        "full-iax-reject",
        "full-iax-poke",
        "full-control-answer",
        "full-voice-ulaw",
        "full-voice-gsm",
        "miniframe",
    ):
        assert name in VECTORS


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_round_trip_byte_for_byte(name: str) -> None:
    data = VECTORS[name]
    frame = parse_frame(data)
    assert bytes(frame) == data
    assert describe(frame)


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_every_truncation_raises_the_parse_error_or_is_a_shorter_valid_frame(name: str) -> None:
    data = VECTORS[name]
    for cut in range(len(data)):
        try:
            frame = parse_frame(data[:cut])
        except FrameParseError:
            continue
        assert bytes(frame) == data[:cut]


def test_fields_of_asterisk_frames() -> None:
    regack = parse_frame(VECTORS["full-iax-regack"])
    assert isinstance(regack, FullFrame) and regack.ies is not None
    assert regack.subclass == IaxCommand.REGACK
    assert regack.ies.username == "6001"
    assert regack.ies.refresh == 60
    assert regack.ies.apparent_addr is not None and regack.ies.apparent_addr.host == "127.0.0.1"
    token = parse_frame(VECTORS["full-iax-calltoken"])
    assert isinstance(token, FullFrame) and token.ies is not None
    assert token.source_call == 1
    stamp, _, digest = token.ies.call_token.decode().partition("?")
    assert stamp.isdigit() and len(digest) == 40
    accept = parse_frame(VECTORS["full-iax-accept"])
    assert isinstance(accept, FullFrame) and accept.ies is not None
    assert accept.ies.format2 == Format.ULAW
    reject = parse_frame(VECTORS["full-iax-reject"])
    assert isinstance(reject, FullFrame) and reject.ies is not None
    assert (reject.ies.cause, reject.ies.cause_code) == ("No such context/extension", 3)
    hangup = parse_frame(VECTORS["full-iax-hangup"])
    assert isinstance(hangup, FullFrame) and hangup.ies is not None
    assert hangup.ies.cause is None and hangup.ies.cause_code == 16  # Asterisk sends the code only
    answer = parse_frame(VECTORS["full-control-answer"])
    assert isinstance(answer, FullFrame)
    assert (answer.frame_type, answer.subclass) == (FrameType.CONTROL, ControlType.ANSWER)
    gsm = parse_frame(VECTORS["full-voice-gsm"])
    assert isinstance(gsm, FullFrame) and gsm.subclass == Format.GSM and len(gsm.payload) == 33
    mini = parse_frame(VECTORS["miniframe"])
    assert isinstance(mini, MiniFrame) and len(mini.payload) == 160
