"""Batches of graphs assembled from feature rows are the stored graphs, normalized, with every edge both ways."""

from __future__ import annotations

import torch

import graphspace
from graphspace.graph.network import EDGE_KINDS
from graphspace.learn.batch import architecture_order, graph_batch
from graphspace.learn.examples import load_examples


def test_a_batch_holds_the_stored_graphs_normalized_per_layer(tiny_store: graphspace.Store) -> None:
    examples = load_examples(tiny_store, tiny_store.split())
    rows = architecture_order(examples, torch.tensor([5, 0, 17]))
    batch = graph_batch(examples, rows)
    (architecture,) = examples.architectures
    nodes, edges = architecture.skeleton.num_nodes, architecture.skeleton.num_edges
    assert batch.num_graphs == 3 and batch.bias.shape == (3 * nodes,) and batch.edge_attr.shape[0] == 2 * 3 * edges
    assert torch.equal(batch.batch, torch.arange(3).repeat_interleave(nodes))
    edge_scale = architecture.skeleton.edge_attr(architecture.scale[None])[0]  # (E, G) the scale of each weight
    node_scale = architecture.skeleton.node_bias(architecture.scale[None])[0]
    for k, row in enumerate(rows.tolist()):
        stored = tiny_store.graph(int(examples.ids[row]))
        forward = batch.edge_attr[k * edges : (k + 1) * edges]
        assert torch.allclose(forward * torch.where(edge_scale > 0, edge_scale, 1.0), stored.edge_attr)
        assert torch.allclose(batch.bias[k * nodes : (k + 1) * nodes] * torch.where(node_scale > 0, node_scale, 1.0),
                              stored.x[:, 0])  # fmt: skip
        assert torch.equal(batch.edge_index[:, k * edges : (k + 1) * edges], stored.edge_index + k * nodes)
    half = batch.edge_index.shape[1] // 2
    assert torch.equal(batch.edge_index[:, half:], batch.edge_index[:, :half].flip(0))
    assert torch.equal(batch.edge_type[half:], batch.edge_type[:half] + len(EDGE_KINDS))
    assert batch.index[:nodes].tolist() == [*range(64), *range(16), *range(10)]  # inputs, hidden ranks, outputs
