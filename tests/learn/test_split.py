"""The zoo is split by model: a model's checkpoints and pruned variants all fall on one side."""

from __future__ import annotations

import polars as pl

import graphspace
from graphspace.learn.split import split_models
from graphspace.spec import Split


def _zoo(models_per_dataset: dict[str, int], rows_per_model: int = 3) -> pl.DataFrame:
    rows, model = [], 0
    for dataset, count in models_per_dataset.items():
        for _ in range(count):
            rows += [{"model": model, "dataset": dataset}] * rows_per_model
            model += 1
    return pl.DataFrame(rows)


def test_every_model_falls_on_one_side_in_the_spec_shares_per_dataset() -> None:
    split = split_models(_zoo({"a": 100, "b": 40}), Split(train=0.7, val=0.1, test=0.2), seed=0, holdout=[])
    assert split["model"].to_list() == list(range(140))
    counts = split.join(_zoo({"a": 100, "b": 40}).unique("model"), on="model").group_by("dataset", "split").len()
    shares = {(d, s): n for d, s, n in counts.iter_rows()}
    assert shares == {("a", "train"): 70, ("a", "val"): 10, ("a", "test"): 20, ("b", "train"): 28,
                      ("b", "val"): 4, ("b", "test"): 8}  # fmt: skip


def test_the_split_depends_on_the_seed_only() -> None:
    zoo = _zoo({"a": 50})
    first, again = (split_models(zoo, Split(), seed=3, holdout=[]) for _ in range(2))
    other = split_models(zoo, Split(), seed=4, holdout=[])
    assert first.equals(again) and not first.equals(other)


def test_models_of_held_out_datasets_are_in_no_training_split() -> None:
    split = split_models(_zoo({"a": 10, "b": 10}), Split(), seed=0, holdout=["b"])
    assert set(split.filter(pl.col("model") >= 10)["split"]) == {"holdout"}
    assert "holdout" not in set(split.filter(pl.col("model") < 10)["split"])


def test_the_stored_split_is_a_metadata_column(tiny_store: graphspace.Store) -> None:
    metadata = tiny_store.metadata()
    assert set(metadata["split"]) <= {"train", "val", "test"}
    assert metadata.group_by("model").agg(pl.col("split").n_unique())["split"].max() == 1
