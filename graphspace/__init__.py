"""graphspace: weight-space learning. Train model zoos, store them, learn from their weights.

The public names below are imported on first use, so that `import graphspace` and the command line's help, spec
checks and error paths start in a fraction of a second instead of loading torch and torch-geometric (5 s).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from graphspace.errors import DatasetError, GraphError, GraphspaceError, SpecError, StoreError

if TYPE_CHECKING:  # the same names, for type checkers and editors; tests/test_package.py keeps the two in step
    from graphspace.export import export_models, load_model, save_model
    from graphspace.graph import GraphDataset, from_graph, to_graph, to_networkx
    from graphspace.learn.space import LearnedSpace, decode, encode
    from graphspace.pipeline import run
    from graphspace.probing import probe
    from graphspace.report import write_report
    from graphspace.spec import Spec
    from graphspace.specfile import load_spec
    from graphspace.store import Store, open_store

_LAZY = {
    "export_models": "graphspace.export",
    "load_model": "graphspace.export",
    "save_model": "graphspace.export",
    "GraphDataset": "graphspace.graph",
    "from_graph": "graphspace.graph",
    "to_graph": "graphspace.graph",
    "to_networkx": "graphspace.graph",
    "LearnedSpace": "graphspace.learn.space",
    "decode": "graphspace.learn.space",
    "encode": "graphspace.learn.space",
    "run": "graphspace.pipeline",
    "probe": "graphspace.probing",
    "write_report": "graphspace.report",
    "Spec": "graphspace.spec",
    "load_spec": "graphspace.specfile",
    "Store": "graphspace.store",
    "open_store": "graphspace.store",
}

__all__ = [
    "DatasetError",
    "GraphDataset",
    "GraphError",
    "GraphspaceError",
    "LearnedSpace",
    "Spec",
    "SpecError",
    "Store",
    "StoreError",
    "decode",
    "encode",
    "export_models",
    "from_graph",
    "load_model",
    "load_spec",
    "open_store",
    "probe",
    "run",
    "save_model",
    "to_graph",
    "to_networkx",
    "write_report",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use (PEP 562)."""
    if name not in _LAZY:
        raise AttributeError(f"module 'graphspace' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
