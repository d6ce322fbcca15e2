"""The benchmarks that read a store run on a finished one and print their tables; a store that is not there or a
name they do not take is a one-line usage error, not a traceback."""

from __future__ import annotations

import runpy
import sys

import numpy as np
import pytest
import torch

import graphspace
from tests.conftest import ROOT

BENCHMARKS = ROOT / "benchmarks"

# Each store benchmark, the names it is given on the tiny store, and a line its output must hold.
RUNS = {
    "round_trip": ([], "rows reproduce their recorded test accuracy"),
    "probe": (["init"], "| init | categorical |"),
    "probe_views": (["test_accuracy"], "test_accuracy"),
    "probe_ceiling": ([], "true accuracy, test split resampled (bootstrap)"),
    "reconstruction_budget": ([], "the test rows' own test accuracy: median"),
    "reconstruction_fit": ([], "main"),
    "learn_settings": (["hidden_32"], "hidden_32"),
}
TAKE_NAMES = ("probe", "probe_views", "learn_settings")


def run_benchmark(name: str, *arguments: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run benchmarks/`name`.py as its command line would, in this process."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    monkeypatch.setattr(sys, "argv", [f"{name}.py", *arguments])
    runpy.run_path(str(BENCHMARKS / f"{name}.py"), run_name="__main__")


@pytest.mark.parametrize("name", RUNS)
def test_a_store_benchmark_prints_its_table_for_a_finished_store(
    name: str,
    tiny_store: graphspace.Store,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    names, expected = RUNS[name]
    run_benchmark(name, str(tiny_store.path), *names, monkeypatch=monkeypatch)
    assert expected in capsys.readouterr().out


@pytest.mark.parametrize("name", RUNS)
def test_a_missing_store_is_a_one_line_usage_error(
    name: str, tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit:
        run_benchmark(name, str(tmp_path / "nowhere.zarr"), monkeypatch=monkeypatch)
    assert exit.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error[0].startswith("usage:") and error[-1].startswith(f"{name}.py: error:")
    assert "nowhere.zarr" in error[-1]


@pytest.mark.parametrize("name", TAKE_NAMES)
def test_an_unknown_name_is_a_usage_error_that_lists_the_allowed_ones(
    name: str, tiny_store: graphspace.Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit:
        run_benchmark(name, str(tiny_store.path), "no_such_name", monkeypatch=monkeypatch)
    assert exit.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(f"{name}.py: error: unknown no_such_name; allowed: ")
    assert RUNS[name][0][0] in error.split("allowed: ")[1].split(", ")


def test_the_ceiling_benchmark_reads_every_model_of_a_dataset_on_the_same_resampled_images(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    benchmark = runpy.run_path(str(BENCHMARKS / "probe_ceiling.py"))
    resampled, accuracy = benchmark["resampled"], benchmark["accuracy"]
    right_answers = torch.rand(200, generator=torch.Generator().manual_seed(0)) < 0.7
    # rows 0 and 1: one model twice; row 2: its opposite; row 3: the only model of a second dataset
    right = [right_answers, right_answers.clone(), ~right_answers, torch.arange(50) % 2 == 0]
    dataset = np.array([0, 0, 0, 1])
    whole = accuracy(right)
    draws = np.stack([resampled(right, whole, dataset, torch.Generator().manual_seed(k)) for k in range(20)])
    assert np.array_equal(draws[:, 0], draws[:, 1]) and draws[:, 0].std() > 0  # the same images for every model
    assert np.allclose(draws[:, :3].mean(1), whole[:3].mean())  # each resample's common shift taken off
    assert np.allclose(draws[:, 3], whole[3])  # per dataset: a dataset's only model keeps its whole-split reading
