"""A dataset as models see it (normalized tensors), and the raw form that derived datasets transform."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True, eq=False)
class Dataset:
    """A classification dataset, normalized with the statistics of its training split.

    Attributes:
        name: The name the dataset is declared under.
        x_train: Training inputs, float32: images (N, C, H, W) or vectors (N, D).
        y_train: Training labels, int64 (N,).
        x_test: Test inputs, laid out like `x_train`.
        y_test: Test labels, int64.
        num_classes: Output units models need: max label + 1 of the base dataset (class subsets keep it).
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one input: (C, H, W) or (D,)."""
        return tuple(self.x_train.shape[1:])


@dataclass(frozen=True, eq=False)
class RawData:
    """Unnormalized data: images float32 in [0, 1] laid out (N, C, H, W), vectors (N, D) as generated."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int

    @classmethod
    def from_arrays(
        cls,
        x_train: np.ndarray,
        y_train: np.ndarray,
        x_test: np.ndarray,
        y_test: np.ndarray,
        scale: float = 1.0,
    ) -> RawData:
        """Raw data from numpy arrays, inputs divided by `scale` (255 for 8-bit pixels)."""
        inputs = [torch.tensor(x, dtype=torch.float32).div_(scale) for x in (x_train, x_test)]
        labels = [torch.tensor(y, dtype=torch.int64) for y in (y_train, y_test)]
        num_classes = int(max(y.max() for y in labels)) + 1
        return cls(inputs[0], labels[0], inputs[1], labels[1], num_classes)

    @property
    def is_image(self) -> bool:
        """Whether the inputs are images (N, C, H, W) rather than vectors (N, D)."""
        return self.x_train.ndim == 4

    def normalized(self, name: str) -> Dataset:
        """The dataset standardized with the training split's per-channel (vectors: global) mean and std."""
        dims = (0, 2, 3) if self.is_image else tuple(range(self.x_train.ndim))
        mean = self.x_train.mean(dim=dims, keepdim=True)
        std = self.x_train.std(dim=dims, keepdim=True, correction=0).clamp_min(1e-8)
        return Dataset(
            name=name,
            x_train=(self.x_train - mean) / std,
            y_train=self.y_train,
            x_test=(self.x_test - mean) / std,
            y_test=self.y_test,
            num_classes=self.num_classes,
        )
