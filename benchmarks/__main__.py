"""Run every benchmark and write benchmarks/RESULTS.md.

    python -m benchmarks            (the bundled PBX must be up: docker/pbx up)

Benchmarks measure; they never fail the test suite.  Figures below target
are marked in RESULTS.md.
"""

from __future__ import annotations

import sys

from benchmarks import call_setup, wire_speed
from benchmarks.results import RESULTS_FILE, Result, write

NOTES = {
    "Signalling against the bundled PBX (loopback)": (
        "Set-up is NEW -> CALLTOKEN -> NEW with token -> AUTHREQ -> AUTHREP -> ACCEPT -> ANSWER: "
        "three round trips to Asterisk plus its dialplan start."
    ),
}


def main() -> int:
    results: list[Result] = []
    for name, module in (("wire speed", wire_speed), ("call set-up", call_setup)):
        print(f"benchmarks: {name} ...", flush=True)
        results += module.run()
    write(results, NOTES)
    for result in results:
        print(result.row())
    print(f"benchmarks: wrote {RESULTS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
