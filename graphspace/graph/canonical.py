"""Canonical form of a network's weights under its hidden-neuron symmetries, for many models at once.

The rule, applied to the hidden layers from the first to the last (the input and output neurons are never
moved), each neuron j of the layer having an incoming vector r_j = (bias_j, incoming weights of j in the order
of the already canonical previous layer, each edge's grid flattened row-major):

1. **Scale** (when every module up to the next weight layer commutes with positive scaling: ReLU, LeakyReLU,
   max/avg pooling, dropout, flatten): r_j is divided by its L2 norm s_j and j's outgoing weights are
   multiplied by s_j. A dead neuron (s_j = 0) computes 0 whatever its outgoing weights are; they become 0.
2. **Sign** (when every such module commutes with negation: Tanh, avg pooling, dropout, flatten): r_j and j's
   outgoing weights are negated if the entry of r_j with the largest magnitude (the first one on a tie) is
   negative.
3. **Order**: the neurons are sorted by the L1 norm of r_j, largest first. When two norms are equal (to a
   relative 1e-9, so float64 rounding of equal values cannot decide; in practice: identical, dead or
   symmetric neurons), that model's layer is ordered lexicographically by (-norm, -r_j, -(j's outgoing weights
   sorted from the largest)), every value rounded to 9 decimals, and then by current position.

Every step leaves the network's function unchanged, and two networks that differ by a permutation of hidden
neurons, a positive rescaling (where allowed) or sign flips (where allowed) reach the same weights: up to
float64 rounding when rescaled, exactly otherwise. The only networks where the result still depends on the
input's neuron order are those with two neurons of one layer that tie in all three keys but differ in how
their outgoing weights are assigned to the next layer's neurons.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from graphspace.graph.network import Layer

TIE = 1e-9  # relative difference of two neurons' keys below which they count as equal


def canonicalize(
    layers: Sequence[Layer], weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor]
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """The canonical form of a batch of models of one structure.

    Args:
        layers: the weight layers (`Network.layers()`), whose `symmetries` say what each hidden layer allows.
        weights: per layer, a (B, outputs, inputs, grid_size) tensor.
        biases: per layer, a (B, outputs) tensor (zeros for a layer without bias).

    Returns:
        New weights and biases of the same shapes and dtype, computed in float64.
    """
    dtype = weights[0].dtype
    weights = [w.to(torch.float64, copy=True) for w in weights]
    biases = [b.to(torch.float64, copy=True) for b in biases]
    for index, layer in enumerate(layers[:-1]):
        following = index + 1
        factor = _normalizer(_incoming(weights, biases, index), layer.symmetries)  # (B, out)
        safe = torch.where(factor != 0, factor, torch.ones_like(factor))
        weights[index] /= safe[:, :, None, None]
        biases[index] /= safe
        weights[following] *= factor[:, None, :, None]
        # the outgoing weights as the next layer's own normalization will leave them (for breaking ties)
        after = _normalizer(_incoming(weights, biases, following), layers[following].symmetries)
        after = torch.where(after != 0, after, torch.ones_like(after))
        order = _order(_incoming(weights, biases, index), weights[following] / after[:, :, None, None])
        weights[index] = weights[index].gather(1, order[:, :, None, None].expand_as(weights[index]))
        biases[index] = biases[index].gather(1, order)
        weights[following] = weights[following].gather(2, order[:, None, :, None].expand_as(weights[following]))
    return [w.to(dtype) for w in weights], [b.to(dtype) for b in biases]


def _normalizer(incoming: torch.Tensor, symmetries: frozenset[str]) -> torch.Tensor:
    """(B, out) the factor each neuron is divided by (and its outgoing weights multiplied by): its incoming
    vector's L2 norm (scale), times the sign of its largest-magnitude entry (sign); 1 where neither applies."""
    factor = torch.ones(incoming.shape[:2], dtype=incoming.dtype)
    if "scale" in symmetries:
        factor = incoming.norm(dim=2)
    if "sign" in symmetries:
        largest = incoming.gather(2, incoming.abs().argmax(2, keepdim=True)).squeeze(2)
        factor = torch.where(largest < 0, -factor, factor)
    return factor


def _incoming(weights: list[torch.Tensor], biases: list[torch.Tensor], index: int) -> torch.Tensor:
    """(B, out, 1 + inputs * grid): each neuron's bias and incoming weights."""
    return torch.cat([biases[index][:, :, None], weights[index].flatten(2)], dim=2)


def _order(incoming: torch.Tensor, outgoing: torch.Tensor) -> torch.Tensor:
    """(B, out) permutation sorting each model's neurons by decreasing L1 norm of their incoming vector,
    equal norms broken by the incoming vector, then the sorted outgoing weights (see the module docstring)."""
    key = incoming.abs().sum(2)  # (B, out)
    order = torch.argsort(key, dim=1, descending=True, stable=True)
    sorted_key = key.gather(1, order)
    gap = sorted_key[:, :-1] - sorted_key[:, 1:]
    tied = (gap <= TIE * sorted_key[:, :-1].clamp(min=1.0)).any(1).nonzero().flatten().tolist()
    for model in tied:
        order[model] = _lexicographic(key[model], incoming[model], outgoing[model])
    return order


def _lexicographic(key: torch.Tensor, incoming: torch.Tensor, outgoing: torch.Tensor) -> torch.Tensor:
    """One model's full ordering: by -key, then -incoming entries, then -sorted outgoing weights."""
    out_sorted = outgoing.transpose(0, 1).flatten(1).sort(dim=1, descending=True).values  # (out, next * grid)
    columns = torch.cat([-key[:, None], -incoming, -out_sorted], dim=1).numpy().round(9)
    return torch.from_numpy(np.lexsort(columns.T[::-1]).astype(np.int64))
