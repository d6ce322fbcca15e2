"""Exceptions written for the user: each one's message is a complete, readable paragraph."""

from __future__ import annotations


class GraphspaceError(Exception):
    """Base class of every error graphspace raises on purpose."""


class SpecError(GraphspaceError):
    """A spec file that cannot be read or does not validate."""


class DatasetError(GraphspaceError):
    """A dataset that cannot be found, downloaded, verified or read."""


class StoreError(GraphspaceError):
    """A store that does not exist, belongs to another spec, or is damaged."""


class GraphError(GraphspaceError):
    """A model that has no neuron-edge graph (an unsupported module), or a graph that is not a model."""
