"""Learning from weights: a GNN encoder and a decoder over neuron-edge graphs, aligned contrastively with
dataset and result embeddings (see `graphspace.learn.stage` for the stage, `graphspace.learn.space` for the API)."""

from __future__ import annotations

from graphspace.learn.model import WeightSpace, WeightSpaceConfig
from graphspace.learn.space import LearnedSpace, decode, encode

__all__ = ["LearnedSpace", "WeightSpace", "WeightSpaceConfig", "decode", "encode"]
