"""Standard datasets read from their canonical files under a root folder (one subfolder per dataset)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from graphspace.data.dataset import RawData
from graphspace.data.download import RemoteFile, fetch
from graphspace.data.formats import read_cifar10, read_idx, read_svhn
from graphspace.spec import DownloadedDataset


def _files(base_url: str, md5s: dict[str, str]) -> tuple[RemoteFile, ...]:
    return tuple(RemoteFile(name, base_url + name, md5) for name, md5 in md5s.items())


# The files of each dataset, in the order its reader takes them (the addresses and checksums torchvision uses).
SOURCES: dict[str, tuple[RemoteFile, ...]] = {
    "mnist": _files(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        {
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        },
    ),
    "fashion_mnist": _files(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        {
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        },
    ),
    "cifar10": _files(
        "https://www.cs.toronto.edu/~kriz/", {"cifar-10-python.tar.gz": "c58f30108f718f92721af3b95e74349a"}
    ),
    "svhn": _files(
        "http://ufldl.stanford.edu/housenumbers/",
        {
            "train_32x32.mat": "e26dedcc434d2e4c54c9b2d4a06d8373",
            "test_32x32.mat": "eb5a983be6a315427106f1b164d9cef3",
        },
    ),
}


def _read_idx_dataset(train_images: Path, train_labels: Path, test_images: Path, test_labels: Path) -> RawData:
    x_train, x_test = read_idx(train_images)[:, None], read_idx(test_images)[:, None]  # (N, 1, 28, 28)
    return RawData.from_arrays(x_train, read_idx(train_labels), x_test, read_idx(test_labels), scale=255)


def _read_cifar10(archive: Path) -> RawData:
    return RawData.from_arrays(*read_cifar10(archive), scale=255)


def _read_svhn(train: Path, test: Path) -> RawData:
    return RawData.from_arrays(*read_svhn(train), *read_svhn(test), scale=255)


_READERS: dict[str, Callable[..., RawData]] = {
    "mnist": _read_idx_dataset,
    "fashion_mnist": _read_idx_dataset,
    "cifar10": _read_cifar10,
    "svhn": _read_svhn,
}


def load_downloaded(spec: DownloadedDataset) -> RawData:
    """Read the dataset's files from `spec.root / spec.name`, downloading the missing ones if allowed.

    MNIST and Fashion-MNIST share file names, hence one folder per dataset.
    """
    folder = spec.root / spec.name
    paths = [fetch(spec.name, file, folder, download=spec.download) for file in SOURCES[spec.name]]
    return _READERS[spec.name](*paths)
