"""How sampled models do, for real: accuracy on the dataset's test split, and novelty against the zoo (distance
to the nearest zoo model, relative to the typical distance between zoo models, and the share of test predictions
on which the sample differs from that nearest model)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from graphspace.data.dataset import Dataset
from graphspace.graph.convert import from_graph, graph
from graphspace.learn.examples import Architecture
from graphspace.store import Store, blueprint_network

TYPICAL_PAIRS = 4096  # zoo pairs the typical distance is the median over


@dataclass
class Zoo:
    """The zoo rows of one dataset and architecture, for novelty: their canonical features, normalized per
    parameter group (the scale the learn stage uses) and then to unit length, and the median distance between
    two of them. Unit length keeps models with small weights (early checkpoints of small inits) from being
    everyone's nearest neighbor: the distance compares directions, 0 to 2."""

    store: Store
    architecture: Architecture
    ids: np.ndarray
    features: torch.Tensor
    typical: float
    _predictions: dict[int, torch.Tensor] = field(default_factory=dict)

    @classmethod
    def of(cls, store: Store, architecture: Architecture, ids: np.ndarray, raw: torch.Tensor, seed: int) -> Zoo:
        """From the rows' ids and (rows, F) raw canonical features."""
        features = _direction(raw / architecture.scale)
        rng = np.random.default_rng(seed)
        a, b = rng.integers(len(ids), size=(2, TYPICAL_PAIRS))
        keep = a != b
        typical = float((features[a[keep]] - features[b[keep]]).norm(dim=1).median()) if keep.any() else 1.0
        return cls(store, architecture, ids, features, typical)

    def nearest(self, raw: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """For (n, F) raw canonical features: the id of the nearest zoo row and the distance to it relative to the
        typical distance."""
        distances = torch.cdist(_direction(raw / self.architecture.scale), self.features)
        best = distances.min(dim=1)
        return self.ids[best.indices.numpy()], best.values.numpy() / self.typical

    def predictions(self, i: int, dataset: Dataset) -> torch.Tensor:
        """Test-split predictions of zoo row `i` (cached)."""
        if i not in self._predictions:
            self._predictions[i] = predictions_on_test_split(self.store.model(i), dataset)
        return self._predictions[i]


def _direction(features: torch.Tensor) -> torch.Tensor:
    return features / features.norm(dim=1, keepdim=True).clamp_min(1e-12)


def canonical(architecture: Architecture, features: torch.Tensor, activation: str) -> torch.Tensor:
    """(F,) the canonical form of a model given by (F,) raw features in any neuron order (a decoder's output is
    in canonical order only approximately)."""
    return architecture.canonical(model_of(architecture, features, activation))


def model_of(architecture: Architecture, features: torch.Tensor, activation: str) -> nn.Sequential:
    """The runnable model (eval mode) of (F,) raw canonical features."""
    return from_graph(graph(architecture.skeleton, blueprint_network(architecture.blueprint, activation), features))


@torch.no_grad()
def predictions_on_test_split(model: nn.Module, dataset: Dataset) -> torch.Tensor:
    """(test size,) predicted classes on the dataset's test split."""
    return torch.cat([model(x).argmax(-1) for x in dataset.x_test.split(1024)])


def evaluate(zoo: Zoo, features: torch.Tensor, activations: list[str], dataset: Dataset) -> dict[str, np.ndarray]:
    """For (n, F) raw canonical features with their activations: test `accuracy`, `nearest_zoo_id`,
    `nearest_zoo_distance` (relative to the typical distance between zoo models) and
    `disagreement_with_nearest` (share of test inputs where the sample and that zoo model predict differently)."""
    nearest, distance = zoo.nearest(features)
    accuracy, disagreement = [], []
    for f, activation, i in zip(features, activations, nearest.tolist(), strict=True):
        predicted = predictions_on_test_split(model_of(zoo.architecture, f, activation), dataset)
        accuracy.append(float((predicted == dataset.y_test).float().mean()))
        disagreement.append(float((predicted != zoo.predictions(i, dataset)).float().mean()))
    return {
        "accuracy": np.array(accuracy),
        "nearest_zoo_id": nearest,
        "nearest_zoo_distance": distance,
        "disagreement_with_nearest": np.array(disagreement),
    }
