"""Neuron-edge graphs: a network's neurons as nodes and its weights as edges, in canonical form."""

from __future__ import annotations

from graphspace.graph.canonical import canonicalize
from graphspace.graph.convert import from_graph, to_graph, to_networkx
from graphspace.graph.dataset import GraphDataset
from graphspace.graph.network import Network

__all__ = ["GraphDataset", "Network", "canonicalize", "from_graph", "to_graph", "to_networkx"]
