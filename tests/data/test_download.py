from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from graphspace.data import downloaded, load_datasets
from graphspace.data.download import RemoteFile
from graphspace.errors import DatasetError
from graphspace.spec import DownloadedDataset


@pytest.fixture
def mirror(mnist_files, tmp_path, monkeypatch) -> Path:
    """MNIST's files served from a local folder (file:// URLs) with their true checksums."""
    source = tmp_path / "mnist"
    files = tuple(
        RemoteFile(name, (source / name).as_uri(), hashlib.md5((source / name).read_bytes()).hexdigest())
        for name in mnist_files
    )
    monkeypatch.setitem(downloaded.SOURCES, "mnist", files)
    return source


def load_mnist(root: Path, download: bool = True):
    return load_datasets([DownloadedDataset(source="download", name="mnist", root=root, download=download)])


def test_missing_files_are_downloaded_then_loaded(mirror, mnist_files, tmp_path):
    dataset = load_mnist(tmp_path / "data")["mnist"]
    assert sorted(path.name for path in (tmp_path / "data" / "mnist").iterdir()) == sorted(mnist_files)
    assert dataset.y_train.tolist() == mnist_files["train-labels-idx1-ubyte.gz"].tolist()


def test_a_download_with_the_wrong_checksum_fails_and_leaves_nothing(mirror, tmp_path, monkeypatch):
    tampered = [RemoteFile(f.name, f.url, "0" * 32) for f in downloaded.SOURCES["mnist"]]
    monkeypatch.setitem(downloaded.SOURCES, "mnist", tuple(tampered))
    with pytest.raises(DatasetError, match="MD5") as error:
        load_mnist(tmp_path / "data")
    assert "train-images-idx3-ubyte.gz" in str(error.value) and tampered[0].url in str(error.value)
    assert not (tmp_path / "data").exists()  # nor the folders made for the files


def test_a_failed_download_names_the_url_and_leaves_nothing(mirror, tmp_path, monkeypatch):
    gone = (tmp_path / "nowhere" / "train-images-idx3-ubyte.gz").as_uri()
    files = downloaded.SOURCES["mnist"]
    monkeypatch.setitem(downloaded.SOURCES, "mnist", (RemoteFile(files[0].name, gone, files[0].md5), *files[1:]))
    with pytest.raises(DatasetError, match="Could not download") as error:
        load_mnist(tmp_path / "data")
    assert gone in str(error.value) and str(tmp_path / "data" / "mnist") in str(error.value)
    assert not (tmp_path / "data").exists()  # nor the folders made for the files


def test_files_already_present_are_used_without_downloading(mirror, tmp_path, monkeypatch):
    unreachable = tuple(RemoteFile(f.name, "http://unreachable.invalid/", f.md5) for f in downloaded.SOURCES["mnist"])
    monkeypatch.setitem(downloaded.SOURCES, "mnist", unreachable)
    dataset = load_mnist(tmp_path)["mnist"]  # the files of the mirror are tmp_path/mnist itself
    assert dataset.x_train.shape == (20, 1, 28, 28) and dataset.x_train.dtype == torch.float32
