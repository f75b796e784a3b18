"""Shared fixtures: the bundled Asterisk PBX (session scope).

Integration tests take the `pbx` fixture and carry the `pbx` marker.  The
fixture runs `docker/pbx up` once per test session and `docker/pbx down` at
the end (unless the PBX was already running before the tests: then it is
left as it was).  Under CI (CI=true) a PBX that cannot start fails the run
with the reason; elsewhere the pbx tests are skipped with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.pbx import Pbx, run_pbx

# No screen on CI machines: Qt draws offscreen (set before pytest-qt creates the app).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from tests.require import in_ci


@pytest.fixture(scope="session")
def pbx() -> Iterator[Pbx]:
    started = run_pbx("up")
    if started.returncode != 0:
        reason = (started.stderr or started.stdout).strip() or f"exit {started.returncode}"
        message = f"bundled PBX could not start: {reason}"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    already_running = "already running" in started.stdout
    try:
        yield Pbx()
    finally:
        if not already_running:
            run_pbx("down")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses the PBX carries the pbx marker (select with -m pbx)."""
    for item in items:
        if "pbx" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.pbx)
