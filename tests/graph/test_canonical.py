"""Canonical form: networks that differ by a hidden-neuron symmetry give one graph, and the graph is the network.

Properties checked over random architectures (hypothesis) and random weights:
- a network and any hidden-neuron permutation of it (plus positive rescaling where the modules allow it, plus
  sign flips where they allow it) give equal graphs: to 1e-6 in float64; in float32, to 1e-6 relative to each
  value (the weights themselves carry float32 rounding of the rescaling, about 1e-7 relative);
- `from_graph(to_graph(m))` computes the same function as m, to 1e-5;
- a permutation-equivariant GNN with invariant pooling gives the same embedding for both.
"""

from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch_geometric.data import Data
from torch_geometric.nn import GINEConv, global_add_pool

from graphspace.graph import from_graph, to_graph
from tests.symmetries import symmetric_copy

ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.1),
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "identity": nn.Identity,
}
Case = tuple[nn.Sequential, tuple[int, ...]]  # a model and the shape of one input


@st.composite
def mlps(draw: st.DrawFn) -> Case:
    widths = draw(st.lists(st.integers(1, 6), min_size=2, max_size=5))
    activation = ACTIVATIONS[draw(st.sampled_from(sorted(ACTIVATIONS)))]
    layers: list[nn.Module] = []
    for i in range(len(widths) - 1):
        layers.append(nn.Linear(widths[i], widths[i + 1], bias=draw(st.booleans())))
        if i < len(widths) - 2:
            layers += [activation(), nn.Dropout(0.2)]
    return nn.Sequential(*layers), (widths[0],)


@st.composite
def cnns(draw: st.DrawFn) -> Case:
    channels = input_channels = draw(st.integers(1, 3))
    size = input_size = draw(st.integers(6, 11))
    activation = ACTIVATIONS[draw(st.sampled_from(sorted(ACTIVATIONS)))]
    layers: list[nn.Module] = []
    for i in range(draw(st.integers(1, 3))):
        out, kernel = draw(st.integers(1, 5)), draw(st.integers(1, 3))
        stride, padding = draw(st.integers(1, 2)), draw(st.integers(0, 1))
        if i > 0 and (size + 2 * padding - kernel) // stride + 1 < 2:
            break
        layers.append(nn.Conv2d(channels, out, kernel, stride, padding, bias=draw(st.booleans())))
        size = (size + 2 * padding - kernel) // stride + 1
        pool = draw(st.sampled_from(["none", "max", "avg"]))
        if pool != "none" and size >= 2:
            layers.append(nn.MaxPool2d(2) if pool == "max" else nn.AvgPool2d(2))
            size //= 2
        layers.append(activation())
        channels = out
    if draw(st.booleans()):
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        features = channels
    else:
        layers.append(nn.Flatten())
        features = channels * size * size
    for width in draw(st.lists(st.integers(1, 6), max_size=2)):
        layers += [nn.Linear(features, width), activation()]
        features = width
    layers.append(nn.Linear(features, draw(st.integers(1, 4))))
    return nn.Sequential(*layers), (input_channels, input_size, input_size)


networks = st.one_of(mlps(), cnns())


def _randomize(model: nn.Module, seed: int, dtype: torch.dtype = torch.float32) -> nn.Module:
    model = model.to(dtype)
    """Random weights at the scale of trained networks: N(0, 1/fan_in) weights and N(0, 0.1) biases, so
    outputs are of order 1."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            std = 0.1 if p.dim() == 1 else p[0].numel() ** -0.5
            p.copy_(torch.randn(p.shape, generator=generator, dtype=torch.float64) * std)
    return model.eval()


def _inputs(input_shape: tuple[int, ...], seed: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.randn(16, *input_shape, generator=torch.Generator().manual_seed(seed + 1), dtype=dtype)


@settings(max_examples=150, deadline=None)
@given(case=networks, seed=st.integers(0, 2**31 - 1), dtype=st.sampled_from([torch.float32, torch.float64]))
def test_symmetric_networks_give_equal_graphs(case: Case, seed: int, dtype: torch.dtype) -> None:
    model, input_shape = case
    model = _randomize(model, seed, dtype)
    other = symmetric_copy(model, input_shape, seed)
    x = _inputs(input_shape, seed, dtype)
    with torch.no_grad():
        assert torch.allclose(model(x), other(x), atol=1e-4, rtol=1e-4), "the test's symmetry changed the function"
    graph, other_graph = to_graph(model, input_shape), to_graph(other, input_shape)
    assert torch.equal(graph.edge_index, other_graph.edge_index)
    relative = 1e-6 if dtype == torch.float32 else 0.0
    for name in ("x", "edge_attr"):
        ours, theirs = graph[name], other_graph[name]
        assert ((ours - theirs).abs() <= 1e-6 + relative * theirs.abs()).all(), name


@settings(max_examples=150, deadline=None)
@given(case=networks, seed=st.integers(0, 2**31 - 1), dtype=st.sampled_from([torch.float32, torch.float64]))
def test_from_graph_computes_the_same_function(case: Case, seed: int, dtype: torch.dtype) -> None:
    model, input_shape = case
    model = _randomize(model, seed, dtype)
    rebuilt = from_graph(to_graph(model, input_shape))
    x = _inputs(input_shape, seed, dtype)
    with torch.no_grad():
        assert (rebuilt(x) - model(x)).abs().max() <= (1e-5 if dtype == torch.float32 else 1e-12)
    assert not rebuilt.training


class _Embedder(nn.Module):
    """A small permutation-equivariant GNN (GINE layers over edge weights) with sum pooling."""

    def __init__(self, edge_width: int, hidden: int = 16) -> None:
        super().__init__()
        self.layer = nn.Embedding(16, hidden)
        self.position = nn.Embedding(17, hidden)  # position + 1: hidden nodes (-1) get their own row
        self.bias = nn.Linear(1, hidden)
        self.convs = nn.ModuleList([GINEConv(nn.Linear(hidden, hidden), edge_dim=edge_width) for _ in range(2)])

    def forward(self, data: Data) -> torch.Tensor:
        h = self.bias(data.x) + self.layer(data.layer) + self.position(data.position + 1)
        for conv in self.convs:
            h = torch.tanh(conv(h, data.edge_index, data.edge_attr))
        return global_add_pool(h, torch.zeros(h.shape[0], dtype=torch.long))


@settings(max_examples=40, deadline=None)
@given(case=networks, seed=st.integers(0, 2**31 - 1))
def test_a_gnn_embeds_symmetric_networks_identically(case: Case, seed: int) -> None:
    model, input_shape = case
    model = _randomize(model, seed)
    graph = to_graph(model, input_shape, grid=(3, 3) if len(input_shape) == 1 else None)
    other = to_graph(symmetric_copy(model, input_shape, seed), input_shape, grid=graph.grid)
    torch.manual_seed(0)
    embedder = _Embedder(graph.edge_attr.shape[1])
    with torch.no_grad():
        embedding = embedder(graph)
        assert torch.allclose(embedder(other), embedding, atol=1e-5)
        # and the GNN alone is invariant too: renumbering the nodes of a graph leaves its embedding unchanged
        renumber = torch.randperm(graph.num_nodes, generator=torch.Generator().manual_seed(seed))
        shuffled = Data(
            x=graph.x[renumber],
            layer=graph.layer[renumber],
            position=graph.position[renumber],
            edge_index=renumber.argsort()[graph.edge_index],
            edge_attr=graph.edge_attr,
        )
        assert torch.allclose(embedder(shuffled), embedding, atol=1e-4)


@pytest.mark.parametrize("activation", [nn.ReLU, nn.Tanh])
def test_dead_and_duplicate_neurons_are_ordered_whatever_their_input_order(activation: type[nn.Module]) -> None:
    model = _randomize(nn.Sequential(nn.Linear(3, 4), activation(), nn.Linear(4, 2)), 0)
    with torch.no_grad():
        model[0].weight[1:3] = 0.0  # two dead neurons with different outgoing weights
        model[0].bias[1:3] = 0.0
        model[0].weight[3] = model[0].weight[0]  # a duplicate of neuron 0 ...
        model[0].bias[3] = model[0].bias[0]
    graphs = []
    for order in ([0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2]):
        permuted = copy.deepcopy(model)
        with torch.no_grad():
            permuted[0].weight.copy_(model[0].weight[order])
            permuted[0].bias.copy_(model[0].bias[order])
            permuted[2].weight.copy_(model[2].weight[:, order])
        graphs.append(to_graph(permuted))
    for graph in graphs[1:]:
        assert torch.equal(graph.edge_attr, graphs[0].edge_attr) and torch.equal(graph.x, graphs[0].x)
