"""Condition encoders: what a model was trained on (a set encoder over its dataset) and how well it did."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from graphspace.data.dataset import Dataset
from graphspace.learn.encoder import mlp

SIGNATURE_SIDE = 16  # images are averaged over channels and resized to 16 x 16, vectors to 256 values
MAX_CLASSES = 1000


@dataclass(frozen=True, eq=False)
class DatasetSample:
    """A fixed-size sample of a dataset's (input, label) pairs in a form every dataset shares.

    Attributes:
        inputs: (S, 256) inputs, resized (images: channel mean, 16 x 16; vectors: linear resampling).
        labels: (S,) labels.
        log_size: log of the training split's size (two datasets of one distribution differ only there).
    """

    inputs: torch.Tensor
    labels: torch.Tensor
    log_size: float


def sample_dataset(dataset: Dataset, size: int, seed: int) -> DatasetSample:
    """`size` training pairs of `dataset`, drawn with `seed` (with replacement only if the split is smaller)."""
    generator = torch.Generator().manual_seed(seed)
    count = len(dataset.y_train)
    pick = torch.randperm(count, generator=generator)[:size] if count >= size else torch.randint(count, (size,))
    x = dataset.x_train[pick]
    if x.ndim == 4:
        resized = F.adaptive_avg_pool2d(x.mean(1, keepdim=True), SIGNATURE_SIDE).flatten(1)
    else:
        resized = F.interpolate(x.flatten(1)[:, None], size=SIGNATURE_SIDE**2, mode="linear")[:, 0]
    return DatasetSample(resized, dataset.y_train[pick], math.log(count))


class DatasetEncoder(nn.Module):
    """A set encoder (DeepSets) over a dataset sample: any dataset, seen in training or not, gets an embedding.

    With `classes` class slots, the labels are read class by class instead: `classes` values follow the
    embedding, each class's share among the sample's labels read out by one function shared by all classes,
    and the set encoder reads the inputs alone. The slots meet the weight embedding's class slots (the output
    biases class by class, `graphspace.learn.encoder.output_profile`) slot by slot, so that a task of classes 8
    and 9 reads like the tasks of two classes that learning saw, though it saw no task of 8 and 9; an embedding
    of each label, which only the tasks learning saw would train, would place such a task nowhere in particular.

    Shapes:
        inputs (D, S, 256), labels (D, S), log_size (D,) -> (D, out + classes)
    """

    def __init__(self, hidden: int, out: int, classes: int = 0) -> None:
        super().__init__()
        self.classes = classes
        if classes:
            self.element = mlp(SIGNATURE_SIDE**2, hidden, hidden)
            self.class_readout = mlp(1, hidden, 1)
        else:
            self.label = nn.Embedding(MAX_CLASSES, hidden)
            self.element = mlp(SIGNATURE_SIDE**2 + hidden, hidden, hidden)
        self.pooled = mlp(hidden + 1, hidden, out)

    def forward(self, inputs: torch.Tensor, labels: torch.Tensor, log_size: torch.Tensor) -> torch.Tensor:
        if not self.classes:
            inputs = torch.cat([inputs, self.label(labels.clamp_max(MAX_CLASSES - 1))], dim=-1)
        embedding = self.pooled(torch.cat([self.element(inputs).mean(1), log_size[:, None]], dim=-1))
        if not self.classes:
            return embedding
        shares = (labels[..., None] == torch.arange(self.classes, device=labels.device)).float().mean(1)  # (D, C)
        return torch.cat([embedding, self.class_readout(shares[..., None])[..., 0]], dim=-1)


class ResultEncoder(nn.Module):
    """An MLP over a checkpoint's standardized results (test accuracy, test loss, gap, epoch).

    Shapes:
        results (B, R) -> (B, out)
    """

    def __init__(self, results: int, hidden: int, out: int) -> None:
        super().__init__()
        self.net = mlp(results, hidden, out)

    def forward(self, results: torch.Tensor) -> torch.Tensor:
        return self.net(results)
