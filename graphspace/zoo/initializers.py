"""Weight initializers of the spec, drawn from an explicit generator so that every model is reproducible."""

from __future__ import annotations

import torch
from torch import nn


def initialize(model: nn.Module, name: str, std: float, generator: torch.Generator) -> None:
    """Initialize every conv/linear weight of `model` in place with initializer `name`; biases become 0.

    normal: N(0, std^2); truncated_normal: N(0, std^2) truncated at +-2 std; glorot: Glorot/Xavier uniform;
    orthogonal: orthogonal rows (conv kernels flattened); he_normal: Kaiming normal, fan in.
    """
    for module in model.modules():
        if not isinstance(module, (nn.Linear, nn.Conv2d)):
            continue
        weight = module.weight
        with torch.no_grad():
            if name == "normal":
                nn.init.normal_(weight, 0.0, std, generator=generator)
            elif name == "truncated_normal":
                nn.init.trunc_normal_(weight, 0.0, std, -2 * std, 2 * std, generator=generator)
            elif name == "glorot":
                nn.init.xavier_uniform_(weight, generator=generator)
            elif name == "orthogonal":
                nn.init.orthogonal_(weight, generator=generator)
            elif name == "he_normal":
                nn.init.kaiming_normal_(weight, nonlinearity="relu", generator=generator)
            else:
                raise ValueError(f"unknown initializer {name!r}")
            nn.init.zeros_(module.bias)
