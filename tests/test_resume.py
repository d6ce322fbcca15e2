"""A run killed with SIGKILL at any moment resumes to exactly the spec's models (none lost, none twice) and their
graphs."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import zarr
from polars.testing import assert_frame_equal

import graphspace
from tests.conftest import SPECS

# 12 models in 7 populations of at most 2, trained long enough that kills land between and inside them
SPEC = (
    (SPECS / "tiny.yaml")
    .read_text()
    .replace("size: 8", "size: 12")
    .replace(
        "train: {epochs: 3, checkpoints: [0, 1, 3]}",
        "train: {population: 2, epochs: 25, checkpoints: [0, 1, 25]}",
    )
)


def _run(spec: Path, store: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "graphspace.cli", "run", str(spec), "--store", str(store), "--quiet"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def _kill_once(process: subprocess.Popen, progressed: Callable[[], bool], pause: float, rng: random.Random) -> bool:
    """Wait (at most 2 minutes) until `progressed()` or the process ends, then a random pause of up to `pause`
    seconds, then SIGKILL the process if it still runs. Returns whether it was killed."""
    deadline = time.monotonic() + 120
    while process.poll() is None and not progressed() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(rng.uniform(0.0, pause))
    if process.poll() is not None:
        return False
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    return True


def _parts(store: Path) -> int:
    return len(list((store / "metadata").glob("part-*.parquet")))


def test_killed_runs_resume_to_the_same_store_as_an_uninterrupted_run(tmp_path: Path) -> None:
    spec = tmp_path / "resume.yaml"
    spec.write_text(SPEC)
    clean_path, killed_path = tmp_path / "clean.zarr", tmp_path / "killed.zarr"
    assert _run(spec, clean_path).wait() == 0
    clean = graphspace.open_store(clean_path).metadata()
    assert clean["population"].n_unique() >= 6

    rng = random.Random(0)
    kills = 0
    for attempt in range(20):
        committed = _parts(killed_path)
        process = _run(spec, killed_path)
        if attempt == 0:  # during start-up and store creation
            time.sleep(rng.uniform(0.5, 5.0))
        # otherwise once this attempt has stored a population, somewhere inside the next ones
        if not _kill_once(
            process, lambda first=attempt == 0, parts=committed: first or _parts(killed_path) > parts, 0.4, rng
        ):
            break
        kills += 1
        if killed_path.exists():
            partial = graphspace.open_store(killed_path).metadata()
            assert partial["id"].is_unique().all() and partial.select("model", "epoch", "prune_ratio").is_unique().all()
    assert kills >= 3, "the run finished before it could be interrupted three times"
    finished = _run(spec, killed_path)
    assert finished.wait() == 0, finished.stderr.read().decode()
    resumed = graphspace.open_store(killed_path).metadata()
    assert_frame_equal(resumed, clean)
    (architecture,) = clean["architecture"].unique()
    graphs = [zarr.open_group(p, mode="r")[f"graphs/{architecture}/features"][:] for p in (clean_path, killed_path)]
    assert np.array_equal(graphs[0], graphs[1]) and not np.isnan(graphs[1]).any()
    assert resumed.filter(pl.col("prune_ratio") == 0).height == 12 * 3
    assert not list(tmp_path.glob(".killed.zarr.*.partial"))


def test_a_killed_learn_stage_resumes_from_its_last_epoch_to_the_same_result(tmp_path: Path) -> None:
    spec = tmp_path / "learn.yaml"
    spec.write_text((SPECS / "tiny.yaml").read_text().replace("epochs: 2, batch_size: 8", "epochs: 30, batch_size: 8"))
    clean_path, killed_path = tmp_path / "clean.zarr", tmp_path / "killed.zarr"
    assert _run(spec, clean_path).wait() == 0
    checkpoint = killed_path / "learn" / "main.pt"
    rng = random.Random(1)
    kills = 0
    while kills < 3:
        before = checkpoint.stat().st_mtime_ns if checkpoint.exists() else 0
        process = _run(spec, killed_path)
        saved = lambda old=before: checkpoint.exists() and checkpoint.stat().st_mtime_ns != old  # noqa: E731
        if not _kill_once(process, saved, 0.3, rng):  # once this attempt saved an epoch, somewhere after it
            break
        kills += 1
    assert kills >= 3, "the learn stage finished before it could be interrupted three times"
    finished = _run(spec, killed_path)
    assert finished.wait() == 0, finished.stderr.read().decode()
    clean, resumed = graphspace.open_store(clean_path), graphspace.open_store(killed_path)
    assert_frame_equal(resumed.embeddings(), clean.embeddings())
    assert_frame_equal(resumed.reconstruction(), clean.reconstruction())
