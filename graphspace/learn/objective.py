"""The terms of the learning objective."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

MAX_LOG_TEMPERATURE = math.log(100.0)  # CLIP's cap on the learned inverse temperature


def info_nce(weights: torch.Tensor, conditions: torch.Tensor, log_temperature: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE (CLIP): row i of `weights` should match row i of `conditions` among the batch.

    Shapes:
        weights (B, D), conditions (B, D), log_temperature () -> ()
    """
    logits = F.normalize(weights, dim=-1) @ F.normalize(conditions, dim=-1).T
    logits = logits * log_temperature.clamp(max=MAX_LOG_TEMPERATURE).exp()
    target = torch.arange(len(logits))
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def reconstruction(
    decoded: torch.Tensor, target: torch.Tensor, group: torch.Tensor, scale: torch.Tensor, per_layer: bool = True
) -> torch.Tensor:
    """Weight reconstruction error of normalized features.

    With `per_layer`, each parameter group's (a layer's weights, or its biases) mean squared error in units
    of its own spread across the zoo, averaged over groups: a layer of 8 biases counts as much as one of
    2,000 weights. Without, the mean squared error of the raw weights over all parameters (divided by their
    mean square scale, so both read on a similar scale): large layers dominate.

    Shapes:
        decoded, target (B, F); group, scale (F,) -> ()
    """
    if not per_layer:
        return (((decoded - target) * scale) ** 2).mean() / (scale**2).mean()
    error = ((decoded - target) ** 2).mean(0)  # (F,)
    groups = int(group.max()) + 1
    per_group = torch.zeros(groups).index_add_(0, group, error) / torch.bincount(group, minlength=groups)
    return per_group.mean()


def behavior(decoded_logits: torch.Tensor, original_logits: torch.Tensor) -> torch.Tensor:
    """KL divergence of the decoded models' predictive distributions from the originals' (distillation), per input.

    Shapes:
        decoded_logits, original_logits (B, S, C) -> ()
    """
    return (
        F.kl_div(decoded_logits.log_softmax(-1), original_logits.log_softmax(-1), log_target=True, reduction="none")
        .sum(-1)
        .mean()
    )
