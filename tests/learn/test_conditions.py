"""The dataset encoder's class slots, and how a weight embedding meets a dataset embedding when there are some."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from graphspace.learn.conditions import DatasetEncoder
from graphspace.learn.model import WeightSpace, WeightSpaceConfig


def labels_of(classes: list[int], size: int = 8) -> torch.Tensor:
    """(1, size) labels, the classes in turn."""
    return torch.tensor(classes * (size // len(classes)))[None]


def test_a_task_of_unseen_classes_fills_their_slots_as_any_task_of_two_classes_does() -> None:
    torch.manual_seed(0)
    encoder = DatasetEncoder(hidden=8, out=4, classes=10)
    inputs, log_size = torch.randn(1, 8, 256), torch.tensor([math.log(800)])
    first, last = (encoder(inputs, labels_of(c), log_size)[0, 4:] for c in ([0, 1], [8, 9]))
    assert first.shape == (10,)
    torch.testing.assert_close(last, first.roll(8))  # the slots depend on each class's share alone
    everything = encoder(inputs, labels_of(list(range(10)), size=10), log_size)[0, 4:]
    torch.testing.assert_close(everything, everything[:1].expand(10))  # a uniform task fills every slot alike


def test_with_class_slots_a_dataset_is_as_near_as_the_mean_of_both_blocks_cosines() -> None:
    config = WeightSpaceConfig(grid=1, hidden=4, layers=1, latent=6, activations=1, results=4, templates={}, classes=2)
    space = WeightSpace(config)
    z, datasets = torch.randn(3, 6), torch.randn(2, 6)  # datasets: (D, hidden + classes)
    projected = torch.cat([space.dataset_projection(datasets[:, :4]), datasets[:, 4:]], dim=1)
    cosine = [
        F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T
        for a, b in ((z[:, :4], projected[:, :4]), (z[:, 4:], projected[:, 4:]))
    ]
    torch.testing.assert_close(space.dataset_similarity(z, datasets), (cosine[0] + cosine[1]) / 2)
