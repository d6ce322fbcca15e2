"""Every commit of a store records the environment it was made in; `info` and the report show them beside this
process's and name what differs."""

from __future__ import annotations

import shutil
from importlib.metadata import version
from pathlib import Path

import polars as pl
import torch

import graphspace
from graphspace.device import CPU
from graphspace.provenance import differences, environment, environment_table
from graphspace.report.tables import sections


def test_the_environment_names_package_versions_threads_and_device() -> None:
    here = environment(CPU)
    assert here["torch"] == torch.__version__ == version("torch")
    assert here["scikit-learn"] == version("scikit-learn") and here["polars"] == pl.__version__
    assert here["torch threads"] == str(torch.get_num_threads()) and here["device"] == "cpu"
    assert {"blas (numpy)", "blas (scipy)"} <= here.keys()
    assert all(isinstance(value, str) and value for value in here.values())


def test_every_commit_of_a_run_records_the_environment_it_ran_in(tiny_store: graphspace.Store) -> None:
    recorded = tiny_store.environments()
    populations = sorted(tiny_store.committed_populations())
    for stage in ("zoo", "graphs"):
        assert recorded.filter(pl.col("stage") == stage)["population"].to_list() == populations
    assert recorded.filter(pl.col("population").is_null())["stage"].to_list() == ["learn", "probe", "sample"]
    here = environment(CPU)  # the session's tiny store was made in this process, on the CPU
    assert recorded.select(list(here)).unique().to_dicts() == [here]


def test_a_store_made_in_one_environment_shows_one_column_beside_this_process(
    tiny_store: graphspace.Store,
) -> None:
    (section,) = [s for s in sections(tiny_store) if s.key == "environment"]
    assert section.frame.columns == ["field", "zoo, graphs, learn, probe, sample", "this process"]
    assert "differs" not in section.title


def test_commits_made_in_different_environments_get_a_column_each_and_their_differences_are_named() -> None:
    here = environment(CPU)
    older = {**here, "numpy": "1.26.4", "device": "cuda (NVIDIA H100)"}
    recorded = pl.DataFrame(
        [
            {"stage": "zoo", "population": 0, **older},
            {"stage": "zoo", "population": 1, **older},
            {"stage": "zoo", "population": 2, **here},
            {"stage": "graphs", "population": 0, **here},
            {"stage": "graphs", "population": 1, **here},
            {"stage": "graphs", "population": 2, **here},
            {"stage": "learn", "population": None, **here},
        ]
    )
    table = environment_table(recorded, here)
    assert table.columns == ["field", "zoo (populations 0-1)", "zoo (population 2), graphs, learn", "this process"]
    numpy = table.row(by_predicate=pl.col("field") == "numpy", named=True)
    assert numpy["zoo (populations 0-1)"] == "1.26.4" and numpy["this process"] == here["numpy"]
    assert differences(recorded, here) == [f"numpy: {here['numpy']} (store: 1.26.4)"]  # not the device: placement


def test_a_store_written_before_environments_were_recorded_shows_none(
    tiny_store: graphspace.Store, tmp_path: Path
) -> None:
    shutil.copytree(tiny_store.path, tmp_path / "old.zarr")
    for marker in [tmp_path / "old.zarr" / "learn" / "done", *(tmp_path / "old.zarr" / "graphs" / "done").iterdir()]:
        marker.write_text("")  # as the empty markers of older stores
    for part in (tmp_path / "old.zarr" / "metadata").glob("*.parquet"):
        pl.read_parquet(part).write_parquet(part)  # without the key-value metadata
    recorded = graphspace.open_store(tmp_path / "old.zarr").environments()
    assert recorded["stage"].to_list() == ["probe", "sample"]
    assert graphspace.open_store(tmp_path / "old.zarr").learned()  # an empty marker still marks a finished stage
