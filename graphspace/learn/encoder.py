"""The weight encoder: edge-aware message passing over neuron-edge graphs, pooled to one embedding per model."""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.utils import scatter

from graphspace.graph.network import EDGE_KINDS
from graphspace.learn.batch import EDGE_TYPES, GraphBatch
from graphspace.learn.examples import ROLES
from graphspace.learn.messages import MeanMessages

MAX_LAYERS = 64  # layer indices a model may have
MAX_INDEX = 1024  # node indices within a layer that get their own embedding (larger ones share the last)
LAYER_STATISTICS = 7  # per layer: incoming weights' mean, std, mean |w|, max |w|, share of zeros; biases' mean, std


def layer_statistics(graphs: GraphBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Statistics of every (graph, layer) that has incoming edges: of its incoming (normalized, padded) weights,
    mean, std, mean and max of |w| and the share of zeros (pruned weights, and the padding, which is the same for
    every graph of an architecture), and of its nodes' biases, mean and std. Sums over a layer's weights do not
    depend on the order of its neurons, so the statistics keep the encoder invariant.

    Shapes:
        -> statistics (S, LAYER_STATISTICS), graph (S,), layer (S,) for the S (graph, layer) pairs
    """
    forward = graphs.edge_type < len(EDGE_KINDS)  # each weight once, at the layer it feeds
    target = graphs.edge_index[1, forward]
    weights = graphs.edge_attr[forward]  # (E', G)
    layer_key = graphs.batch * MAX_LAYERS + graphs.layer.clamp_max(MAX_LAYERS - 1)  # (N,)
    keys, group = torch.unique(layer_key[target], return_inverse=True)
    count = scatter(torch.full_like(weights[:, 0], weights.shape[1]), group, reduce="sum")
    mean = scatter(weights.sum(1), group, reduce="sum") / count
    square = scatter((weights**2).sum(1), group, reduce="sum") / count
    magnitude = scatter(weights.abs().sum(1), group, reduce="sum") / count
    largest = scatter(weights.abs().amax(1), group, reduce="max")
    zeros = scatter((weights == 0).float().sum(1), group, reduce="sum") / count
    nodes = torch.searchsorted(keys, layer_key).clamp_max(len(keys) - 1)
    fed = keys[nodes] == layer_key  # nodes of a layer with incoming edges
    bias_mean = scatter(graphs.bias[fed], nodes[fed], dim_size=len(keys), reduce="mean")
    bias_square = scatter(graphs.bias[fed] ** 2, nodes[fed], dim_size=len(keys), reduce="mean")
    spread = (square - mean**2).clamp_min(0).sqrt()
    bias_spread = (bias_square - bias_mean**2).clamp_min(0).sqrt()
    statistics = torch.stack([mean, spread, magnitude, largest, zeros, bias_mean, bias_spread], dim=1)
    return statistics, keys // MAX_LAYERS, keys % MAX_LAYERS


def pool_nodes(states: torch.Tensor, graphs: GraphBatch) -> torch.Tensor:
    """Each graph's mean node state beside the mean state of its output nodes.

    Shapes:
        states (N, W) -> (B, 2 * W)
    """
    everything = scatter(states, graphs.batch, dim=0, dim_size=graphs.num_graphs, reduce="mean")
    output = graphs.role == ROLES.index("output")
    outputs = scatter(states[output], graphs.batch[output], dim=0, dim_size=graphs.num_graphs, reduce="mean")
    return torch.cat([everything, outputs], dim=1)


def output_profile(graphs: GraphBatch, classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Each graph's output biases at the class each output predicts, centred on the graph's mean output bias (a
    shift shared by all outputs changes no prediction): which classes a network favors, and how strongly.
    Outputs past `classes` are left out.

    Shapes:
        -> profile (B, classes, 1), present (B, classes): 1 where the graph has that output
    """
    output = (graphs.role == ROLES.index("output")) & (graphs.index < classes)
    bias, graph, slot = graphs.bias[output], graphs.batch[output], graphs.index[output]
    mean = scatter(bias, graph, dim_size=graphs.num_graphs, reduce="mean")
    profile = bias.new_zeros(graphs.num_graphs, classes, 1)
    profile[graph, slot, 0] = bias - mean[graph]
    present = bias.new_zeros(graphs.num_graphs, classes)
    present[graph, slot] = 1.0
    return profile, present


def mlp(*widths: int) -> nn.Sequential:
    """Linear layers of these widths with SiLU between them (none after the last)."""
    layers: list[nn.Module] = []
    for i in range(len(widths) - 1):
        layers.append(nn.Linear(widths[i], widths[i + 1]))
        if i < len(widths) - 2:
            layers.append(nn.SiLU())
    return nn.Sequential(*layers)


class NodeSlots(nn.Module):
    """An embedding of where a node sits: its layer, its index within the layer and its role.

    In a canonical graph a hidden node's index is its canonical rank, which depends only on the network's
    function class, not on how its neurons happened to be ordered: so reading it keeps the embedding invariant
    to neuron permutations while letting it say which neuron is which.
    """

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.layer = nn.Embedding(MAX_LAYERS, hidden)
        self.index = nn.Embedding(MAX_INDEX, hidden)
        self.role = nn.Embedding(len(ROLES), hidden)

    def forward(self, layer: torch.Tensor, index: torch.Tensor, role: torch.Tensor) -> torch.Tensor:
        """(N, hidden) slot embeddings."""
        return (
            self.layer(layer.clamp_max(MAX_LAYERS - 1)) + self.index(index.clamp_max(MAX_INDEX - 1)) + self.role(role)
        )


class EdgeConv(nn.Module):
    r"""Message passing whose messages read both end nodes and the edge, with a residual update:

    .. math::
        m_{ij} = \sigma(A h_i + B h_j + e_{ij}), \qquad h_i' = h_i + \psi([\mathrm{LN}(h_i), \mathrm{mean}_j\, m_{ij}])

    The node terms are projected once per node, so an edge costs O(hidden), not O(hidden^2); the messages are
    a torch-geometric layer (`graphspace.learn.messages.MeanMessages`) that computes them a chunk of edges at a
    time.

    Args:
        hidden: width of node states and edge embeddings.

    Shapes:
        x (N, hidden), edge_index (2, E), edge_attr (E, hidden) -> (N, hidden)
    """

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.target = nn.Linear(hidden, hidden)
        self.source = nn.Linear(hidden, hidden, bias=False)
        self.update_mlp = mlp(2 * hidden, hidden, hidden)
        self.norm = nn.LayerNorm(hidden)
        self.messages = MeanMessages()

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor) -> torch.Tensor:
        normed = self.norm(x)
        aggregated = self.messages(self.target(normed), self.source(normed), edge_attr, edge_index)
        return x + self.update_mlp(torch.cat([normed, aggregated], dim=-1))


class WeightEncoder(nn.Module):
    """Neuron-edge graph -> one embedding per model (and a state per node).

    Args:
        grid: G, values per edge (grid height * width).
        hidden: width of node states.
        layers: message-passing layers.
        latent: embedding size.
        classes: C, class slots: the last C values of the embedding read the output biases class by class
            (`output_profile`) with one readout shared by all classes, so that a dataset's class profile can
            meet them class by class (see `graphspace.learn.conditions.DatasetEncoder`); 0 for none.

    Shapes:
        GraphBatch of B graphs -> (B, latent); node states (N, hidden)
    """

    def __init__(self, grid: int, hidden: int, layers: int, latent: int, classes: int = 0) -> None:
        super().__init__()
        self.classes = classes
        self.slots = NodeSlots(hidden)
        self.bias = nn.Linear(1, hidden)
        self.edge_weight = nn.Linear(grid, hidden)
        self.edge_type = nn.Embedding(EDGE_TYPES, hidden)
        self.convs = nn.ModuleList(EdgeConv(hidden) for _ in range(layers))
        self.readout = mlp(hidden, 4 * hidden)
        self.layer_readout = mlp(LAYER_STATISTICS, 4 * hidden)
        self.readout_layer = nn.Embedding(MAX_LAYERS, 4 * hidden)
        self.project = mlp(12 * hidden, 4 * hidden, latent - classes)
        if classes:
            self.class_readout = mlp(1, hidden, 1)

    def nodes(self, graphs: GraphBatch) -> torch.Tensor:
        """(N, hidden) node states after message passing."""
        h = self.slots(graphs.layer, graphs.index, graphs.role) + self.bias(graphs.bias[:, None])
        e = self.edge_weight(graphs.edge_attr) + self.edge_type(graphs.edge_type)
        for conv in self.convs:
            h = conv(h, graphs.edge_index, e)
        return h

    def forward(self, graphs: GraphBatch) -> torch.Tensor:
        """(B, latent) embeddings: node states read out and mean-pooled per graph, and over its output nodes
        alone, beside each layer's weight statistics read out (with the layer's embedding) and summed per graph;
        then the class slots, if any.

        The output nodes' own mean keeps the few output neurons, which say most directly what a network was
        trained to predict, from being averaged away among the many hidden ones."""
        pooled = pool_nodes(self.readout(self.nodes(graphs)), graphs)
        statistics, graph, layer = layer_statistics(graphs)
        per_layer = self.layer_readout(statistics) + self.readout_layer(layer)
        layers = scatter(per_layer, graph, dim=0, dim_size=graphs.num_graphs, reduce="sum")
        z = self.project(torch.cat([pooled, layers], dim=-1))
        if not self.classes:
            return z
        profile, present = output_profile(graphs, self.classes)
        return torch.cat([z, self.class_readout(profile)[..., 0] * present], dim=-1)
