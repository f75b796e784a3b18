"""Tests that need something from the machine: skipped on a developer's machine, failed in CI."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str) -> NoReturn:
    """CI installs everything (.ci/run), so there a missing tool is a failure, not a skip."""
    if in_ci():
        pytest.fail(f"{reason} (CI must install it: see .ci/run and the Makefile)", pytrace=False)
    pytest.skip(reason)
