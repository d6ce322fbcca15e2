"""Readers of the standard on-disk formats: IDX (MNIST, Fashion-MNIST), CIFAR-10 python batches, SVHN .mat.

Each reader returns images as uint8 (N, C, H, W) and labels as int64 (N,).
"""

from __future__ import annotations

import gzip
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np
import scipy.io

from graphspace.errors import DatasetError

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_CIFAR_MEMBERS = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
# The only globals a CIFAR-10 batch pickle refers to (numpy renamed `core` to `_core` in 2.0).
_CIFAR_GLOBALS = {("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")} | {
    (f"numpy.{core}.{module}", function)
    for core in ("core", "_core")
    for module, function in (("multiarray", "_reconstruct"), ("numeric", "_frombuffer"))
}


def read_idx(path: Path) -> np.ndarray:
    """The array in an IDX file, gzipped or not."""
    content = path.read_bytes()
    if content[:2] == b"\x1f\x8b":
        content = gzip.decompress(content)
    if len(content) < 4 or content[:2] != b"\0\0" or content[2] not in _IDX_TYPES:
        raise DatasetError(f"{path} is not an IDX file: it starts with {content[:4].hex()}, not 0000 08..")
    ndim, dtype = content[3], np.dtype(_IDX_TYPES[content[2]])
    shape = struct.unpack(f">{ndim}I", content[4 : 4 + 4 * ndim])
    if len(content) != 4 + 4 * ndim + int(np.prod(shape)) * dtype.itemsize:
        raise DatasetError(f"{path} is damaged: its size does not match the shape {shape} in its header.")
    return np.frombuffer(content, dtype, offset=4 + 4 * ndim).reshape(shape).astype(dtype.newbyteorder("="))


def read_cifar10(archive: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Train images and labels, then test images and labels, of the CIFAR-10 python archive (.tar.gz)."""
    with tarfile.open(archive, "r:gz") as tar:
        batches = [_read_cifar_batch(tar, f"cifar-10-batches-py/{member}") for member in _CIFAR_MEMBERS]
    x_train = np.concatenate([x for x, _ in batches[:-1]])
    y_train = np.concatenate([y for _, y in batches[:-1]])
    return x_train, y_train, *batches[-1]


def read_svhn(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of an SVHN cropped-digits file (train_32x32.mat or test_32x32.mat)."""
    mat = scipy.io.loadmat(path)
    images = np.ascontiguousarray(mat["X"].transpose(3, 2, 0, 1))  # (32, 32, 3, N) -> (N, 3, 32, 32)
    labels = mat["y"].ravel().astype(np.int64)
    labels[labels == 10] = 0  # SVHN writes the digit 0 as label 10
    return images, labels


class _CifarUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in _CIFAR_GLOBALS:
            raise pickle.UnpicklingError(f"unexpected object {module}.{name} in a CIFAR-10 batch")
        return super().find_class(module, name)


def _read_cifar_batch(tar: tarfile.TarFile, member: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        batch = _CifarUnpickler(tar.extractfile(member), encoding="bytes").load()
    except (KeyError, pickle.UnpicklingError) as error:
        raise DatasetError(f"{tar.name} is not a CIFAR-10 python archive: cannot read {member} ({error}).") from error
    images = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    return images, np.asarray(batch[b"labels"], dtype=np.int64)
