"""Progress for logs: a line when a stage starts, at each tenth of it and when it finishes, never more."""

from __future__ import annotations

from graphspace.progress import line_progress


def test_a_log_gets_a_line_per_tenth_of_a_stage_with_its_seconds_and_detail() -> None:
    lines: list[str] = []
    now = [100.0]
    progress = line_progress(lines.append, clock=lambda: now[0])
    for done in range(0, 201):
        now[0] = 100.0 + done / 2
        progress("learn main", done, 200, f"loss {done}")
    assert len(lines) == 11
    assert lines[0] == "learn main: 0/200 steps, 0 s, loss 0"
    assert lines[1] == "learn main: 20/200 steps, 10 s, loss 20"
    assert lines[-1] == "learn main: 200/200 steps, 100 s, loss 200"


def test_stages_are_reported_apart_and_a_finished_stage_once() -> None:
    lines: list[str] = []
    progress = line_progress(lines.append, clock=lambda: 0.0)
    progress("zoo", 0, 8, "")
    progress("zoo", 8, 8, "")
    progress("zoo", 8, 8, "")  # a resumed stage reports its total again
    progress("graphs", 32, 32, "")
    progress("report", 0, 0, "")  # nothing to do is done
    assert lines == [
        "zoo: 0/8 models, 0 s",
        "zoo: 8/8 models, 0 s",
        "graphs: 32/32 checkpoints, 0 s",
        "report: 0/0 figures, 0 s",
    ]
