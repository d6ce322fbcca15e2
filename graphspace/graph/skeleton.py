"""The weight-free part of a neuron-edge graph, and the flat feature layout that fills it.

Nodes are numbered layer by layer: the input neurons (layer 0), then the output neurons of each weight layer.
Edges are numbered layer by layer and, within a layer, target-major: edge (i -> j) of a layer with `inputs`
neurons is number j * inputs + i, so a weight tensor (outputs, inputs, grid) flattened row-major lists the
edges in order. A model's *features* are one flat vector: the bias of every non-input node in node order,
then the weights of every edge in edge order, each edge's grid flattened row-major. It has exactly as many
values as the model has parameters (biases of bias-free layers count as zeros), and it is what a store keeps
per checkpoint.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from graphspace.graph.network import EDGE_KINDS, Layer


@dataclass(frozen=True, eq=False)
class Skeleton:
    """Edges, node roles and the feature layout of one structure, for edge grids padded to `grid`.

    Attributes:
        edge_index: (2, E) source and target node of every edge.
        node_layer: (N,) 0 for inputs, k for the outputs of weight layer k.
        node_position: (N,) index among the inputs or the outputs; -1 for hidden nodes.
        edge_kind: (E,) code of the edge's layer kind (`EDGE_KINDS`).
        edge_slots: (weights,) where each edge weight of the features sits in the flattened (E, grid) edge_attr.
        inputs: number of input nodes (they have no bias in the features).
    """

    layers: tuple[Layer, ...]
    grid: tuple[int, int]
    edge_index: torch.Tensor
    node_layer: torch.Tensor
    node_position: torch.Tensor
    edge_kind: torch.Tensor
    edge_slots: torch.Tensor
    inputs: int

    @property
    def num_nodes(self) -> int:
        """N."""
        return int(self.node_layer.numel())

    @property
    def num_edges(self) -> int:
        """E."""
        return int(self.edge_kind.numel())

    @property
    def num_features(self) -> int:
        """Length of a model's feature vector (= its parameter count)."""
        return self.num_nodes - self.inputs + int(self.edge_slots.numel())

    def edge_attr(self, features: torch.Tensor) -> torch.Tensor:
        """(..., E, grid height * width) padded edge weights from (..., F) features."""
        batch = features.shape[:-1]
        flat = features.new_zeros(*batch, self.num_edges * self.grid[0] * self.grid[1])
        flat[..., self.edge_slots] = features[..., self.num_nodes - self.inputs :]
        return flat.reshape(*batch, self.num_edges, self.grid[0] * self.grid[1])

    def node_bias(self, features: torch.Tensor) -> torch.Tensor:
        """(..., N) node biases (0 for inputs) from (..., F) features."""
        zeros = features.new_zeros(*features.shape[:-1], self.inputs)
        return torch.cat([zeros, features[..., : self.num_nodes - self.inputs]], dim=-1)

    def features(self, node_bias: torch.Tensor, edge_attr: torch.Tensor) -> torch.Tensor:
        """(..., F) features from (..., N) node biases and (..., E, grid) padded edge weights."""
        edges = edge_attr.flatten(-2)[..., self.edge_slots]
        return torch.cat([node_bias[..., self.inputs :], edges], dim=-1)


@functools.cache
def skeleton(layers: tuple[Layer, ...], grid: tuple[int, int] | None = None) -> Skeleton:
    """The skeleton of a structure's weight layers, edge grids padded (centered) to `grid` (default: the
    largest grid of the layers).

    Raises:
        ValueError: a layer's grid does not fit in `grid`.
    """
    grid = grid or (max(la.grid[0] for la in layers), max(la.grid[1] for la in layers))
    widths = [layers[0].inputs, *(layer.outputs for layer in layers)]
    offsets = torch.tensor([0, *widths]).cumsum(0)
    node_layer = torch.cat([torch.full((w,), k) for k, w in enumerate(widths)])
    node_position = torch.full((int(offsets[-1]),), -1)
    node_position[: widths[0]] = torch.arange(widths[0])
    node_position[int(offsets[-2]) :] = torch.arange(widths[-1])
    sources, targets, kinds, slots = [], [], [], []
    edges_before = 0
    for k, layer in enumerate(layers):
        if layer.grid[0] > grid[0] or layer.grid[1] > grid[1]:
            raise ValueError(f"layer {k} has {layer.grid} edge grids, larger than the graph's {grid}")
        target, source = torch.meshgrid(torch.arange(layer.outputs), torch.arange(layer.inputs), indexing="ij")
        sources.append(source.flatten() + offsets[k])
        targets.append(target.flatten() + offsets[k + 1])
        count = layer.outputs * layer.inputs
        kinds.append(torch.full((count,), EDGE_KINDS.index(layer.kind)))
        top, left = (grid[0] - layer.grid[0]) // 2, (grid[1] - layer.grid[1]) // 2
        rows, columns = torch.meshgrid(torch.arange(layer.grid[0]), torch.arange(layer.grid[1]), indexing="ij")
        within = ((rows + top) * grid[1] + columns + left).flatten()  # (grid_size,) positions inside one edge
        edge = torch.arange(edges_before, edges_before + count)
        slots.append((edge[:, None] * grid[0] * grid[1] + within[None, :]).flatten())
        edges_before += count
    return Skeleton(
        layers=layers,
        grid=grid,
        edge_index=torch.stack([torch.cat(sources), torch.cat(targets)]),
        node_layer=node_layer,
        node_position=node_position,
        edge_kind=torch.cat(kinds),
        edge_slots=torch.cat(slots),
        inputs=widths[0],
    )


def layer_parameters(
    layers: Sequence[Layer], state: Mapping[str, torch.Tensor]
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Per layer, (B, outputs, inputs, grid_size) weights and (B, outputs) biases from a state dict whose
    tensors have a leading model axis of size B."""
    weights, biases = [], []
    for layer in layers:
        weight = state[f"{layer.module}.weight"]
        batch = weight.shape[0]
        weights.append(weight.reshape(batch, layer.outputs, layer.inputs, layer.grid_size))
        bias = state.get(f"{layer.module}.bias")
        biases.append(bias if bias is not None else weight.new_zeros(batch, layer.outputs))
    return weights, biases


def load_layer_parameters(
    model: nn.Sequential, layers: Sequence[Layer], weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor]
) -> None:
    """Copy one model's per-layer (1, out, in, grid) weights and (1, out) biases into `model`, in place."""
    with torch.no_grad():
        for layer, weight, bias in zip(layers, weights, biases, strict=True):
            module = model[layer.module]
            module.weight.copy_(weight[0].reshape(module.weight.shape))
            if module.bias is not None:
                module.bias.copy_(bias[0])


def to_features(weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor]) -> torch.Tensor:
    """(B, F) features from per-layer (B, out, in, grid) weights and (B, out) biases."""
    batch = weights[0].shape[0]
    return torch.cat([*biases, *(w.reshape(batch, -1) for w in weights)], dim=1)


def from_features(layers: Sequence[Layer], features: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Per-layer weights and biases from (B, F) features (the inverse of `to_features`)."""
    sizes = [la.outputs for la in layers] + [la.outputs * la.inputs * la.grid_size for la in layers]
    parts = features.split(sizes, dim=1)
    biases = list(parts[: len(layers)])
    weights = [
        part.reshape(-1, la.outputs, la.inputs, la.grid_size)
        for part, la in zip(parts[len(layers) :], layers, strict=True)
    ]
    return weights, biases
