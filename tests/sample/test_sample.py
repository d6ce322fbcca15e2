"""Conditional sampling: models for a target accuracy, evaluated for real, against the baselines; `query`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch
from click.testing import CliRunner

import graphspace
from graphspace.cli import main
from graphspace.data import load_datasets
from graphspace.learn.space import learned_space
from graphspace.sample import DEFAULT, METHODS, alignment, summarize_samples
from graphspace.sample.evaluation import model_of, predictions_on_test_split
from graphspace.sample.latent import ZooLatents, linear_gaussian, neighbor_kde, unconditional_kde
from graphspace.sample.methods import Pool, screened
from graphspace.sample.stage import SCREEN_INPUTS, _pool
from tests.conftest import SPECS


def test_the_run_samples_every_target_with_every_method(tiny_store: graphspace.Store) -> None:
    samples = tiny_store.samples()
    spec = tiny_store.spec
    assert samples["target_accuracy"].unique().sort().to_list() == [t.accuracy for t in spec.sample.targets]
    methods = set(samples["method"])
    assert set(METHODS) < methods and sum(m.startswith("noisy_retrieval(") for m in methods) == 1
    assert (samples.group_by("target", "method").len()["len"] == spec.sample.n).all()
    assert samples["accuracy"].is_between(0, 1).all() and samples["disagreement_with_nearest"].is_between(0, 1).all()
    retrieved = samples.filter(pl.col("method") == "retrieval")
    assert (retrieved["nearest_zoo_distance"] < 1e-3).all()  # retrieval returns zoo models themselves
    assert summarize_samples(samples).height == len(spec.sample.targets) * len(methods)
    assert set(alignment(samples)["method"]) == methods


def test_stored_samples_do_what_the_table_says(tiny_store: graphspace.Store) -> None:
    samples = tiny_store.samples().filter(pl.col("method") == DEFAULT)
    data = load_datasets(tiny_store.spec.datasets)["digits"]
    space = learned_space(tiny_store)
    for row in samples.head(3).iter_rows(named=True):
        features = torch.from_numpy(tiny_store.sample_features(row["architecture"])[row["features_row"]])
        architecture = next(a for a in space.examples.architectures if a.key == row["architecture"])
        predicted = predictions_on_test_split(model_of(architecture, features, row["activation"]), data)
        assert float((predicted == data.y_test).float().mean()) == row["accuracy"]


def test_query_prints_json_and_saves_models_that_reproduce_their_accuracy(
    tiny_store: graphspace.Store, tmp_path: Path
) -> None:
    out = tmp_path / "models"
    args = ["query", "--store", str(tiny_store.path), "--accuracy", "0.8", "--n", "2", "--json", "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert {"target_accuracy", "accuracy", "nearest_zoo_distance", "disagreement_with_nearest"} <= set(rows[0])
    assert {row["method"] for row in rows} >= set(METHODS)  # the baselines' rows in the same output
    data = load_datasets(tiny_store.spec.datasets)["digits"]
    saved = sorted(out.glob("*.safetensors"))
    assert len(saved) == 2
    for path in saved:
        reported = json.loads(path.with_suffix(".json").read_text())["accuracy"]
        model = graphspace.load_model(path)
        assert float((predictions_on_test_split(model, data) == data.y_test).float().mean()) == reported


def test_a_target_outside_the_zoo_is_answered_with_a_warning(tiny_store: graphspace.Store) -> None:
    args = ["query", "--store", str(tiny_store.path), "--accuracy", "1.0", "--n", "1"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "outside the zoo's range" in result.stderr and "the closest the zoo supports" in result.stderr


def test_a_query_for_no_models_an_accuracy_beyond_0_1_or_a_negative_seed_is_refused(
    tiny_store: graphspace.Store,
) -> None:
    with pytest.raises(graphspace.StoreError, match="n must be at least 1"):
        tiny_store.query(0.8, n=0)
    with pytest.raises(graphspace.StoreError, match="between 0 and 1; got 90"):
        tiny_store.query(90)  # a percentage
    with pytest.raises(graphspace.StoreError, match=r"seed must be between 0 and 2\^31 - 1, .* got -1"):
        tiny_store.query(0.8, seed=-1)
    args = ["query", "--store", str(tiny_store.path), "--accuracy", "0.8", "--seed", "-1"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "--seed" in result.output and "Traceback" not in result.output


def test_a_query_whose_out_is_a_file_stops_before_sampling(tiny_store: graphspace.Store, tmp_path: Path) -> None:
    out = tmp_path / "samples"
    out.write_text("mine")
    args = ["query", "--store", str(tiny_store.path), "--accuracy", "0.8", "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "samples: it is a file; give a folder path" in result.output
    assert "neighbor_kde" not in result.output and out.read_text() == "mine"


def test_conditional_samplers_follow_the_target() -> None:
    rng = np.random.default_rng(0)
    accuracy = rng.uniform(0.1, 0.9, size=400)
    direction = rng.normal(size=8)
    zoo = ZooLatents(accuracy[:, None] * direction + 0.01 * rng.normal(size=(400, 8)), accuracy)
    for sampler in (linear_gaussian, neighbor_kde):
        for target in (0.2, 0.8):
            z = sampler(zoo, target, 64, rng)
            recovered = z @ direction / (direction @ direction)
            assert abs(np.median(recovered) - target) < 0.05
    z = unconditional_kde(zoo, 2000, rng)
    assert abs(z.mean(0) - zoo.z.mean(0)).max() < 0.05


def test_linear_gaussian_takes_one_condition_per_draw() -> None:
    rng = np.random.default_rng(0)
    accuracy = rng.uniform(0.1, 0.9, size=400)
    direction = rng.normal(size=8)
    zoo = ZooLatents(accuracy[:, None] * direction + 0.01 * rng.normal(size=(400, 8)), accuracy)
    z = linear_gaussian(zoo, np.repeat([0.2, 0.8], 32), 64, rng)
    recovered = z @ direction / (direction @ direction)
    assert abs(np.median(recovered[:32]) - 0.2) < 0.05 and abs(np.median(recovered[32:]) - 0.8) < 0.05


class BiasedPool(Pool):
    """A pool whose 'decoder' is biased toward good models: an embedding of condition c decodes to a model of test
    accuracy 0.5 + 0.5 c (as graphspace's decoder leans high), and 2 points more on training inputs."""

    def decode(self, z: np.ndarray) -> tuple[torch.Tensor, list[str]]:
        c = z @ self.direction / (self.direction @ self.direction)
        return torch.from_numpy(0.5 + 0.5 * c)[:, None], ["relu"] * len(z)


class TrainingAccuracy:
    """Screening that reads the biased pool's models: their test accuracy plus the 2-point gap."""

    def accuracy(self, architecture: object, features: torch.Tensor, activations: list[str]) -> np.ndarray:
        return features[:, 0].numpy() + 0.02


def test_screening_finds_models_of_the_target_accuracy_from_a_biased_decoder() -> None:
    rng = np.random.default_rng(0)
    accuracy = rng.uniform(0.1, 0.9, size=400)
    direction = rng.normal(size=8)
    latents = ZooLatents(accuracy[:, None] * direction + 0.01 * rng.normal(size=(400, 8)), accuracy)
    pool = BiasedPool(None, None, None, latents, [], None, np.full(400, 0.02), TrainingAccuracy())
    object.__setattr__(pool, "direction", direction)
    for target in (0.6, 0.8):
        unscreened, _ = pool.decode(linear_gaussian(latents, target, 16, rng))
        assert abs(float(unscreened.median()) - target) > 0.05  # the bias the screening has to undo
        kept, activations = screened(pool, target, 16, rng)
        assert len(kept) == len(activations) == 16
        assert abs(kept[:, 0].numpy() - target).max() < 0.02  # every kept model within 2 points


def test_screening_inputs_come_from_the_training_split(tiny_store: graphspace.Store) -> None:
    data = load_datasets(tiny_store.spec.datasets)["digits"]
    space = learned_space(tiny_store)
    pool = _pool(space, tiny_store.embeddings()["embedding"].to_numpy(), "digits", data, seed=0)
    assert len(pool.screening.x) == min(SCREEN_INPUTS, len(data.x_train))
    train_rows = {tuple(x.flatten().tolist()) for x in data.x_train}
    assert all(tuple(x.flatten().tolist()) in train_rows for x in pool.screening.x)


def test_a_rerun_with_new_targets_resamples_and_records_its_spec(tiny_store: graphspace.Store, tmp_path: Path) -> None:
    shutil.copytree(tiny_store.path, tmp_path / "tiny.zarr")
    spec_text = (SPECS / "tiny.yaml").read_text()
    changed = tmp_path / "tiny.yaml"
    changed.write_text(spec_text.replace("targets: [{accuracy: 0.6}, {accuracy: 0.9}]", "targets: [{accuracy: 0.7}]"))
    store = graphspace.run(graphspace.load_spec(changed), tmp_path / "tiny.zarr")
    assert [t.accuracy for t in store.spec.sample.targets] == [0.7]
    assert graphspace.open_store(store.path).spec.sample == store.spec.sample
    assert store.samples()["target_accuracy"].unique().to_list() == [0.7]
    assert store.probes().equals(tiny_store.probes())  # the earlier stages are kept
