"""Loss and accuracy of every model of a population on a dataset split."""

from __future__ import annotations

import torch

from graphspace.zoo.architecture import Blueprint, conv_output_size
from graphspace.zoo.population import cross_entropy, forward

ACTIVATION_BUDGET = 2**26  # floats of the widest activation per evaluation chunk (256 MB)


@torch.no_grad()
def evaluate(
    blueprint: Blueprint, params: list[torch.Tensor], activation: str, x: torch.Tensor, y: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean cross-entropy and accuracy of each model (eval mode: no dropout), each a (P,) tensor."""
    models = params[0].shape[0]
    per_sample = models * _widest_activation(blueprint)
    chunk = max(1, min(len(y), ACTIVATION_BUDGET // per_sample))
    loss_sum = torch.zeros(models, dtype=torch.float64, device=x.device)
    correct = torch.zeros(models, dtype=torch.float64, device=x.device)
    params = [p.to(x.dtype) for p in params]
    for xs, ys in zip(x.split(chunk), y.split(chunk), strict=True):
        logits = forward(blueprint, params, xs, activation)
        loss_sum += cross_entropy(logits, ys).double() * len(ys)
        correct += (logits.argmax(-1) == ys).sum(1).double()
    return loss_sum / len(y), correct / len(y)


def _widest_activation(blueprint: Blueprint) -> int:
    """Floats per sample and model of the widest activation (the first conv's output before pooling)."""
    if not blueprint.convs:
        return max(d.out_features for d in blueprint.dense)
    conv = blueprint.convs[0]
    height, width = (conv_output_size(n, conv) for n in blueprint.input_shape[1:])
    return conv.out_channels * height * width
