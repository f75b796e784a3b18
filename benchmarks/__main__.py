"""Run every benchmark and write benchmarks/RESULTS.md.

    python -m benchmarks            (the bundled PBX must be up: docker/pbx up)

Benchmarks measure; they never fail the test suite.  Figures below target
are marked in RESULTS.md.
"""

from __future__ import annotations

import sys

from benchmarks import call_setup, lamps, load, quality, wire_speed
from benchmarks.results import RESULTS_FILE, Result, write

NOTES = {
    "Signalling against the bundled PBX (loopback)": (
        "Set-up is NEW -> CALLTOKEN -> NEW with token -> AUTHREQ -> AUTHREP -> ACCEPT -> ANSWER: "
        "three round trips to Asterisk plus its dialplan start."
    ),
    lamps.SCENARIO: (
        "Issue 8 asks lamps to follow registration, ringing, answer, hold and hangup within "
        "1 s. Hold is lit from AMI's Hold event: Asterisk sends no device state for it."
    ),
    "Load: one process, N calls to Echo() through the bundled PBX": (
        "Each call encodes a tone, jitter-buffers, decodes and plays the echo; CPU is the "
        "benchmark process's own. The target (issue 7) is < 1 % late frames at 200 trunked "
        "calls on one core, and CPU within 3x of Asterisk as the client (not yet measured here)."
    ),
}


def main() -> int:
    results: list[Result] = []
    steps = (
        ("wire speed", wire_speed),
        ("call set-up", call_setup),
        ("lamps", lamps),
        ("load", load),
        ("quality", quality),
    )
    for name, module in steps:
        print(f"benchmarks: {name} ...", flush=True)
        results += module.run()
    write(results, {**NOTES, **quality.notes()})
    for result in results:
        print(result.row())
    print(f"benchmarks: wrote {RESULTS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
