"""`to_graph` / `from_graph`: a torch model and its canonical neuron-edge graph, both ways.

A graph is a `torch_geometric.data.Data` with:
    x:             (N, 1) float, the node's bias (0 for input nodes)
    layer:         (N,) long, 0 for inputs, k for the outputs of the k-th Linear/Conv2d
    position:      (N,) long, index among the inputs or among the outputs; -1 for hidden nodes
    edge_index:    (2, E) long, from a neuron of one layer to a neuron of the next
    edge_attr:     (E, H * W) float, the edge's weight: a scalar, a conv kernel or a flattened feature map's
                   spatial weights, zero-padded and centered in an H x W grid, flattened row-major
    edge_kind:     (E,) long, 0 linear, 1 conv, 2 flatten (conv feature map -> linear unit)
    grid:          (H, W)
    network:       the `Network` (module structure) that `from_graph` rebuilds
Hidden neurons are in canonical order (see `graphspace.graph.canonical`).
"""

from __future__ import annotations

from collections.abc import Mapping

import networkx as nx
import torch
from torch import nn
from torch_geometric.data import Batch, Data
from torch_geometric.utils import to_networkx as pyg_to_networkx

from graphspace.errors import GraphError
from graphspace.graph.canonical import canonicalize
from graphspace.graph.network import Network
from graphspace.graph.skeleton import (
    Skeleton,
    from_features,
    layer_parameters,
    load_layer_parameters,
    skeleton,
    to_features,
)

CACHE_FLOATS = 2**18  # parameters canonicalized per call (2 MB in float64)


def to_graph(model: nn.Module, input_shape: tuple[int, ...] | None = None, grid: tuple[int, int] | None = None) -> Data:
    """The canonical neuron-edge graph of `model`, an `nn.Sequential` of supported modules.

    Args:
        model: the network; its parameters are read, not changed.
        input_shape: shape of one input (e.g. (1, 28, 28)); needed only when a conv's feature map is flattened
            into a Linear and is not square.
        grid: (H, W) that every edge's weights are padded to (default: the model's largest kernel or map).

    Raises:
        GraphError: an unsupported module, or a grid too small for the model.
    """
    network = Network.of(model, input_shape)
    state = {name: p.detach()[None] for name, p in model.state_dict().items()}
    try:
        shape = skeleton(network.layers(), tuple(grid) if grid is not None else None)
    except ValueError as error:
        raise GraphError(f"to_graph: {error}.") from None
    return graph(shape, network, canonical_features(network, state)[0])


def canonical_features(network: Network, state: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """(B, F) canonical features (see `graphspace.graph.skeleton`) of B models of one structure, from a state
    dict whose tensors have a leading model axis."""
    layers = network.layers()
    weights, biases = layer_parameters(layers, state)
    parameters = sum(w[0].numel() for w in weights)
    chunk = max(1, CACHE_FLOATS // parameters)  # models per call: float64 copies that stay in cache
    parts = [
        to_features(*canonicalize(layers, [w[i : i + chunk] for w in weights], [b[i : i + chunk] for b in biases]))
        for i in range(0, len(weights[0]), chunk)
    ]
    return torch.cat(parts)


def graph(shape: Skeleton, network: Network, features: torch.Tensor) -> Data:
    """The graph of one model from its skeleton, structure and (F,) canonical features."""
    return Data(
        x=shape.node_bias(features)[:, None],
        layer=shape.node_layer,
        position=shape.node_position,
        edge_index=shape.edge_index,
        edge_attr=shape.edge_attr(features),
        edge_kind=shape.edge_kind,
        grid=shape.grid,
        network=network,
        num_nodes=shape.num_nodes,
    )


def from_graph(data: Data) -> nn.Sequential:
    """The runnable torch model (eval mode, the graph's dtype) of a neuron-edge graph.

    Raises:
        GraphError: not a graph of `to_graph` or the store, or its node or edge counts do not match its network.
    """
    if isinstance(data, Batch):
        raise GraphError(
            f"from_graph: takes one graph, not a batch of {data.num_graphs}; "
            "use [from_graph(g) for g in batch.to_data_list()]."
        )
    if not isinstance(data, Data) or "network" not in data or "grid" not in data:
        raise GraphError(
            f"from_graph: needs a neuron-edge graph (a Data from to_graph or Store.graph, which carries its network "
            f"and grid); got {type(data).__name__}."
        )
    layers = data.network.layers()
    shape = skeleton(layers, tuple(data.grid))
    if data.x.shape[0] != shape.num_nodes or data.edge_attr.shape != (shape.num_edges, shape.grid[0] * shape.grid[1]):
        raise GraphError(
            f"from_graph: the graph has {data.x.shape[0]} nodes and edge features {tuple(data.edge_attr.shape)}, "
            f"but its network needs {shape.num_nodes} nodes and ({shape.num_edges}, {shape.grid[0] * shape.grid[1]})."
        )
    features = shape.features(data.x[:, 0], data.edge_attr)
    weights, biases = from_features(layers, features[None])
    model = data.network.build().to(features.dtype)
    load_layer_parameters(model, layers, weights, biases)
    return model


def to_networkx(data: Data) -> nx.DiGraph:
    """The graph as a networkx DiGraph: node attributes bias, layer, position; edge attributes weight (a list,
    the padded grid) and kind."""
    view = Data(
        edge_index=data.edge_index,
        bias=data.x[:, 0],
        layer=data.layer,
        position=data.position,
        weight=data.edge_attr,
        kind=data.edge_kind,
        num_nodes=data.num_nodes,
    )
    return pyg_to_networkx(view, node_attrs=["bias", "layer", "position"], edge_attrs=["weight", "kind"])
