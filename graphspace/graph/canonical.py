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
   as the next layer's own normalization will leave them, sorted from the largest)), every value rounded to
   9 decimals, and then by current position.

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
        weight, bias, following = weights[index], biases[index], index + 1
        factor = _normalizer(weight, bias, layer.symmetries)  # (B, out)
        if factor is not None:
            weight /= _nonzero(factor)[:, :, None, None]
            bias /= _nonzero(factor)
            weights[following] *= factor[:, None, :, None]
        key = bias.abs() + torch.linalg.vector_norm(weight, 1, dim=(2, 3))  # (B, out) L1 norm of the incoming vector
        order = torch.argsort(key, dim=1, descending=True, stable=True)
        sorted_key = key.gather(1, order)
        gap = sorted_key[:, :-1] - sorted_key[:, 1:]
        for m in (gap <= TIE * sorted_key[:, :-1].clamp(min=1.0)).any(1).nonzero().flatten().tolist():
            # the outgoing weights as the next layer's own normalization will leave them
            after = _normalizer(
                weights[following][m : m + 1], biases[following][m : m + 1], layers[following].symmetries
            )
            outgoing = weights[following][m] / (_nonzero(after)[0, :, None, None] if after is not None else 1.0)
            incoming = torch.cat([bias[m][:, None], weight[m].flatten(1)], dim=1)
            order[m] = _lexicographic(key[m], incoming, outgoing)
        weights[index] = weight.gather(1, order[:, :, None, None].expand_as(weight))
        biases[index] = bias.gather(1, order)
        weights[following] = weights[following].gather(2, order[:, None, :, None].expand_as(weights[following]))
    return [w.to(dtype) for w in weights], [b.to(dtype) for b in biases]


def _normalizer(weight: torch.Tensor, bias: torch.Tensor, symmetries: frozenset[str]) -> torch.Tensor | None:
    """(B, out) the factor each neuron is divided by (and its outgoing weights multiplied by): the L2 norm of
    its incoming vector (scale), times the sign of that vector's largest-magnitude entry (sign); None when the
    layer has neither symmetry."""
    if not symmetries:
        return None
    factor = torch.ones_like(bias)
    if "scale" in symmetries:
        factor = torch.hypot(bias, torch.linalg.vector_norm(weight, 2, dim=(2, 3)))
    if "sign" in symmetries:
        flat = weight.flatten(2)
        largest = flat.gather(2, flat.abs().argmax(2, keepdim=True)).squeeze(2)
        largest = torch.where(bias.abs() >= largest.abs(), bias, largest)  # the bias is the vector's first entry
        factor = torch.where(largest < 0, -factor, factor)
    return factor


def _nonzero(factor: torch.Tensor) -> torch.Tensor:
    """The factor with zeros (dead neurons) replaced by 1: a dead neuron's incoming vector stays 0."""
    return torch.where(factor != 0, factor, torch.ones_like(factor))


def _lexicographic(key: torch.Tensor, incoming: torch.Tensor, outgoing: torch.Tensor) -> torch.Tensor:
    """One model's full ordering: by -key, then -incoming entries, then -sorted outgoing weights."""
    out_sorted = outgoing.transpose(0, 1).flatten(1).sort(dim=1, descending=True).values  # (out, next * grid)
    columns = torch.cat([-key[:, None], -incoming, -out_sorted], dim=1).numpy().round(9)
    return torch.from_numpy(np.lexsort(columns.T[::-1]).astype(np.int64))
