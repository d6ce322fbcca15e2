"""graphspace: weight-space learning. Train model zoos, store them, learn from their weights."""

from __future__ import annotations

from graphspace.errors import DatasetError, GraphError, GraphspaceError, SpecError, StoreError
from graphspace.export import export_models, load_model, save_model
from graphspace.graph import GraphDataset, from_graph, to_graph, to_networkx
from graphspace.learn.space import LearnedSpace, decode, encode
from graphspace.pipeline import run
from graphspace.probing import probe
from graphspace.report import write_report
from graphspace.spec import Spec
from graphspace.specfile import load_spec
from graphspace.store import Store, open_store

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
