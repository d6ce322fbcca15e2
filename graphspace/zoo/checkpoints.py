"""From a population's training run to store rows: every checkpoint and pruned variant, evaluated."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from graphspace.data import Dataset
from graphspace.device import CPU, moved
from graphspace.spec import Hyper, Zoo
from graphspace.zoo.architecture import Blueprint
from graphspace.zoo.evaluation import evaluate
from graphspace.zoo.population import flatten_model
from graphspace.zoo.pruning import prune_magnitude
from graphspace.zoo.training import train_population


def rows_per_model(zoo: Zoo) -> int:
    """Store rows each model adds: its checkpoints plus their pruned variants."""
    checkpoints = len(zoo.train.checkpoint_epochs())
    pruned_checkpoints = checkpoints if zoo.prune.at == "all" else 1
    return checkpoints + len(zoo.prune.ratios()) * pruned_checkpoints


def record_population(
    blueprint: Blueprint,
    members: list[int],
    hypers: list[Hyper],
    data: Dataset,
    zoo: Zoo,
    device: torch.device = CPU,
) -> tuple[list[dict[str, Any]], list[np.ndarray]]:
    """Train the members together (on `device`, where they are also evaluated and pruned) and return their
    metadata rows and flat weights, checkpoint by checkpoint.

    A pruned row names its unpruned checkpoint by position in the returned list ("parent_index")."""
    epochs = zoo.train.checkpoint_epochs()
    rows: list[dict[str, Any]] = []
    weights: list[np.ndarray] = []
    data = moved(data, device)
    for epoch, params in train_population(blueprint, hypers, data, zoo.train.epochs, epochs, device=device):
        parents = _add_rows(rows, weights, blueprint, members, hypers, data, epoch, params, 0.0, None)
        if zoo.prune.at == "all" or epoch == epochs[-1]:
            for ratio in zoo.prune.ratios():
                pruned = prune_magnitude(blueprint, params, ratio)
                _add_rows(rows, weights, blueprint, members, hypers, data, epoch, pruned, ratio, parents)
    return rows, weights


def _add_rows(
    rows: list[dict[str, Any]],
    weights: list[np.ndarray],
    blueprint: Blueprint,
    members: list[int],
    hypers: list[Hyper],
    data: Dataset,
    epoch: int,
    params: list[torch.Tensor],
    ratio: float,
    parents: list[int] | None,
) -> list[int]:
    """Evaluate one checkpoint of every member, append its rows; returns their positions in `rows`."""
    activation = hypers[0].activation
    train_loss, train_accuracy = moved(evaluate(blueprint, params, activation, data.x_train, data.y_train), CPU)
    test_loss, test_accuracy = moved(evaluate(blueprint, params, activation, data.x_test, data.y_test), CPU)
    positions = []
    for m, (model, hyper) in enumerate(zip(members, hypers, strict=True)):
        positions.append(len(rows))
        rows.append(
            hyper.model_dump()
            | {
                "model": model,
                "architecture": blueprint.key,
                "epoch": epoch,
                "prune_ratio": ratio,
                "parent_index": parents[m] if parents is not None else None,
                "train_loss": float(train_loss[m]),
                "train_accuracy": float(train_accuracy[m]),
                "test_loss": float(test_loss[m]),
                "test_accuracy": float(test_accuracy[m]),
                "generalization_gap": float(train_accuracy[m] - test_accuracy[m]),
            }
        )
        weights.append(flatten_model(params, m))
    return positions
