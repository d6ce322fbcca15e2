from __future__ import annotations

import numpy as np
import pytest
import torch

from graphspace.data import Dataset, load_datasets
from graphspace.data.dataset import RawData
from graphspace.data.derived import derive
from graphspace.errors import DatasetError
from graphspace.spec import DerivedDataset, EmbeddedDataset


def derived(name: str, **fields) -> DerivedDataset:
    return DerivedDataset(source="derived", name=name, base="digits", **fields)


@pytest.fixture(scope="module")
def digits() -> dict[str, Dataset]:
    """The digits and datasets derived from them, loaded together."""
    return load_datasets(
        [
            EmbeddedDataset(name="digits"),
            derived("rotated", rotate=90),
            derived("inverted", invert=True),
            derived("permuted", permute_pixels=3),
            derived("three_classes", classes=[2, 5, 7]),
            derived("quarter", fraction=0.25, seed=1),
        ]
    )


# Rotation and permutation move pixels and inversion mirrors them, so the per-channel statistics commute with
# them: a derived dataset is the transformed base even after both are normalized.


def test_rotate_90_turns_every_image_counterclockwise(digits):
    base, rotated = digits["digits"], digits["rotated"]
    torch.testing.assert_close(rotated.x_train, torch.rot90(base.x_train, k=1, dims=(2, 3)))
    torch.testing.assert_close(rotated.x_test, torch.rot90(base.x_test, k=1, dims=(2, 3)))
    assert torch.equal(rotated.y_train, base.y_train)


def test_invert_mirrors_the_intensities(digits):
    base, inverted = digits["digits"], digits["inverted"]
    torch.testing.assert_close(inverted.x_train, -base.x_train)
    torch.testing.assert_close(inverted.x_test, -base.x_test)


def test_permute_pixels_applies_one_seeded_permutation_to_every_image(digits):
    base, permuted = digits["digits"], digits["permuted"]
    permutation = np.random.default_rng(3).permutation(64)
    for split in ("x_train", "x_test"):
        expected = getattr(base, split).flatten(start_dim=2)[..., permutation].reshape(-1, 1, 8, 8)
        torch.testing.assert_close(getattr(permuted, split), expected)


def test_classes_keep_only_those_labels_unchanged(digits):
    base, subset = digits["digits"], digits["three_classes"]
    for split in ("y_train", "y_test"):
        labels, base_labels = getattr(subset, split), getattr(base, split)
        assert set(labels.tolist()) == {2, 5, 7}
        assert labels.bincount(minlength=10)[[2, 5, 7]].tolist() == base_labels.bincount()[[2, 5, 7]].tolist()
    assert subset.num_classes == 10 and subset.x_train.mean().abs() < 1e-4  # renormalized


def test_fraction_keeps_a_stratified_share_of_the_training_set_only(digits):
    base, quarter = digits["digits"], digits["quarter"]
    assert (quarter.y_train.bincount() - 0.25 * base.y_train.bincount()).abs().max() <= 1
    assert torch.equal(quarter.y_test, base.y_test)


def test_fraction_depends_on_its_seed():
    first, second = (
        load_datasets([EmbeddedDataset(name="digits"), derived("half", fraction=0.5, seed=seed)])["half"]
        for seed in (0, 1)
    )
    assert not torch.equal(first.x_train, second.x_train)


def test_vectors_cannot_be_rotated():
    vectors = RawData.from_arrays(np.zeros((4, 40)), np.arange(4), np.zeros((2, 40)), np.arange(2))
    with pytest.raises(DatasetError, match="rotates"):
        derive(vectors, derived("turned", rotate=90))


def test_vectors_are_permuted_along_their_entries():
    vectors = RawData.from_arrays(np.arange(8.0)[None].repeat(3, 0), np.arange(3), np.zeros((1, 8)), [0])
    permuted = derive(vectors, derived("permuted", permute_pixels=5))
    assert permuted.x_train.tolist() == [np.random.default_rng(5).permutation(8).tolist()] * 3


def test_classes_the_base_lacks_are_an_error():
    with pytest.raises(DatasetError, match="labels 0 to 9"):
        load_datasets([EmbeddedDataset(name="digits"), derived("far", classes=[3, 12])])


def test_a_base_declared_later_is_an_error():
    with pytest.raises(DatasetError, match="not declared before"):
        load_datasets([derived("early", rotate=90), EmbeddedDataset(name="digits")])
