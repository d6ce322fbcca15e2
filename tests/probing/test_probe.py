"""The probe stage: properties predicted from frozen embeddings and from the baselines' features, one table."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import zarr
from scipy.stats import kendalltau
from sklearn.metrics import accuracy_score, r2_score

import graphspace
from graphspace.probing import METHODS, ProbeTarget, probe, probe_targets
from graphspace.probing.estimators import linear_probe, scores
from graphspace.probing.features import STATISTICS, embedding_views, recipe_features, statnn_features
from graphspace.probing.stage import DESIGN, within_kinds


def test_targets_are_the_results_and_every_varied_hyperparameter(tiny_store: graphspace.Store) -> None:
    targets = {t.name: t for t in probe_targets(tiny_store.spec)}
    assert list(targets) == [
        "test_accuracy", "generalization_gap", "epoch",
        "init", "activation", "dropout", "weight_decay", "lr", "prune_ratio",
    ]  # fmt: skip
    assert targets["dropout"] == ProbeTarget("dropout", "categorical")  # a list of choices
    assert targets["lr"] == ProbeTarget("lr", "continuous", log=True)  # log-uniform
    lr = targets["lr"].values(tiny_store.metadata())
    assert np.allclose(10**lr, tiny_store.metadata()["lr"].to_numpy())


def test_the_table_has_a_row_per_target_and_metric_and_a_column_per_method(tiny_store: graphspace.Store) -> None:
    table = tiny_store.probes()
    assert table.columns == ["target", "metric", *METHODS]
    metrics = dict(table.group_by("target").agg(pl.col("metric")).iter_rows())
    assert metrics["test_accuracy"] == ["r2", "kendall_tau"] and metrics["init"] == ["accuracy"]
    assert table.equals(probe(tiny_store))  # the API returns what the run stored
    categorical = table.filter(pl.col("metric") == "accuracy").drop("target", "metric")
    assert all(categorical[c].is_between(0, 1).all() for c in categorical.columns)


def test_the_tables_metrics_are_those_of_the_stored_predictions(tiny_store: graphspace.Store) -> None:
    table, predictions = tiny_store.probes(), tiny_store.probe_predictions()
    test_ids = tiny_store.metadata().filter(pl.col("split") == "test")["id"].sort().to_list()

    def cell(target: str, metric: str, method: str) -> float:
        return table.filter((pl.col("target") == target) & (pl.col("metric") == metric))[method].item()

    for method in ("embedding_linear", "statnn_gbt", "gnn_supervised"):
        part = predictions.filter((pl.col("target") == "test_accuracy") & (pl.col("method") == method))
        assert part["id"].sort().to_list() == test_ids
        truth = tiny_store.metadata().filter(pl.col("split") == "test").sort("id")["test_accuracy"]
        assert np.allclose(part.sort("id")["truth"].to_numpy(), truth.to_numpy())
        tau = kendalltau(part["truth"], part["prediction"]).statistic
        assert cell("test_accuracy", "kendall_tau", method) == pytest.approx(np.nan_to_num(tau))
        assert cell("test_accuracy", "r2", method) == pytest.approx(r2_score(part["truth"], part["prediction"]))
        init = predictions.filter((pl.col("target") == "init") & (pl.col("method") == method))
        expected = accuracy_score(init["truth_label"], init["predicted_label"])
        assert cell("init", "accuracy", method) == pytest.approx(expected)


def test_test_accuracy_is_also_ranked_within_each_kind_of_test_row() -> None:
    # two kinds of rows (final checkpoints, their pruned variants) that a probe ranks right and wrong within,
    # though over all eight rows it tells the kinds apart
    metadata = pl.DataFrame({"id": range(8), "epoch": [5] * 8, "prune_ratio": [0.0] * 4 + [0.9] * 4})
    truth = [0.80, 0.85, 0.90, 0.95, 0.10, 0.12, 0.14, 0.16]
    probe_guess = [0.81, 0.84, 0.92, 0.93, 0.15, 0.13, 0.11, 0.10]
    predictions = pl.DataFrame(
        {
            "target": "test_accuracy",
            "method": ["statnn_gbt"] * 8 + ["constant"] * 8,
            "id": [*range(8), *range(8)],
            "truth": truth * 2,
            "prediction": probe_guess + [0.5] * 8,
        }
    )
    table = within_kinds(predictions, metadata)
    assert table.columns == ["epoch", "prune_ratio", "rows", "statnn_gbt"]  # a constant ranks nothing
    assert table.rows() == [(5, 0.0, 4, 1.0), (5, 0.9, 4, -1.0)]
    assert scores("continuous", np.array(truth), np.array(probe_guess))["kendall_tau"] > 0.4  # over all rows


def test_statnn_features_are_per_tensor_statistics_of_the_stored_weights(tiny_store: graphspace.Store) -> None:
    metadata = tiny_store.metadata()
    features = statnn_features(tiny_store, metadata)
    weights = tiny_store.weights(5)
    assert features.shape == (metadata.height, STATISTICS * len(weights))
    bias = list(weights.values())[1].numpy()  # state_dict order: first layer's weight, then its bias
    first_bias = features[5, STATISTICS : 2 * STATISTICS]
    assert np.allclose(first_bias, [bias.mean(), bias.var(), *np.percentile(bias, [0, 25, 50, 75, 100])], atol=1e-6)


def test_the_recipe_reference_reads_the_metadata_and_predicts_only_the_results_outside_it(
    tiny_store: graphspace.Store,
) -> None:
    metadata = tiny_store.metadata()
    recipe, names = recipe_features(tiny_store.spec, metadata)
    assert names == {"epoch", "init", "activation", "dropout", "weight_decay", "lr", "prune_ratio"}
    choices = [metadata[name].n_unique() for name in ("init", "activation", "dropout", "weight_decay")]
    assert recipe.shape == (metadata.height, 1 + sum(choices) + 1 + metadata["prune_ratio"].n_unique())
    assert np.array_equal(recipe[:, 0], metadata["epoch"].to_numpy())
    one_hot = recipe[:, 1 : 1 + sum(choices)]
    assert set(np.unique(one_hot)) == {0.0, 1.0} and np.all(one_hot.sum(1) == len(choices))  # one per choice
    assert np.allclose(recipe[:, 1 + sum(choices)], np.log10(metadata["lr"].to_numpy()))  # log-uniform
    table = tiny_store.probes()
    assert set(table.filter(pl.col("recipe_gbt").is_not_null())["target"]) == {"test_accuracy", "generalization_gap"}


def test_a_linear_probe_finds_a_real_relation_and_nothing_in_shuffled_targets() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(900, 32))
    y = x @ rng.normal(size=32) + 0.3 * rng.normal(size=900)
    labels = np.where(x[:, 0] + x[:, 1] > 0, "a", "b")
    train, select, test = (np.arange(900) % 3 == k for k in range(3))
    real = scores("continuous", y[test], linear_probe("continuous", (x,), y, train, select)[test])
    assert real["r2"] > 0.95 and real["kendall_tau"] > 0.85
    shuffled = rng.permutation(y)
    null = scores("continuous", shuffled[test], linear_probe("continuous", (x,), shuffled, train, select)[test])
    assert abs(null["r2"]) < 0.05 and abs(null["kendall_tau"]) < 0.1
    real = scores("categorical", labels[test], linear_probe("categorical", (x,), labels, train, select)[test])
    assert real["accuracy"] > 0.95
    shuffled = rng.permutation(labels)
    null = scores("categorical", shuffled[test], linear_probe("categorical", (x,), shuffled, train, select)[test])
    assert abs(null["accuracy"] - 0.5) < 0.08


def test_a_linear_probe_reads_the_view_that_validates_best() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(size=(900, 16)) * rng.lognormal(sigma=1.0, size=(900, 1))  # a target in the directions alone
    views = embedding_views(z)
    y = views[1] @ rng.normal(size=16)
    train, select, test = (np.arange(900) % 3 == k for k in range(3))
    raw = scores("continuous", y[test], linear_probe("continuous", (z,), y, train, select)[test])
    either = scores("continuous", y[test], linear_probe("continuous", views, y, train, select)[test])
    assert raw["r2"] < 0.8 < 0.99 < either["r2"]
    assert np.allclose(np.linalg.norm(views[1], axis=1), 1)


def test_continuous_scores_of_fewer_than_two_rows_are_undefined_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        single = scores("continuous", np.array([0.5]), np.array([0.4]))
    assert np.isnan(single["r2"]) and np.isnan(single["kendall_tau"])


def test_a_probe_table_of_an_earlier_probe_design_is_redone(tiny_store: graphspace.Store, tmp_path: Path) -> None:
    shutil.copytree(tiny_store.path, tmp_path / "tiny.zarr")
    store = graphspace.open_store(tmp_path / "tiny.zarr")
    group = zarr.open_group(store.path / "probe", mode="r+")
    group.attrs["design"] = DESIGN - 1  # as a store probed by an earlier graphspace left it (the learned space has
    # a design of its own: the two must not collide)
    (store.path / "probe" / "results.parquet").unlink()  # what an earlier design computed is not kept
    assert probe(store).equals(tiny_store.probes())
    assert zarr.open_group(store.path / "probe", mode="r").attrs["design"] == DESIGN
