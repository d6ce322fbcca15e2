"""The weight decoder: an embedding and an architecture's skeleton -> canonical features -> a runnable model."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from graphspace.learn.batch import EDGE_TYPES, repeated_edges
from graphspace.learn.encoder import EdgeConv, NodeSlots, mlp
from graphspace.learn.examples import Architecture
from graphspace.learn.memory import chunked, chunks


class WeightDecoder(nn.Module):
    """Decodes embeddings into the canonical features of one architecture.

    Every node of the skeleton starts from its slot (layer, index within the layer, role: in canonical order
    a hidden neuron's index is its rank, so each slot means the same neuron in every model) combined with the
    embedding and the activation; message passing over the skeleton lets neurons agree; each edge's weights
    are read from its two end nodes, each node's bias from the node.

    Args:
        grid: G, values per edge.
        hidden: width of node states.
        layers: message-passing layers over the skeleton.
        latent: embedding size.
        activations: number of activation functions the zoo uses.

    Shapes:
        z (B, latent), activation (B,) -> (B, F) normalized features of the architecture
    """

    def __init__(
        self,
        grid: int,
        hidden: int,
        layers: int,
        latent: int,
        activations: int,
        templates: dict[str, int],
    ) -> None:
        super().__init__()
        self.hidden = hidden
        self.slots = NodeSlots(hidden)
        self.activation = nn.Embedding(activations, latent)
        self.condition = mlp(latent, 2 * hidden, 2 * hidden)  # -> a scale and a shift of each slot
        self.start = mlp(hidden, hidden, hidden)
        self.edge_type = nn.Embedding(EDGE_TYPES, hidden)
        self.convs = nn.ModuleList(EdgeConv(hidden) for _ in range(layers))
        self.edge_source = nn.Linear(hidden, 2 * hidden)
        self.edge_target = nn.Linear(hidden, 2 * hidden, bias=False)
        self.edge_kind = nn.Embedding(EDGE_TYPES, 2 * hidden)
        self.edge_out = nn.Linear(2 * hidden, grid)
        self.bias_out = mlp(hidden, hidden, 1)
        for last in (self.edge_out, self.bias_out[-1]):  # start by decoding every model as its template
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
        self.templates = nn.ParameterDict(
            {key: nn.Parameter(torch.zeros(activations, features)) for key, features in templates.items()}
        )

    def forward(self, z: torch.Tensor, activation: torch.Tensor, architecture: Architecture) -> torch.Tensor:
        """(B, F) normalized features, decoded in chunks of bounded memory (`graphspace.learn.memory`)."""
        states = torch.full((len(z),), 2 * architecture.skeleton.num_edges * self.hidden)
        return chunked(lambda part: self._decode(z[part], activation[part], architecture), chunks(states))

    def _decode(self, z: torch.Tensor, activation: torch.Tensor, architecture: Architecture) -> torch.Tensor:
        shape = architecture.skeleton
        batch, nodes = z.shape[0], shape.num_nodes
        slots = self.slots(shape.node_layer, architecture.node_index, architecture.node_role)  # (N, H)
        scale, shift = self.condition(z + self.activation(activation)).chunk(2, dim=-1)  # (B, H) each
        h = self.start(slots[None] * (1 + scale[:, None]) + shift[:, None])  # (B, N, H)
        edge_index = torch.cat([shape.edge_index, shape.edge_index.flip(0)], dim=1)  # (2, 2E)
        batched_edges = repeated_edges(edge_index, batch, nodes)
        types = torch.cat([shape.edge_kind, shape.edge_kind + EDGE_TYPES // 2])
        e = self.edge_type(types).repeat(batch, 1)  # (B*2E, H)
        h = h.reshape(batch * nodes, -1)
        for conv in self.convs:
            h = conv(h, batched_edges, e)
        h = h.reshape(batch, nodes, -1)
        source, target = shape.edge_index
        pair = self.edge_source(h)[:, source] + self.edge_target(h)[:, target] + self.edge_kind(shape.edge_kind)
        edge_attr = self.edge_out(F.silu(pair))  # (B, E, G)
        bias = self.bias_out(h)[..., 0]  # (B, N)
        return self.templates[architecture.key][activation] + shape.features(bias, edge_attr)
