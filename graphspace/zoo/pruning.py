"""Magnitude pruning of stacked population parameters."""

from __future__ import annotations

import torch

from graphspace.zoo.architecture import Blueprint


def prune_magnitude(blueprint: Blueprint, params: list[torch.Tensor], ratio: float) -> list[torch.Tensor]:
    """Per model and layer, zero the `ratio` share of weights with the smallest magnitude (ties broken by
    position); biases are kept. Returns new tensors."""
    pruned = []
    for (name, _), p in zip(blueprint.parameter_shapes(), params, strict=True):
        if not name.endswith("weight"):
            pruned.append(p.clone())
            continue
        flat = p.reshape(p.shape[0], -1).clone()
        count = round(ratio * flat.shape[1])
        smallest = flat.abs().sort(dim=1, stable=True).indices[:, :count]
        flat.scatter_(1, smallest, 0.0)
        pruned.append(flat.view_as(p))
    return pruned
