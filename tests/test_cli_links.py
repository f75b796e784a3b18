"""Clicked iax: links: the forms a desktop hands over, and one line for a bad one."""

from __future__ import annotations

import subprocess
import sys

import pytest

from iaxphone.cli.links import dial_string
from iaxphone.target import TargetError, parse_target


@pytest.mark.parametrize(
    ("link", "dialled"),
    [
        ("iax:600", "600"),
        ("IAX:600", "600"),
        ("600", "600"),
        ("iax:*97", "*97"),
        ("iax:600@pbx.example.com", "iax:pbx.example.com/600"),
        ("iax:600@127.0.0.1:4689", "iax:127.0.0.1:4689/600"),
        ("iax:600%40pbx.example.com", "iax:pbx.example.com/600"),  # a browser's encoding
        ("iax://6001@pbx.example.com/600", "iax:6001@pbx.example.com/600"),
        ("iax://pbx.example.com/600/", "iax:pbx.example.com/600"),
        ("iax:pbx.example.com:4569/600?office", "iax:pbx.example.com:4569/600?office"),
        ("iax:6001@[::1]/600", "iax:6001@[::1]/600"),
        ("iax://pbx.example.com/600@office", "iax:pbx.example.com/600?office"),  # Asterisk's
    ],
)
def test_every_link_form_becomes_what_the_window_dials(link: str, dialled: str) -> None:
    assert dial_string(link) == dialled
    if dialled.startswith("iax:"):  # and the phone's own parser finds the extension in it
        assert parse_target(dialled, None).number == "600"


@pytest.mark.parametrize(
    "link",
    ["", "iax:", "iax:6 00", "http://example.com", "iax:@host", "iax:600@",
     "iax:600@host:99999", "iax://host/", "iax:bad host/600", "sip:600@host"],
)  # fmt: skip
def test_a_bad_link_is_one_line_naming_the_forms(link: str) -> None:
    with pytest.raises(TargetError) as caught:
        dial_string(link)
    message = str(caught.value)
    assert "\n" not in message
    assert "iax:EXTEN" in message


def test_a_link_with_a_password_is_refused_without_repeating_it() -> None:
    with pytest.raises(TargetError) as caught:
        dial_string("iax://6001:hunter2@pbx.example.com/600")
    assert "password" in str(caught.value) and "hunter2" not in str(caught.value)


def test_the_command_refuses_a_bad_link_with_exit_2_and_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "iaxphone", "dial", "iax:not a number"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("iaxphone: not an iax: link"), lines
