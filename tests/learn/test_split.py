"""The zoo is split by model: a model's checkpoints and pruned variants all fall on one side; a zoo too small to
split is refused, and a split that leaves an activation out of train still decodes."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from click.testing import CliRunner

import graphspace
from graphspace.cli import main
from graphspace.data import load_datasets
from graphspace.learn.baselines import best_model_baseline, best_train_rows, nearest_train_baseline
from graphspace.learn.examples import load_examples
from graphspace.learn.split import split_models
from graphspace.spec import Split
from tests.conftest import SPECS


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


def test_a_test_model_whose_activation_no_train_model_has_is_decoded_from_its_dataset_s_models(
    tiny_store: graphspace.Store,
) -> None:
    # a small zoo's split can leave an activation out of train: the templates fall back to the architecture's best
    models = tiny_store.metadata().group_by("model").agg(pl.col("activation").first())
    split = models.select(
        "model", split=pl.when(pl.col("activation") == "relu").then(pl.lit("train")).otherwise(pl.lit("test"))
    )
    examples = load_examples(tiny_store, split)
    test = examples.rows("test")
    datasets = load_datasets(tiny_store.spec.datasets)
    train = examples.rows("train")
    best = int(train[examples.results[train, 0].argmax()])
    for baseline in (best_model_baseline(examples, test), nearest_train_baseline(examples, datasets, test)):
        (rows, features), *_ = baseline
        assert sorted(rows.tolist()) == sorted(test.tolist()) and features.isfinite().all()
    assert set(best_train_rows(examples).values()) == {best}  # tanh takes the best relu model as its template


def test_a_zoo_too_small_to_split_is_refused_before_any_store(tmp_path: Path) -> None:
    spec = tmp_path / "one.yaml"
    spec.write_text((SPECS / "tiny.yaml").read_text().replace("  size: 8", "  size: 1"))
    result = CliRunner().invoke(main, ["run", str(spec), "--store", str(tmp_path / "one.zarr")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "zoo.size = 1" in result.output and "at least 2 models, and 'digits' gets 1" in " ".join(
        result.output.split()
    )
    assert not (tmp_path / "one.zarr").exists()
