from __future__ import annotations

import gzip
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch

from graphspace.data import load_datasets
from graphspace.data.formats import read_idx
from graphspace.errors import DatasetError
from graphspace.spec import DownloadedDataset


def standardized(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """8-bit images (N, C, H, W) scaled to [0, 1], standardized per channel with the training statistics."""
    train, test = train / 255, test / 255
    mean, std = train.mean(axis=(0, 2, 3), keepdims=True), train.std(axis=(0, 2, 3), keepdims=True)
    return (train - mean) / std, (test - mean) / std


def load(name: str, root: Path):
    return load_datasets([DownloadedDataset(source="download", name=name, root=root, download=False)])[name]


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_idx_files_load_as_single_channel_images(name, mnist_files, tmp_path):
    (tmp_path / "mnist").rename(tmp_path / name)  # Fashion-MNIST has MNIST's format and file names
    dataset = load(name, tmp_path)
    x_train, x_test = standardized(
        mnist_files["train-images-idx3-ubyte.gz"][:, None], mnist_files["t10k-images-idx3-ubyte.gz"][:, None]
    )
    assert dataset.input_shape == (1, 28, 28) and dataset.num_classes == 10
    torch.testing.assert_close(dataset.x_train, torch.tensor(x_train, dtype=torch.float32))
    torch.testing.assert_close(dataset.x_test, torch.tensor(x_test, dtype=torch.float32))
    assert dataset.y_train.tolist() == mnist_files["train-labels-idx1-ubyte.gz"].tolist()
    assert dataset.y_test.tolist() == mnist_files["t10k-labels-idx1-ubyte.gz"].tolist()


def test_idx_files_may_be_uncompressed(mnist_files, tmp_path):
    compressed = tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz"
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(gzip.decompress(compressed.read_bytes()))
    assert np.array_equal(read_idx(tmp_path / "t10k-images-idx3-ubyte"), mnist_files["t10k-images-idx3-ubyte.gz"])


def test_a_file_that_is_not_idx_is_a_dataset_error(tmp_path):
    (tmp_path / "notes.txt").write_text("not an IDX file")
    with pytest.raises(DatasetError, match="not an IDX file"):
        read_idx(tmp_path / "notes.txt")


def test_cifar10_archive_loads_as_rgb_images(tmp_path):
    rng = np.random.default_rng(0)
    batches = {  # rows of 3072 bytes: the red 32x32 plane, then green, then blue
        name: {b"data": rng.integers(0, 256, (10, 3072), dtype=np.uint8), b"labels": list(range(10))}
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    }
    (tmp_path / "cifar10").mkdir()
    with tarfile.open(tmp_path / "cifar10" / "cifar-10-python.tar.gz", "w:gz") as tar:
        for name, batch in batches.items():
            content = pickle.dumps(batch, protocol=2)
            member = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            member.size = len(content)
            tar.addfile(member, io.BytesIO(content))

    dataset = load("cifar10", tmp_path)
    train = np.concatenate([batches[f"data_batch_{i}"][b"data"] for i in range(1, 6)]).reshape(50, 3, 32, 32)
    x_train, x_test = standardized(train, batches["test_batch"][b"data"].reshape(10, 3, 32, 32))
    assert dataset.input_shape == (3, 32, 32)
    torch.testing.assert_close(dataset.x_train, torch.tensor(x_train, dtype=torch.float32))
    torch.testing.assert_close(dataset.x_test, torch.tensor(x_test, dtype=torch.float32))
    assert dataset.y_train.tolist() == list(range(10)) * 5 and dataset.y_test.tolist() == list(range(10))


def test_svhn_mat_files_load_with_label_10_as_digit_0(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "svhn").mkdir()
    images, labels = {}, {"train": np.arange(1, 21) % 10 + 1, "test": np.arange(1, 11)}  # 1..10
    for split in ("train", "test"):
        images[split] = rng.integers(0, 256, (32, 32, 3, len(labels[split])), dtype=np.uint8)  # (H, W, C, N)
        mat = {"X": images[split], "y": labels[split].reshape(-1, 1).astype(np.uint8)}
        scipy.io.savemat(tmp_path / "svhn" / f"{split}_32x32.mat", mat)

    dataset = load("svhn", tmp_path)
    x_train, x_test = (images[split].transpose(3, 2, 0, 1) for split in ("train", "test"))
    x_train, x_test = standardized(x_train, x_test)
    assert dataset.input_shape == (3, 32, 32) and dataset.num_classes == 10
    torch.testing.assert_close(dataset.x_train, torch.tensor(x_train, dtype=torch.float32))
    torch.testing.assert_close(dataset.x_test, torch.tensor(x_test, dtype=torch.float32))
    assert dataset.y_train.tolist() == (labels["train"] % 10).tolist()
    assert dataset.y_test.tolist() == (labels["test"] % 10).tolist()


def test_a_missing_file_without_download_names_the_file_the_folder_and_the_url(tmp_path):
    with pytest.raises(DatasetError) as error:
        load("mnist", tmp_path)
    message = str(error.value)
    assert "train-images-idx3-ubyte.gz" in message and str(tmp_path / "mnist") in message
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz" in message
