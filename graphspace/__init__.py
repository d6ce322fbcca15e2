"""graphspace: weight-space learning. Train model zoos, store them, learn from their weights."""

from __future__ import annotations

from graphspace.errors import DatasetError, GraphspaceError, SpecError, StoreError
from graphspace.pipeline import run
from graphspace.spec import Spec
from graphspace.specfile import load_spec
from graphspace.store import Store, open_store

__all__ = [
    "DatasetError",
    "GraphspaceError",
    "Spec",
    "SpecError",
    "Store",
    "StoreError",
    "load_spec",
    "open_store",
    "run",
]
