"""How the pipeline reports progress: `progress(stage, done, total, detail)`, and a plain-text reporter for logs.

zoo counts models, graphs counts checkpoints, learn counts optimizer steps (detail: the latest loss terms).
"""

from __future__ import annotations

import time
from collections.abc import Callable

Progress = Callable[[str, int, int, str], None]

UNITS = {"zoo": "models", "graphs": "checkpoints", "probe": "fits", "sample": "methods", "report": "figures"}


def unit(stage: str) -> str:
    """What a stage's `done` counts (the learn stages count optimizer steps)."""
    return UNITS.get(stage, "steps")


def line_progress(
    write: Callable[[str], None], clock: Callable[[], float] = time.monotonic, parts: int = 10
) -> Progress:
    """A `Progress` for a log file rather than a terminal: `write` gets one line when a stage starts, one each time
    it passes another 1/`parts` of its total, and one when it finishes, each with the seconds since it started."""
    started: dict[str, float] = {}
    passed: dict[str, int] = {}

    def progress(stage: str, done: int, total: int, detail: str) -> None:
        now = clock()
        since = now - started.setdefault(stage, now)
        part = parts if done >= total else done * parts // total
        if passed.get(stage, -1) >= part:
            return
        passed[stage] = part
        write(f"{stage}: {done}/{total} {unit(stage)}, {since:.0f} s" + (f", {detail}" if detail else ""))

    return progress
