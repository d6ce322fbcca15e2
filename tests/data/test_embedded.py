from __future__ import annotations

import random

import mnist1d.data
import numpy as np
import pytest
import torch

from graphspace.data import Dataset, load_datasets
from graphspace.spec import EmbeddedDataset


@pytest.fixture(scope="module")
def embedded() -> dict[str, Dataset]:
    return load_datasets([EmbeddedDataset(name=name) for name in ("mnist", "digits", "mnist1d")])


def test_mnist_is_mlxtends_5000_images_split_4000_and_1000_stratified(embedded):
    mnist = embedded["mnist"]
    assert mnist.x_train.shape == (4000, 1, 28, 28) and mnist.x_test.shape == (1000, 1, 28, 28)
    assert mnist.input_shape == (1, 28, 28) and mnist.num_classes == 10
    assert mnist.y_train.bincount().tolist() == [400] * 10
    assert mnist.y_test.bincount().tolist() == [100] * 10


def test_digits_are_8x8_images_split_80_20_stratified(embedded):
    digits = embedded["digits"]
    assert digits.x_train.shape == (1437, 1, 8, 8) and digits.x_test.shape == (360, 1, 8, 8)
    per_class = digits.y_train.bincount() + digits.y_test.bincount()
    assert (digits.y_test.bincount() - 0.2 * per_class).abs().max() <= 1


def test_mnist1d_is_generated_without_downloading_and_without_touching_global_seeds(embedded, monkeypatch):
    monkeypatch.setattr(mnist1d.data, "get_dataset", lambda *args, **kwargs: pytest.fail("downloads"))
    random.seed(7)
    np.random.seed(7)
    generated = load_datasets([EmbeddedDataset(name="mnist1d")])["mnist1d"]
    assert generated.x_train.shape == (4000, 40) and generated.x_test.shape == (1000, 40)
    assert generated.input_shape == (40,) and generated.num_classes == 10
    assert torch.equal(generated.x_train, embedded["mnist1d"].x_train)  # the generator is seeded: same data
    assert random.random() == random.Random(7).random()
    assert np.random.random() == np.random.RandomState(7).random()


@pytest.mark.parametrize("name", ["mnist", "digits", "mnist1d"])
def test_inputs_are_float32_normalized_on_the_training_split(embedded, name):
    dataset = embedded[name]
    assert dataset.x_train.dtype == dataset.x_test.dtype == torch.float32
    assert dataset.y_train.dtype == dataset.y_test.dtype == torch.int64
    assert dataset.x_train.mean().abs() < 1e-4
    assert (dataset.x_train.std(correction=0) - 1).abs() < 1e-4
    assert dataset.x_test.mean().abs() < 0.1  # same statistics, applied to the test split


def test_loading_twice_gives_the_same_split(embedded):
    again = load_datasets([EmbeddedDataset(name="digits")])["digits"]
    assert torch.equal(again.x_train, embedded["digits"].x_train)
    assert torch.equal(again.y_test, embedded["digits"].y_test)
