"""``iaxphone register --watch``: one line for every registration change after the first."""

from __future__ import annotations

import pytest

from iaxphone.cli.call import describe_change
from iaxphone.phone import REGISTRATION_CHANGES, RegistrationChanged


@pytest.mark.parametrize(
    ("event", "line"),
    [
        (RegistrationChanged("desk", True, change="registered"), None),
        (
            RegistrationChanged("desk", True, change="renewed"),
            "registration of 6002 at 127.0.0.1:4569 renewed",
        ),
        (
            RegistrationChanged("desk", False, "no answer from 127.0.0.1:4569", change="lost"),
            "registration of 6002 at 127.0.0.1:4569 lost: no answer from 127.0.0.1:4569; retrying",
        ),
        (
            RegistrationChanged("desk", False, "no answer", change="failed"),
            "registration of 6002 at 127.0.0.1:4569 failed: no answer; retrying",
        ),
        (
            RegistrationChanged("desk", True, change="recovered", offline_s=21.34),
            "registered 6002 at 127.0.0.1:4569 again after 21.3 s offline",
        ),
    ],
)
def test_each_change_has_its_line(event: RegistrationChanged, line: str | None) -> None:
    assert event.change in REGISTRATION_CHANGES
    assert describe_change(event, "6002", "127.0.0.1", 4569) == line
