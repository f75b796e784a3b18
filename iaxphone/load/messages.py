"""What the supervisor and its worker processes say to each other: JSON lines.

The supervisor writes one line to a worker's stdin, ``{"run": {...}}`` (the
scenario, the worker's index and the number of workers), or for the Locust
agent ``{"agent": {...}}`` followed by one ``{"call": [index, destination,
account]}`` line per call to place.  The worker answers on stdout, one line
each: ``{"progress": {...}}`` once a second, ``{"result": {...}}`` as each
call ends, and ``{"done": {"cpu_s": ...}}`` last.  Anything it has to say to
a person goes to stderr, which the supervisor passes through.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .scenario import CallAction, Destination, LoadAccount, Scenario, Threshold


def scenario_fields(scenario: Scenario) -> dict[str, Any]:
    fields = asdict(scenario)
    for destination in fields["destinations"]:
        play = destination["action"]["play"]
        destination["action"]["play"] = str(play) if play is not None else None
    return fields


def scenario_from_fields(raw: dict[str, Any]) -> Scenario:
    destinations = tuple(
        Destination(
            d["number"],
            d["weight"],
            CallAction(
                d["action"]["expect"],
                d["action"]["tone_hz"],
                Path(d["action"]["play"]) if d["action"]["play"] else None,
                d["action"]["dtmf"],
            ),
        )
        for d in raw["destinations"]
    )
    max_failed = raw.get("max_failed")
    return Scenario(
        host=raw["host"],
        port=raw["port"],
        accounts=tuple(LoadAccount(a["user"], a["secret"]) for a in raw["accounts"]),
        destinations=destinations,
        calls=raw["calls"],
        rate=raw["rate"],
        hold_s=raw["hold_s"],
        duration_s=raw["duration_s"],
        answer_timeout_s=raw["answer_timeout_s"],
        formats=tuple(raw["formats"]),
        trunk=raw["trunk"],
        register=raw["register"],
        workers=raw["workers"],
        mos_threshold=raw["mos_threshold"],
        max_failed=Threshold(**max_failed) if max_failed else None,
        min_mos=raw["min_mos"],
    )


def line(kind: str, body: object) -> bytes:
    return (json.dumps({kind: body}) + "\n").encode()


def parse_line(data: bytes) -> tuple[str, Any] | None:
    """(kind, body) of one line; None for anything that is not one of ours."""
    try:
        message = json.loads(data)
    except ValueError:
        return None
    if not isinstance(message, dict) or len(message) != 1:
        return None
    ((kind, body),) = message.items()
    return str(kind), body


__all__ = ["line", "parse_line", "scenario_fields", "scenario_from_fields"]
