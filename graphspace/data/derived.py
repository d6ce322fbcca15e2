"""Datasets made from another one: transformed inputs, a class subset or a share of the training set."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from graphspace.data.dataset import RawData
from graphspace.errors import DatasetError
from graphspace.spec import DerivedDataset


def derive(base: RawData, spec: DerivedDataset) -> RawData:
    """The raw data of `spec` made from the raw data of its base.

    Rows are selected first (`classes`, then `fraction` of the training set, stratified and seeded by `seed`),
    then every input is transformed: rotated counterclockwise by `rotate` degrees, inverted (x -> m - x, with m
    the base's largest raw training value), and its pixels (or vector entries) reordered by the
    permutation `numpy.random.default_rng(permute_pixels).permutation(H * W)`, the same for every input.

    Raises:
        DatasetError: The spec rotates vectors, names classes the base lacks, or keeps too few training rows.
    """
    if spec.rotate and not base.is_image:
        raise DatasetError(f"Derived dataset '{spec.name}' rotates its inputs, but '{spec.base}' has no images.")
    x_train, y_train, x_test, y_test = base.x_train, base.y_train, base.x_test, base.y_test
    if spec.classes is not None:
        if max(spec.classes) >= base.num_classes:
            raise DatasetError(
                f"Derived dataset '{spec.name}' keeps classes {spec.classes}, but '{spec.base}' has labels "
                f"0 to {base.num_classes - 1} only."
            )
        classes = torch.tensor(spec.classes)
        train, test = torch.isin(y_train, classes), torch.isin(y_test, classes)
        x_train, y_train, x_test, y_test = x_train[train], y_train[train], x_test[test], y_test[test]
    if spec.fraction < 1.0:
        kept = _stratified_share(y_train, spec)
        x_train, y_train = x_train[kept], y_train[kept]

    peak = base.x_train.max()
    positions = base.x_train[0, 0].numel() if base.is_image else base.x_train.shape[1]
    permutation = None
    if spec.permute_pixels is not None:
        permutation = torch.from_numpy(np.random.default_rng(spec.permute_pixels).permutation(positions))

    def transform(x: torch.Tensor) -> torch.Tensor:
        if spec.rotate:
            x = torch.rot90(x, k=spec.rotate // 90, dims=(-2, -1))
        if spec.invert:
            x = peak - x
        if permutation is not None:
            flat = x.flatten(start_dim=2) if base.is_image else x  # (N, C, H * W) or (N, D)
            x = flat[..., permutation].reshape(x.shape)
        return x

    return RawData(transform(x_train), y_train, transform(x_test), y_test, base.num_classes)


def _stratified_share(labels: torch.Tensor, spec: DerivedDataset) -> torch.Tensor:
    """Sorted indices of a stratified `spec.fraction` share of the rows with these labels."""
    try:
        kept, _ = train_test_split(
            np.arange(len(labels)), train_size=spec.fraction, stratify=labels.numpy(), random_state=spec.seed
        )
    except ValueError as error:
        raise DatasetError(
            f"Derived dataset '{spec.name}' cannot keep a stratified {spec.fraction} of the training set of "
            f"'{spec.base}' ({len(labels)} rows): {error}"
        ) from error
    return torch.from_numpy(np.sort(kept))
