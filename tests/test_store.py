"""The store of a run: one row per model x checkpoint (+ pruned variants), weights that reproduce the metrics."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pytest
import torch
import zarr
from polars.testing import assert_frame_equal

import graphspace
from graphspace.data import load_datasets
from graphspace.probing.stage import DESIGN
from graphspace.report import report_folder
from graphspace.spec import Spec
from graphspace.store import METADATA_SCHEMA, writing


def test_metadata_has_one_row_per_model_checkpoint_and_pruned_variant(tiny_store: graphspace.Store) -> None:
    metadata = tiny_store.metadata()
    spec = tiny_store.spec
    assert metadata.schema == pl.Schema(METADATA_SCHEMA | {"split": pl.String})
    assert metadata["id"].to_list() == list(range(metadata.height))
    unpruned = metadata.filter(pl.col("prune_ratio") == 0)
    assert unpruned.height == spec.zoo.size * 3
    assert unpruned.select("model", "epoch").is_unique().all()
    assert sorted(unpruned["epoch"].unique()) == [0, 1, 3]
    for column in ("train_accuracy", "test_accuracy"):
        assert metadata[column].is_between(0, 1).all()
    gap = metadata["train_accuracy"] - metadata["test_accuracy"]
    assert (gap - metadata["generalization_gap"]).abs().max() < 1e-12


def test_pruned_rows_name_their_parent_checkpoint(tiny_store: graphspace.Store) -> None:
    metadata = tiny_store.metadata()
    pruned = metadata.filter(pl.col("prune_ratio") > 0)
    assert pruned.height == tiny_store.spec.zoo.size and (pruned["prune_ratio"] == 0.5).all()
    parents = pruned.join(metadata, left_on="parent", right_on="id", suffix="_parent")
    assert (parents["model"] == parents["model_parent"]).all() and (parents["epoch_parent"] == 3).all()
    assert (parents["prune_ratio_parent"] == 0).all()
    for row in pruned.iter_rows(named=True):
        weights, parent = tiny_store.weights(row["id"]), tiny_store.weights(row["parent"])
        share = (weights["1.weight"] == 0).float().mean()
        assert share == pytest.approx(0.5, abs=0.01)
        assert torch.equal(weights["1.bias"], parent["1.bias"])


def test_every_varied_hyperparameter_is_a_column(tiny_store: graphspace.Store) -> None:
    metadata = tiny_store.metadata()
    for name in tiny_store.spec.zoo.vary.varied():
        assert metadata[name].n_unique() > 1


def test_stored_models_reproduce_their_recorded_accuracy(tiny_store: graphspace.Store) -> None:
    data = load_datasets(tiny_store.spec.datasets)["digits"]
    for row in tiny_store.metadata().iter_rows(named=True):
        model = tiny_store.model(row["id"])
        with torch.no_grad():
            logits = model(data.x_test)
        accuracy = (logits.argmax(1) == data.y_test).double().mean().item()
        loss = torch.nn.functional.cross_entropy(logits, data.y_test).item()
        assert abs(accuracy - row["test_accuracy"]) <= 1 / len(data.y_test)
        assert loss == pytest.approx(row["test_loss"], rel=1e-4)


def test_scan_is_the_lazy_metadata_and_spec_is_stored(tiny_store: graphspace.Store) -> None:
    assert_frame_equal(tiny_store.scan().collect(), tiny_store.metadata())
    reopened = graphspace.open_store(tiny_store.path)
    assert reopened.spec == tiny_store.spec
    assert reopened.attributes["schema_version"] == 2 and reopened.attributes["graphspace_version"]


def test_weights_are_a_state_dict_of_the_architecture(tiny_store: graphspace.Store) -> None:
    weights = tiny_store.weights(0)
    assert list(weights) == ["1.weight", "1.bias", "4.weight", "4.bias"]
    assert weights["1.weight"].shape == (16, 64) and weights["4.weight"].shape == (10, 16)


def test_unknown_id_and_missing_store_are_clear_errors(tiny_store: graphspace.Store, tmp_path: Path) -> None:
    with pytest.raises(graphspace.StoreError, match="no checkpoint with id 999"):
        tiny_store.weights(999)
    with pytest.raises(graphspace.StoreError, match="No graphspace store at"):
        graphspace.open_store(tmp_path / "nothing.zarr")
    (architecture,) = tiny_store.metadata()["architecture"].unique()
    for read in (tiny_store.blueprint, tiny_store.skeleton, tiny_store.sample_features):
        with pytest.raises(graphspace.StoreError, match=f"no architecture 'mlp'; it has {architecture}"):
            read("mlp")


@contextmanager
def held_by_another_process(path: Path) -> Iterator[None]:
    """The write lock of the store at `path`, held by a child process (as a running `graphspace run` holds it)."""
    code = (
        "import sys; from graphspace.store import writing\n"
        "with writing(sys.argv[1]): print('held', flush=True); sys.stdin.read()"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout.readline() == "held\n"
    try:
        yield
    finally:
        child.communicate("")


def test_a_second_run_on_a_store_being_written_stops_before_touching_it(tmp_path: Path) -> None:
    from tests.conftest import SPECS

    path = tmp_path / "tiny.zarr"
    with held_by_another_process(path):
        with pytest.raises(graphspace.StoreError, match=r"being written by another graphspace process \(process \d+\)"):
            graphspace.run(graphspace.load_spec(SPECS / "tiny.yaml"), path)
        assert not path.exists()
    with writing(path), writing(path):  # released when its holder is done; reentrant within a process
        pass


def test_a_report_or_a_probe_stops_while_another_process_writes_the_store(tiny_store: graphspace.Store) -> None:
    report = report_folder(tiny_store)
    written = (report / "report.md").stat().st_mtime_ns
    with held_by_another_process(tiny_store.path):
        with pytest.raises(graphspace.StoreError, match="being written by another graphspace process"):
            graphspace.write_report(tiny_store)
        with pytest.raises(graphspace.StoreError, match="being written by another graphspace process"):
            graphspace.probe(tiny_store)
    assert (report / "report.md").stat().st_mtime_ns == written  # the report was left alone
    assert graphspace.probe(tiny_store).equals(tiny_store.probes())


def test_a_stage_after_learning_is_redone_when_its_own_design_changes(
    tiny_store: graphspace.Store, tmp_path: Path
) -> None:
    shutil.copytree(tiny_store.path, tmp_path / "tiny.zarr")
    store = graphspace.open_store(tmp_path / "tiny.zarr")
    with writing(store.path):
        store.start_probing(store.spec.probe, DESIGN)  # what made the stored probe group: kept
        assert store.probed()
        store.start_probing(store.spec.probe, DESIGN + 1)  # the learned space's design has the same name and value
        assert not store.probed()


def test_a_store_whose_spec_records_the_retired_sampling_conditions_still_opens(
    tiny_store: graphspace.Store, tmp_path: Path
) -> None:
    shutil.copytree(tiny_store.path, tmp_path / "tiny.zarr")
    root = zarr.open_group(tmp_path / "tiny.zarr", mode="r+")
    spec = root.attrs["spec"]
    spec["sample"]["targets"] = [{**t, "loss": None, "gap": None, "epoch": None} for t in spec["sample"]["targets"]]
    root.attrs["spec"] = spec  # as graphspace wrote it when targets took a loss, gap and epoch
    assert graphspace.open_store(tmp_path / "tiny.zarr").spec == tiny_store.spec


def test_sample_features_of_an_architecture_no_sample_has_are_empty(
    tiny_store: graphspace.Store, tmp_path: Path
) -> None:
    shutil.copytree(tiny_store.path, tmp_path / "tiny.zarr")
    (architecture,) = tiny_store.metadata()["architecture"].unique()
    shutil.rmtree(tmp_path / "tiny.zarr" / "samples" / architecture)  # as for one of several architectures
    features = graphspace.open_store(tmp_path / "tiny.zarr").sample_features(architecture)
    assert features.shape == (0, tiny_store.sample_features(architecture).shape[1])


def test_mnist_cnns_learn_far_above_chance(tmp_path: Path) -> None:
    spec = Spec.model_validate(
        {
            "name": "mnist_small",
            "zoo": {"size": 4, "hyper": {"init": "glorot", "lr": 0.003}, "train": {"epochs": 3}},
        }
    )
    metadata = graphspace.run(spec, tmp_path / "mnist.zarr").metadata()
    assert metadata.height == 4 and metadata["test_accuracy"].min() > 0.6
