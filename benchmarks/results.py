"""Benchmark results and the RESULTS.md writer."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

RESULTS_FILE = Path(__file__).parent / "RESULTS.md"

# The PBX under test: the bundled one, or the instance docker/pbx was told to start.
PBX = ("127.0.0.1", int(os.environ.get("IAXPHONE_PBX_IAX_PORT", "4569")))
AMI_PORT = int(os.environ.get("IAXPHONE_PBX_AMI_PORT", "5038"))


@dataclass(frozen=True)
class Result:
    """One measured figure, with the target it is judged against (if any)."""

    scenario: str
    metric: str
    value: float
    unit: str
    target: str = ""
    met: bool | None = None

    def row(self) -> str:
        verdict = {True: "meets target", False: "**BELOW TARGET**", None: ""}[self.met]
        return f"| {self.metric} | {self.value:,.2f} {self.unit} | {self.target} | {verdict} |"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    system = f"{platform.system()} {platform.release()}"
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {system}"


def commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True
        )
        return out.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write(
    results: list[Result], notes: dict[str, str] | None = None, path: Path = RESULTS_FILE
) -> None:
    lines = [
        "# iaxphone benchmark results",
        "",
        "Written by `python -m benchmarks` (or `make bench`); do not edit by hand.",
        "",
        f"- machine: {machine()}",
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- commit: {commit()}",
        "",
    ]
    scenarios: dict[str, list[Result]] = {}
    for result in results:
        scenarios.setdefault(result.scenario, []).append(result)
    for scenario, rows in scenarios.items():
        lines += [
            f"## {scenario}",
            "",
            "| metric | measured | target | verdict |",
            "|---|---|---|---|",
        ]
        lines += [r.row() for r in rows]
        if notes and scenario in notes:
            lines += ["", notes[scenario]]
        lines.append("")
    path.write_text("\n".join(lines))


def update(
    results: list[Result], notes: dict[str, str] | None = None, path: Path = RESULTS_FILE
) -> None:
    """Replace (or add) only the sections of ``results`` in RESULTS.md, each stamped.

    ``python -m benchmarks NAME ...`` runs some benchmarks; the other sections
    keep the figures of their own run, so each updated one says when and at
    which commit it was measured.
    """
    text = path.read_text() if path.exists() else ""
    head, *bodies = text.split("\n## ")
    sections = {body.split("\n", 1)[0]: "## " + body for body in bodies}
    stamp = (
        f"Measured {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')} at commit {commit()}, "
        f"load average {os.getloadavg()[0]:.1f} at the end."
    )
    scenarios: dict[str, list[Result]] = {}
    for result in results:
        scenarios.setdefault(result.scenario, []).append(result)
    for scenario, rows in scenarios.items():
        lines = [f"## {scenario}", "", stamp, "", "| metric | measured | target | verdict |",
                 "|---|---|---|---|", *(r.row() for r in rows)]  # fmt: skip
        if notes and scenario in notes:
            lines += ["", notes[scenario]]
        sections[scenario] = "\n".join(lines) + "\n"
    if not head.strip():
        head = "# iaxphone benchmark results\n"
    path.write_text(
        head.rstrip("\n") + "\n\n" + "\n".join(s.rstrip("\n") + "\n" for s in sections.values())
    )
