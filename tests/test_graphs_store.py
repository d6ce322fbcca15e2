"""The graph stage: every checkpoint of a run becomes a stored canonical graph that is the checkpoint's model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import zarr
from torch_geometric.loader import DataLoader

import graphspace
from graphspace import pipeline
from graphspace.data import load_datasets
from tests.conftest import SPECS


def test_the_store_holds_one_graph_per_checkpoint_and_the_skeleton_once(tiny_store: graphspace.Store) -> None:
    metadata = tiny_store.metadata()
    assert tiny_store.graphed_populations() == set(metadata["population"].unique())
    root = zarr.open_group(tiny_store.path, mode="r")
    (architecture,) = metadata["architecture"].unique()
    group = root[f"graphs/{architecture}"]
    assert sorted(group.array_keys()) == ["edge_index", "edge_kind", "features", "node_layer", "node_position"]
    assert group["features"].shape == (metadata.height, 16 + 10 + 64 * 16 + 16 * 10)  # = parameters
    assert group["features"].chunks == (1, group["features"].shape[1])
    assert not np.isnan(group["features"][:]).any()
    graph = tiny_store.graph(5)
    assert graph.id == 5 and torch.equal(graph.edge_index, torch.from_numpy(group["edge_index"][:]))


def test_from_graph_of_a_stored_graph_reproduces_the_recorded_test_accuracy(tiny_store: graphspace.Store) -> None:
    data = load_datasets(tiny_store.spec.datasets)["digits"]
    for row in tiny_store.metadata().iter_rows(named=True):
        model = graphspace.from_graph(tiny_store.graph(row["id"]))
        with torch.no_grad():
            accuracy = (model(data.x_test).argmax(1) == data.y_test).double().mean().item()
        assert accuracy == row["test_accuracy"], row["id"]


def test_a_stored_graph_is_the_graph_of_the_stored_model(tiny_store: graphspace.Store) -> None:
    for i in (0, 9, 31):
        stored, direct = tiny_store.graph(i), graphspace.to_graph(tiny_store.model(i))
        assert (stored.edge_attr - direct.edge_attr).abs().max() <= 1e-6
        assert (stored.x - direct.x).abs().max() <= 1e-6


def test_graphs_returns_a_batch_in_the_order_asked(tiny_store: graphspace.Store) -> None:
    batch = tiny_store.graphs([7, 2, 30])
    assert batch.num_graphs == 3 and batch.id.tolist() == [7, 2, 30]
    for k, i in enumerate((7, 2, 30)):
        assert torch.equal(batch.get_example(k).edge_attr, tiny_store.graph(i).edge_attr)
    with pytest.raises(graphspace.StoreError, match="at least one checkpoint id"):
        tiny_store.graphs([])


def test_the_dataset_view_streams_graphs_with_metadata_targets(tiny_store: graphspace.Store) -> None:
    metadata = tiny_store.metadata()
    dataset = graphspace.GraphDataset(tiny_store, targets=["test_accuracy", "init", "epoch"])
    assert len(dataset) == metadata.height
    assert dataset.categories["init"] == sorted(metadata["init"].unique())
    row = metadata.row(11, named=True)
    assert dataset[11].y[0].tolist() == pytest.approx(
        [row["test_accuracy"], dataset.categories["init"].index(row["init"]), row["epoch"]]
    )
    seen = []
    for batch in DataLoader(dataset, batch_size=10, shuffle=False):
        assert batch.y.shape == (batch.num_graphs, 3)
        seen += batch.id.tolist()
    assert seen == metadata["id"].to_list()
    subset = graphspace.GraphDataset(tiny_store, ids=[3, 1], targets="epoch")  # one column, named alone
    assert [d.id for d in subset] == [3, 1] and subset.targets == ["epoch"]
    with pytest.raises(graphspace.StoreError, match="not_a_column is not a metadata column"):
        graphspace.GraphDataset(tiny_store, targets=["not_a_column"])
    with pytest.raises(graphspace.StoreError, match=r"no checkpoint with id -1; its ids are 0\.\.31"):
        graphspace.GraphDataset(tiny_store, ids=[3, -1])  # not polars' last row


def test_a_run_stopped_before_its_graph_stage_says_so_and_the_next_run_writes_the_graphs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = graphspace.load_spec(SPECS / "tiny.yaml")
    monkeypatch.setattr(pipeline, "_graph_stage", lambda store, progress: None)
    monkeypatch.setattr(pipeline, "learn_stage", lambda *args: None)
    monkeypatch.setattr(pipeline, "probe_stage", lambda *args: None)
    monkeypatch.setattr(pipeline, "sample_stage", lambda *args: None)
    store = graphspace.run(spec, tmp_path / "tiny.zarr")
    with pytest.raises(graphspace.StoreError, match="no graph for checkpoint 4 yet; run `graphspace run` again"):
        store.graph(4)
    monkeypatch.undo()
    store = graphspace.run(spec, tmp_path / "tiny.zarr")
    assert store.graph(4).num_nodes == 64 + 16 + 10
