"""A dataset held out of learning: its models get embeddings, their nearest known dataset is reported, every later
stage runs beside them, and sampling it says why it cannot. The zoo mixes two architectures (digits' 64 inputs,
mnist1d's 40), so batches mix them too."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest
import torch
from click.testing import CliRunner

import graphspace
from graphspace.cli import main
from graphspace.learn.examples import load_examples
from graphspace.learn.retrieval import dataset_retrieval
from graphspace.learn.space import LearnedSpace
from tests.conftest import SPECS
from tests.symmetries import symmetric_copy


@pytest.fixture(scope="module")
def held_out_store(tmp_path_factory: pytest.TempPathFactory) -> graphspace.Store:
    """The tiny spec over digits, mnist1d (another architecture) and a 2-class digits task held out of learning."""
    values = graphspace.load_spec(SPECS / "tiny.yaml").model_dump()
    values["name"] = "held_out"
    values["datasets"] += [
        {"name": "mnist1d", "source": "embedded"},
        {"name": "digits_23", "source": "derived", "base": "digits", "classes": [2, 3]},
    ]
    values["zoo"].update(size=12, sampling="grid")
    values["zoo"]["vary"] = {"dataset": ["digits", "mnist1d", "digits_23"], "init": ["glorot"], "seed": [0, 1, 2, 3]}
    values["learn"].update(holdout_datasets=["digits_23"], ablations=[])
    values["sample"]["targets"] = [{"dataset": "mnist1d", "accuracy": 0.2}]
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
    assert set(held_out["nearest_known"]) <= {"digits", "mnist1d"}  # the known datasets only
    assert set(held_out["nearest"]) <= {"digits", "mnist1d", "digits_23"}  # the held-out one has an embedding too
    assert held_out["own_similarity"].is_finite().all()


def test_retrieval_counts_own_datasets_among_all_and_among_the_known_per_dataset_and_over_all() -> None:
    nearest = pl.DataFrame(
        {
            "split": ["test"] * 4 + ["holdout"] * 3,
            "dataset": ["a", "a", "a", "b", "h", "h", "h"],
            "nearest": ["a", "h", "b", "b", "a", "h", "b"],  # one `a` row is nearest to the held-out `h`
            "nearest_known": ["a", "a", "b", "b", "a", "a", "b"],
        }
    )
    table = dataset_retrieval(nearest)
    assert table.drop("nearest_known_mostly").rows() == [
        ("test", "a", 3, 1 / 3, 2 / 3, 2),
        ("test", "b", 1, 1.0, 1.0, 1),
        ("test", "(all)", 4, 0.5, 0.75, 2),
        ("holdout", "h", 3, 1 / 3, None, 2),  # no own among the known datasets
        ("holdout", "(all)", 3, 1 / 3, None, 2),
    ]
    assert table.filter(pl.col("dataset") == "h")["nearest_known_mostly"].to_list() == ["a"]


def test_the_probe_fits_and_scores_without_the_held_out_models(held_out_store: graphspace.Store) -> None:
    scored = held_out_store.probe_predictions()["id"].unique()
    held_out = held_out_store.metadata().filter(pl.col("split") == "holdout")["id"]
    assert scored.len() > 0 and not scored.is_in(held_out.implode()).any()


def test_querying_the_held_out_dataset_says_why_it_cannot(held_out_store: graphspace.Store) -> None:
    args = ["query", "--store", str(held_out_store.path), "--dataset", "digits_23", "--accuracy", "0.9", "--quiet"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "Traceback" not in result.output
    printed = " ".join(result.output.split())
    assert "'digits_23'" in printed and "learn.holdout_datasets" in printed and "digits, mnist1d" in printed


def test_the_zoo_mixes_architectures_and_one_only_held_out_models_have_is_normalized_by_its_own_rows(
    held_out_store: graphspace.Store,
) -> None:
    assert held_out_store.metadata()["architecture"].n_unique() == 2
    models = held_out_store.metadata().group_by("model").agg(pl.col("dataset").first())
    split = models.select(
        "model", split=pl.when(pl.col("dataset") == "mnist1d").then(pl.lit("holdout")).otherwise(pl.lit("train"))
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no std() of zero rows
        examples = load_examples(held_out_store, split)
    for architecture in examples.architectures:
        assert torch.isfinite(architecture.scale).all() and (architecture.scale != 1).any()


def test_torch_models_of_either_architecture_encode_as_their_stored_checkpoints(
    held_out_store: graphspace.Store,
) -> None:
    metadata = held_out_store.metadata()
    ids = [int(metadata.filter(pl.col("dataset") == name)["id"][0]) for name in ("digits", "mnist1d", "digits_23")]
    models = [held_out_store.model(i) for i in ids]
    assert torch.allclose(graphspace.encode(held_out_store, models), graphspace.encode(held_out_store, ids), atol=1e-5)


def test_a_zoo_of_several_datasets_has_class_slots_and_its_embeddings_keep_the_symmetries(
    held_out_store: graphspace.Store,
) -> None:
    config = LearnedSpace.open(held_out_store).model.config
    assert config.latent == 8 and config.classes == 4  # 10 outputs, at most half the embedding
    metadata = held_out_store.metadata()
    for name in ("digits", "mnist1d", "digits_23"):
        i = int(metadata.filter(pl.col("dataset") == name)["id"][-1])
        model = held_out_store.model(i)
        shape = held_out_store.blueprint(metadata["architecture"][i]).input_shape
        copies = [symmetric_copy(model, shape, seed) for seed in range(2)]
        embeddings = graphspace.encode(held_out_store, [model, *copies])
        assert (embeddings - graphspace.encode(held_out_store, [i])).abs().max() < 1e-5
