"""Small datasets written in the standard on-disk formats, as their publishers write them."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest


def _write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (magic 0x0000 08 ndim, big-endian sizes), gzipped for .gz names."""
    content = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    path.write_bytes(gzip.compress(content) if path.suffix == ".gz" else content)


@pytest.fixture
def mnist_files(tmp_path: Path) -> dict[str, np.ndarray]:
    """MNIST's four gzipped IDX files in tmp_path/mnist: 20 training and 10 test images, 2 and 1 per digit."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": np.arange(20, dtype=np.uint8) % 10,
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": np.arange(10, dtype=np.uint8)[::-1].copy(),
    }
    (tmp_path / "mnist").mkdir()
    for name, array in arrays.items():
        _write_idx(tmp_path / "mnist" / name, array)
    return arrays
