"""Mixed-architecture batches of neuron-edge graphs, built straight from canonical feature rows.

Graphs of one architecture share their skeleton, so a batch is assembled with a few tensor ops per
architecture instead of collating `Data` objects one by one (see `graphspace.store.Store.graphs` for that
path). Every edge is present in both directions: the reverse edge carries the same weights and its own
kind, so messages flow forward and backward through the network.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from graphspace.graph.network import EDGE_KINDS
from graphspace.learn.examples import Examples

EDGE_TYPES = 2 * len(EDGE_KINDS)  # each kind forward, then each kind reversed


@dataclass(frozen=True, eq=False)
class GraphBatch:
    """Graphs of several models, node and edge features normalized per parameter group.

    Shapes: N nodes and E edges in total (reverse edges included), B graphs, G = grid height * width.

    Attributes:
        bias: (N,) normalized node bias (0 for inputs).
        layer: (N,) layer of each node.
        index: (N,) index within the layer (position of an input or output, canonical rank if hidden).
        role: (N,) index into `examples.ROLES` (0 input, 1 hidden, 2 output).
        edge_index: (2, E) source and target nodes.
        edge_attr: (E, G) normalized, padded edge weights.
        edge_type: (E,) kind code, plus len(EDGE_KINDS) for reverse edges.
        batch: (N,) graph of each node.
        num_graphs: B.
    """

    bias: torch.Tensor
    layer: torch.Tensor
    index: torch.Tensor
    role: torch.Tensor
    edge_index: torch.Tensor
    edge_attr: torch.Tensor
    edge_type: torch.Tensor
    batch: torch.Tensor
    num_graphs: int


def architecture_order(examples: Examples, rows: torch.Tensor) -> torch.Tensor:
    """`rows` reordered so that rows of one architecture are adjacent (stable): the order batches use."""
    return rows[torch.argsort(examples.architecture[rows], stable=True)]


def graph_batch(examples: Examples, rows: torch.Tensor, features: list[torch.Tensor] | None = None) -> GraphBatch:
    """The graphs of `rows` (already in `architecture_order`) as one batch.

    Args:
        examples: the zoo.
        rows: example rows, adjacent per architecture.
        features: per architecture present in `rows` (in order of appearance), (rows of it, F) *normalized*
            features to use instead of the stored ones (e.g. a decoder's output).
    """
    parts, nodes_before, graphs_before = [], 0, 0
    for n, (k, at) in enumerate(architecture_runs(examples, rows)):
        arch = examples.architectures[k]
        shape = arch.skeleton
        normalized = features[n] if features is not None else examples.raw_features(at) / arch.scale
        count = len(at)
        edges = repeated_edges(shape.edge_index, count, shape.num_nodes, nodes_before)  # (2, b*E)
        edge_attr = shape.edge_attr(normalized).reshape(-1, shape.grid[0] * shape.grid[1])
        parts.append(
            (
                shape.node_bias(normalized).reshape(-1),
                shape.node_layer.repeat(count),
                arch.node_index.repeat(count),
                arch.node_role.repeat(count),
                edges,
                edge_attr,
                shape.edge_kind.repeat(count),
                (graphs_before + torch.arange(count)).repeat_interleave(shape.num_nodes),
            )
        )
        nodes_before += count * shape.num_nodes
        graphs_before += count
    columns = list(zip(*parts, strict=True))
    edges = torch.cat(columns.pop(4), dim=1)  # (2, E): edges run along the second dimension
    bias, layer, index, role, edge_attr, kind, batch = (torch.cat(column) for column in columns)
    return GraphBatch(
        bias=bias,
        layer=layer,
        index=index,
        role=role,
        edge_index=torch.cat([edges, edges.flip(0)], dim=1),
        edge_attr=torch.cat([edge_attr, edge_attr]),
        edge_type=torch.cat([kind, kind + len(EDGE_KINDS)]),
        batch=batch,
        num_graphs=graphs_before,
    )


def repeated_edges(edge_index: torch.Tensor, count: int, nodes: int, first: int = 0) -> torch.Tensor:
    """(2, count * E) the edges of `count` copies of one graph of `nodes` nodes, numbered from node `first` on."""
    offsets = first + torch.arange(count) * nodes  # (count,)
    return (edge_index[None] + offsets[:, None, None]).transpose(0, 1).reshape(2, -1)


def architecture_runs(examples: Examples, rows: torch.Tensor) -> Iterator[tuple[int, torch.Tensor]]:
    """(architecture index, its rows) for each run of adjacent rows of one architecture."""
    keys, counts = torch.unique_consecutive(examples.architecture[rows], return_counts=True)
    yield from zip(keys.tolist(), rows.split(counts.tolist()), strict=True)
