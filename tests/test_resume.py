"""A run killed with SIGKILL at any moment resumes to exactly the spec's models: none lost, none twice."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

import graphspace
from tests.conftest import SPECS

SPEC = (SPECS / "tiny.yaml").read_text().replace("size: 8", "size: 12").replace(
    "train: {epochs: 3,", "train: {population: 2, epochs: 3,"
)


def _run(spec: Path, store: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "graphspace.cli", "run", str(spec), "--store", str(store), "--quiet"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def test_killed_runs_resume_to_the_same_store_as_an_uninterrupted_run(tmp_path: Path) -> None:
    spec = tmp_path / "resume.yaml"
    spec.write_text(SPEC)
    clean_path, killed_path = tmp_path / "clean.zarr", tmp_path / "killed.zarr"
    assert _run(spec, clean_path).wait() == 0
    clean = graphspace.open_store(clean_path).metadata()
    assert clean["population"].n_unique() >= 6

    rng = random.Random(0)
    kills = 0
    for _ in range(12):
        process = _run(spec, killed_path)
        time.sleep(rng.uniform(1.0, 4.0))
        if process.poll() is not None:
            break
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        kills += 1
        if killed_path.exists():
            partial = graphspace.open_store(killed_path).metadata()
            assert partial["id"].is_unique().all() and partial.select("model", "epoch", "prune_ratio").is_unique().all()
    assert kills >= 2, "the run finished before it could be interrupted twice"
    finished = _run(spec, killed_path)
    assert finished.wait() == 0, finished.stderr.read().decode()
    resumed = graphspace.open_store(killed_path).metadata()
    assert_frame_equal(resumed, clean)
    assert resumed.filter(pl.col("prune_ratio") == 0).height == 12 * 3
