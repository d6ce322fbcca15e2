"""What the probes read: the embeddings' views, the baselines' features read straight from the stored weights
(StatNN's per-layer statistics and the flattened weight vector), and the reference's: each checkpoint's recipe."""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from graphspace.probing.targets import RESULT_TARGETS, probe_targets
from graphspace.spec import Spec
from graphspace.store import Store

PERCENTILES = (0, 25, 50, 75, 100)
STATISTICS = 2 + len(PERCENTILES)  # mean, variance, percentiles


def embedding_views(embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, latent) embeddings as they are and their directions (scaled to unit length). InfoNCE compares
    embeddings by cosine, so the contrastive objective arranges their directions (where the results are), and
    leaves the norm to the other terms; a linear model reads the direction best from the direction itself."""
    return embeddings, embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True).clip(min=1e-12)


def stored_embeddings(store: Store, metadata: pl.DataFrame) -> np.ndarray:
    """(rows, latent) the learned embeddings of every metadata row, as float64."""
    return store.embeddings()["embedding"].to_numpy()[metadata["id"].to_numpy()].astype(np.float64)  # row = id


def statnn_features(store: Store, metadata: pl.DataFrame) -> np.ndarray:
    """(rows, STATISTICS * tensors) StatNN features of every metadata row: for each parameter tensor (each
    layer's weights and its biases, in state_dict order) the mean, variance and the 0/25/50/75/100th
    percentiles. Architectures with fewer tensors are padded with zeros."""
    blocks = {}
    for (architecture,), part in metadata.group_by("architecture", maintain_order=True):
        flat = store.weight_rows(architecture, part["weights_row"].to_numpy())
        columns, offset = [], 0
        for _, shape in store.blueprint(architecture).parameter_shapes():
            tensor = flat[:, offset : offset + math.prod(shape)]
            offset += math.prod(shape)
            columns += [tensor.mean(1), tensor.var(1), *np.percentile(tensor, PERCENTILES, axis=1)]
        blocks[architecture] = np.stack(columns, axis=1)
    return _rows_in_order(metadata, blocks)


def flat_weights(store: Store, metadata: pl.DataFrame) -> np.ndarray | None:
    """(rows, parameters) flattened weights of every row, or None when the zoo mixes architectures (the
    vectors would not line up)."""
    architectures = metadata["architecture"].unique()
    if len(architectures) != 1:
        return None
    return store.weight_rows(architectures[0], metadata["weights_row"].to_numpy())


def recipe_features(spec: Spec, metadata: pl.DataFrame) -> tuple[np.ndarray, frozenset[str]]:
    """(rows, features) of what made each checkpoint, read from the metadata instead of its weights: every
    hyperparameter the spec varies (the dataset too, in a zoo of several; one-hot where drawn from a list, log10
    where log-uniform), the pruning ratio and the epoch; with the names of the metadata columns it holds."""
    recipe = [t for t in probe_targets(spec) if t.name not in RESULT_TARGETS]
    columns = [metadata["epoch"].cast(pl.Float64).to_numpy()[:, None]]
    for target in recipe:
        values = target.values(metadata)
        columns.append(values[:, None] if target.kind == "continuous" else _one_hot(values))
    return np.concatenate(columns, axis=1), frozenset({"epoch", *(t.name for t in recipe)})


def _one_hot(labels: np.ndarray) -> np.ndarray:
    return (labels[:, None] == np.unique(labels)[None, :]).astype(np.float64)


def _rows_in_order(metadata: pl.DataFrame, blocks: dict[str, np.ndarray]) -> np.ndarray:
    width = max(block.shape[1] for block in blocks.values())
    out = np.zeros((metadata.height, width), dtype=np.float64)
    architecture = metadata["architecture"].to_numpy()
    for key, block in blocks.items():
        out[architecture == key, : block.shape[1]] = block
    return out
