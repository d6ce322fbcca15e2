"""The learn stage of a run: embeddings of every checkpoint, reconstruction measured by behavior, the API."""

from __future__ import annotations

import shutil

import numpy as np
import polars as pl
import pytest
import torch
import zarr

import graphspace
from graphspace.data import load_datasets
from graphspace.learn.quality import by_checkpoint, by_original_accuracy, summarize
from graphspace.learn.space import LearnedSpace
from tests.symmetries import symmetric_copy


def test_every_checkpoint_has_an_embedding(tiny_store: graphspace.Store) -> None:
    embeddings = tiny_store.embeddings()
    latent = tiny_store.spec.learn.latent
    assert embeddings["id"].to_list() == tiny_store.metadata()["id"].to_list()
    assert embeddings.schema["embedding"] == pl.Array(pl.Float32, latent)
    stored = torch.from_numpy(embeddings["embedding"].to_numpy()[[3, 7]])
    assert torch.allclose(graphspace.encode(tiny_store, [3, 7]), stored, atol=1e-6)


def test_encode_takes_any_integer_ids_and_refuses_what_is_neither_an_id_nor_a_model(
    tiny_store: graphspace.Store,
) -> None:
    expected = graphspace.encode(tiny_store, [3, 7])
    for ids in (torch.tensor([3, 7]), np.array([3, 7]), range(3, 8, 4)):
        assert torch.equal(graphspace.encode(tiny_store, ids), expected)
    assert graphspace.encode(tiny_store, []).shape == (0, tiny_store.spec.learn.latent)
    for bad in (["3"], [3.0], torch.zeros(2)):
        with pytest.raises(graphspace.StoreError, match=r"checkpoint ids \(integers\) or torch models .*, not "):
            graphspace.encode(tiny_store, bad)


def test_a_model_and_its_hidden_neuron_symmetries_have_one_embedding(tiny_store: graphspace.Store) -> None:
    for i in (2, 9, 21):
        model = tiny_store.model(i)
        shape = tiny_store.blueprint(tiny_store.metadata()["architecture"][i]).input_shape
        copies = [symmetric_copy(model, shape, seed) for seed in range(3)]
        embeddings = graphspace.encode(tiny_store, [model, *copies])
        assert (embeddings - graphspace.encode(tiny_store, [i])).abs().max() < 1e-5


def test_a_zoo_of_one_dataset_has_no_class_slots(tiny_store: graphspace.Store) -> None:
    assert LearnedSpace.open(tiny_store).model.config.classes == 0  # every row has the same classes


def test_a_space_opened_with_loaded_examples_shares_them_and_encodes_alike(tiny_store: graphspace.Store) -> None:
    space = LearnedSpace.open(tiny_store)
    again = LearnedSpace.open(tiny_store, "main", space.examples)
    assert again.examples is space.examples
    assert torch.equal(again.encode([0, 5]), space.encode([0, 5]))


def test_reconstruction_is_measured_for_every_test_row_and_method(tiny_store: graphspace.Store) -> None:
    quality = tiny_store.reconstruction()
    test_ids = tiny_store.metadata().filter(pl.col("split") == "test")["id"].sort().to_list()
    methods = ["main", "no_layer_norm", "no_behavior", "best_train_model", "pca", "nearest_train_model"]
    assert quality["method"].unique(maintain_order=True).to_list() == methods
    for method in methods:
        assert quality.filter(pl.col("method") == method)["id"].sort().to_list() == test_ids
    truth = tiny_store.metadata().select("id", "test_accuracy")
    joined = quality.join(truth, on="id")
    assert (joined["original_accuracy"] == joined["test_accuracy"]).all()
    assert quality["agreement"].is_between(0, 1).all()
    assert quality["layer_relative_error"].list.len().unique().to_list() == [2]  # the tiny MLP's two layers
    summary = summarize(quality, tiny_store.metadata())
    assert summary["method"].to_list() == methods
    test_models = tiny_store.metadata().filter(pl.col("split") == "test")["model"].n_unique()
    assert summary["rows"].to_list() == [len(test_ids)] * 6 and summary["final_rows"].to_list() == [test_models] * 6
    main = quality.filter(pl.col("method") == "main")
    assert summary["agreement"][0] == main["agreement"].median()
    kinds = by_checkpoint(quality, tiny_store.metadata(), references=["nearest_train_model", "not_a_method"])
    assert kinds["rows"].sum() == len(test_ids) and kinds.select("epoch", "prune_ratio").is_unique().all()
    assert kinds.columns[-1] == "nearest_train_model_agreement"  # a reference the table does not hold is left out
    oracle = quality.filter(pl.col("method") == "nearest_train_model").join(tiny_store.metadata(), on="id")
    first = kinds.row(0, named=True)
    same_kind = (pl.col("epoch") == first["epoch"]) & (pl.col("prune_ratio") == first["prune_ratio"])
    assert first["nearest_train_model_agreement"] == oracle.filter(same_kind)["agreement"].median()


def test_reconstruction_by_band_of_original_accuracy_covers_each_test_row_once(tiny_store: graphspace.Store) -> None:
    quality = tiny_store.reconstruction()
    bands = by_original_accuracy(quality, references=["nearest_train_model"], bands=4)
    main = quality.filter(pl.col("method") == "main")
    assert bands["rows"].sum() == main.height and bands["band"].is_unique().all()
    assert set(bands["band"]) <= {"0.0-0.25", "0.25-0.5", "0.5-0.75", "0.75-1.0"}
    for band in bands.iter_rows(named=True):
        low, high = (float(edge) for edge in band["band"].split("-"))
        inside = pl.col("original_accuracy").is_between(low, high, closed="both" if high == 1.0 else "left")
        assert band["rows"] == main.filter(inside).height
        assert band["abs_acc_diff"] == main.filter(inside)["accuracy_difference"].abs().median()
        oracle = quality.filter((pl.col("method") == "nearest_train_model") & inside)
        assert band["nearest_train_model_agreement"] == oracle["agreement"].median()


def test_the_nearest_train_model_is_the_train_checkpoint_that_agrees_most(tiny_store: graphspace.Store) -> None:
    data = load_datasets(tiny_store.spec.datasets)["digits"]
    metadata = tiny_store.metadata()
    quality = tiny_store.reconstruction()
    train = metadata.filter(pl.col("split") == "train")
    with torch.no_grad():
        for row in quality.filter(pl.col("method") == "nearest_train_model").head(3).iter_rows(named=True):
            original = tiny_store.model(row["id"])(data.x_test).argmax(1)
            activation = metadata["activation"][row["id"]]
            pool = train.filter(pl.col("activation") == activation)["id"].to_list()
            best = max((tiny_store.model(i)(data.x_test).argmax(1) == original).double().mean().item() for i in pool)
            assert row["agreement"] == pytest.approx(best, abs=1e-9)
    baseline = quality.filter(pl.col("method") == "best_train_model").sort("id")["agreement"]
    oracle = quality.filter(pl.col("method") == "nearest_train_model").sort("id")["agreement"]
    assert (oracle >= baseline).all()  # the most accurate train model of the activation is in the oracle's pool


def test_decoded_models_are_runnable_and_do_what_the_quality_table_says(tiny_store: graphspace.Store) -> None:
    data = load_datasets(tiny_store.spec.datasets)["digits"]
    row = tiny_store.reconstruction().filter(pl.col("method") == "main").row(0, named=True)
    metadata = tiny_store.metadata().row(row["id"], named=True)
    z = graphspace.encode(tiny_store, [row["id"]])
    (model,) = graphspace.decode(tiny_store, z, metadata["architecture"], metadata["activation"])
    with torch.no_grad():
        decoded, original = model(data.x_test).argmax(1), tiny_store.model(row["id"])(data.x_test).argmax(1)
    assert (decoded == data.y_test).double().mean().item() == pytest.approx(row["accuracy"], abs=1e-9)
    assert (decoded == original).double().mean().item() == pytest.approx(row["agreement"], abs=1e-9)


def test_decode_without_an_activation_reads_it_off_the_embedding(tiny_store: graphspace.Store) -> None:
    architecture = tiny_store.metadata()["architecture"][0]
    models = graphspace.decode(tiny_store, graphspace.encode(tiny_store, [0, 1]), architecture)
    assert len(models) == 2 and all(isinstance(m, torch.nn.Sequential) for m in models)
    stored = tiny_store.embeddings()["embedding"].to_numpy()[[0, 1]]  # numpy, as the store gives them
    x = torch.randn(4, *tiny_store.blueprint(architecture).input_shape)
    from_tensor = graphspace.decode(tiny_store, torch.from_numpy(stored), architecture)
    for z in (stored, stored.astype(np.float64), stored.tolist()):
        again = graphspace.decode(tiny_store, z, architecture)
        assert all(torch.equal(a(x), m(x)) for a, m in zip(again, from_tensor, strict=True))
    with pytest.raises(graphspace.StoreError, match="architecture 'nope' is not in the store"):
        graphspace.decode(tiny_store, torch.zeros(1, tiny_store.spec.learn.latent), "nope")
    with pytest.raises(graphspace.StoreError, match=r"z must have shape \(B, 8\), .* got \(8,\)"):
        graphspace.decode(tiny_store, torch.zeros(tiny_store.spec.learn.latent), architecture)


def test_the_nearest_dataset_of_test_models_is_reported(tiny_store: graphspace.Store) -> None:
    nearest = tiny_store.nearest_datasets()
    assert set(nearest["split"]) == {"test"} and set(nearest["nearest"]) == {"digits"}


def test_a_rerun_of_a_finished_learn_stage_changes_nothing(tiny_store: graphspace.Store) -> None:
    before = tiny_store.embeddings()
    store = graphspace.run(tiny_store.spec, tiny_store.path)
    assert store.embeddings().equals(before)


def test_a_learn_seed_redraws_the_learned_space_on_the_same_split(tiny_store: graphspace.Store, tmp_path) -> None:
    path = tmp_path / "tiny.zarr"
    shutil.copytree(tiny_store.path, path)
    spec = tiny_store.spec
    store = graphspace.run(spec.model_copy(update={"learn": spec.learn.model_copy(update={"seed": 1})}), path)
    assert store.split().equals(tiny_store.split())
    assert store.metadata().equals(tiny_store.metadata())
    assert not np.allclose(store.embeddings()["embedding"].to_numpy(), tiny_store.embeddings()["embedding"].to_numpy())


def test_a_learn_section_without_a_seed_is_recorded_as_before_seeds_existed(tiny_store: graphspace.Store) -> None:
    assert tiny_store.spec.learn.seed is None
    assert "seed" not in zarr.open_group(tiny_store.path / "learn", mode="r").attrs["learn"]


def test_a_store_without_a_learn_stage_says_so(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from graphspace import pipeline
    from tests.conftest import SPECS

    monkeypatch.setattr(pipeline, "learn_stage", lambda *args: None)
    monkeypatch.setattr(pipeline, "probe_stage", lambda *args: None)
    monkeypatch.setattr(pipeline, "sample_stage", lambda *args: None)
    store = graphspace.run(graphspace.load_spec(SPECS / "tiny.yaml"), tmp_path / "tiny.zarr")
    with pytest.raises(graphspace.StoreError, match="no finished learn stage yet"):
        store.embeddings()
    with pytest.raises(graphspace.StoreError, match="no finished learn stage yet"):
        graphspace.probe(store)
    with pytest.raises(graphspace.StoreError, match="no finished probe stage yet"):
        store.probes()
    with pytest.raises(graphspace.StoreError, match="no trained weight space yet"):
        graphspace.encode(store, [0])
    assert store.metadata()["split"].is_null().all()


@pytest.mark.parametrize("damage", ["another shape", "not a checkpoint"])
def test_an_unusable_learn_checkpoint_is_reported_with_what_to_do(tiny_store, tmp_path, damage: str) -> None:
    path = tmp_path / "tiny.zarr"
    shutil.copytree(tiny_store.path, path)
    checkpoint = path / "learn" / "main.pt"
    if damage == "another shape":  # as left by a graphspace version whose encoder had other sizes
        saved = torch.load(checkpoint, weights_only=False)
        name = next(iter(saved["model"]))
        saved["model"][name] = torch.zeros(3, 3)
        torch.save(saved, checkpoint)
    else:
        checkpoint.write_bytes(b"not a torch file")
    store = graphspace.open_store(path)
    with pytest.raises(graphspace.StoreError, match=r"learn checkpoint .*main\.pt cannot be used .*remove the folder"):
        graphspace.encode(store, [0])
    (path / "learn" / "done").unlink()  # an unfinished stage resumes from the checkpoint
    with pytest.raises(graphspace.StoreError, match=r"learn checkpoint .*main\.pt cannot be used"):
        graphspace.run(store.spec, path)
