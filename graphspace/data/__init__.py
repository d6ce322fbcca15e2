"""Datasets: embedded, downloaded in their standard formats, or derived from another one."""

from __future__ import annotations

from graphspace.data.dataset import Dataset
from graphspace.data.registry import load_datasets

__all__ = ["Dataset", "load_datasets"]
