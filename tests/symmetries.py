"""Networks that differ from a given one only by hidden-neuron symmetries (shared by graph and learn tests)."""

from __future__ import annotations

import copy

import torch
from torch import nn

from graphspace.graph import Network
from graphspace.graph.skeleton import layer_parameters, load_layer_parameters


def symmetric_copy(model: nn.Sequential, input_shape: tuple[int, ...], seed: int) -> nn.Sequential:
    """The model with every hidden layer's neurons permuted, rescaled by a > 0 where the modules between
    allow it and sign-flipped where they allow it (incoming and outgoing weights changed together)."""
    generator = torch.Generator().manual_seed(seed)
    layers = Network.of(model, input_shape).layers()
    state = {k: v[None].clone() for k, v in model.state_dict().items()}
    weights, biases = layer_parameters(layers, state)
    for index, layer in enumerate(layers[:-1]):
        factor = torch.ones(layer.outputs, dtype=weights[0].dtype)
        if "scale" in layer.symmetries:
            factor *= torch.rand(layer.outputs, generator=generator) * 1.9 + 0.1
        if "sign" in layer.symmetries:
            factor *= torch.randint(0, 2, (layer.outputs,), generator=generator) * 2.0 - 1.0
        order = torch.randperm(layer.outputs, generator=generator)
        weights[index] = (weights[index] * factor[None, :, None, None])[:, order]
        biases[index] = (biases[index] * factor[None, :])[:, order]
        weights[index + 1] = (weights[index + 1] / factor[None, None, :, None])[:, :, order]
    other = copy.deepcopy(model)
    load_layer_parameters(other, layers, weights, biases)
    return other
