"""A dataset held out of learning: its models get embeddings, their nearest known dataset is reported, every later
stage runs beside them, and sampling it says why it cannot."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

import graphspace
from graphspace.cli import main
from tests.conftest import SPECS


@pytest.fixture(scope="module")
def held_out_store(tmp_path_factory: pytest.TempPathFactory) -> graphspace.Store:
    """The tiny spec over three digits tasks (all of digits, and two 2-class tasks), one held out of learning."""
    values = graphspace.load_spec(SPECS / "tiny.yaml").model_dump()
    values["name"] = "held_out"
    values["datasets"] += [
        {"name": "digits_01", "source": "derived", "base": "digits", "classes": [0, 1]},
        {"name": "digits_23", "source": "derived", "base": "digits", "classes": [2, 3]},
    ]
    values["zoo"].update(size=12, sampling="grid")
    values["zoo"]["vary"] = {"dataset": ["digits", "digits_01", "digits_23"], "init": ["glorot"], "seed": [0, 1, 2, 3]}
    values["learn"].update(holdout_datasets=["digits_23"], ablations=[])
    values["sample"]["targets"] = [{"dataset": "digits_01", "accuracy": 0.9}]
    spec = graphspace.Spec.model_validate(values)
    return graphspace.run(spec, tmp_path_factory.mktemp("stores") / "held_out.zarr")


def test_held_out_models_are_in_no_split_and_have_embeddings(held_out_store: graphspace.Store) -> None:
    metadata = held_out_store.metadata().join(held_out_store.embeddings(), on="id")
    held_out = metadata.filter(pl.col("dataset") == "digits_23")
    assert set(held_out["split"]) == {"holdout"} and "holdout" not in set(
        metadata.filter(pl.col("dataset") != "digits_23")["split"]
    )
    z = np.stack(held_out["embedding"].to_numpy())
    assert np.isfinite(z).all() and (np.linalg.norm(z, axis=1) > 1e-3).all()  # no silent zero vector


def test_held_out_models_get_their_nearest_known_dataset(held_out_store: graphspace.Store) -> None:
    nearest = held_out_store.nearest_datasets()
    held_out = nearest.filter(pl.col("split") == "holdout")
    assert set(held_out["dataset"]) == {"digits_23"}
    assert held_out.height == held_out_store.metadata().filter(pl.col("dataset") == "digits_23").height
    assert set(held_out["nearest_known"]) <= {"digits", "digits_01"}  # the known datasets only
    assert set(held_out["nearest"]) <= {"digits", "digits_01", "digits_23"}  # the held-out one has an embedding too
    assert held_out["own_similarity"].is_finite().all()


def test_the_probe_fits_and_scores_without_the_held_out_models(held_out_store: graphspace.Store) -> None:
    scored = held_out_store.probe_predictions()["id"].unique()
    held_out = held_out_store.metadata().filter(pl.col("split") == "holdout")["id"]
    assert scored.len() > 0 and not scored.is_in(held_out.implode()).any()


def test_querying_the_held_out_dataset_says_why_it_cannot(held_out_store: graphspace.Store) -> None:
    args = ["query", "--store", str(held_out_store.path), "--dataset", "digits_23", "--accuracy", "0.9", "--quiet"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "Traceback" not in result.output
    printed = " ".join(result.output.split())
    assert "'digits_23'" in printed and "learn.holdout_datasets" in printed and "digits, digits_01" in printed
