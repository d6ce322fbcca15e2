"""The zoo as training examples: every checkpoint's canonical features, held in memory per architecture,
with what the learn stage conditions on (dataset, activation, results) and the split of each row."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl
import torch
from torch import nn

from graphspace.graph.convert import to_graph
from graphspace.graph.network import Layer
from graphspace.graph.skeleton import Skeleton, from_features
from graphspace.store import Store
from graphspace.zoo.architecture import Blueprint

RESULTS = ("test_accuracy", "test_loss", "generalization_gap", "epoch")  # what the result encoder reads
SPLITS = ("train", "val", "test", "holdout")  # holdout: models of datasets kept out of training entirely
ROLES = ("input", "hidden", "output")  # what a node is; its code is the index here


@dataclass(frozen=True, eq=False)
class Architecture:
    """One architecture of the zoo: its layout, graph skeleton and per-feature normalization.

    Attributes:
        key: the store's architecture key.
        blueprint: the layout its models are built from.
        skeleton: edges and node roles of its graphs (shared by all its models).
        scale: (F,) the standard deviation, over the training rows, of the parameter group each feature
            belongs to (the weights of one layer, or its biases): features / scale are what the encoder
            reads and the decoder writes.
        group: (F,) the parameter group of each feature: layer k's biases are group k, its weights group
            L + k for L layers.
    """

    key: str
    blueprint: Blueprint
    skeleton: Skeleton
    scale: torch.Tensor
    group: torch.Tensor

    @property
    def layers(self) -> tuple[Layer, ...]:
        """The weight layers."""
        return self.skeleton.layers

    @cached_property
    def node_index(self) -> torch.Tensor:
        """(N,) each node's index within its layer: the position of an input or output, the canonical rank
        of a hidden neuron."""
        layer = self.skeleton.node_layer
        first = torch.searchsorted(layer, layer, side="left")  # nodes are numbered layer by layer
        return torch.arange(len(layer)) - first

    @cached_property
    def node_role(self) -> torch.Tensor:
        """(N,) each node's role, as an index into ROLES."""
        layer = self.skeleton.node_layer
        return (layer > 0).long() + (layer == layer.max()).long()

    def canonical(self, model: nn.Module) -> torch.Tensor:
        """(F,) raw canonical features of a torch model of this architecture, in any neuron order."""
        data = to_graph(model, self.blueprint.input_shape, self.skeleton.grid)
        return self.skeleton.features(data.x[:, 0], data.edge_attr).float()

    def parameters(self, features: torch.Tensor) -> list[torch.Tensor]:
        """(B, F) unnormalized canonical features as stacked parameters (B, ...) in state_dict order, ready for
        `graphspace.zoo.population.forward`."""
        weights, biases = from_features(self.layers, features)
        shapes = dict(self.blueprint.parameter_shapes())
        stacked = []
        for layer, weight, bias in zip(self.layers, weights, biases, strict=True):
            stacked += [weight.reshape(len(features), *shapes[f"{layer.module}.weight"]), bias]
        return stacked


def parameter_groups(layers: tuple[Layer, ...]) -> torch.Tensor:
    """(F,) parameter group of each feature of the canonical layout (biases of layer k: k; weights: L + k)."""
    sizes = [la.outputs for la in layers] + [la.outputs * la.inputs * la.grid_size for la in layers]
    return torch.cat([torch.full((size,), g) for g, size in enumerate(sizes)])


@dataclass(frozen=True, eq=False)
class Examples:
    """Every row of a store, ready for learning. Row r of each per-row tensor is metadata row r.

    Attributes:
        ids: (R,) metadata ids.
        architectures: the zoo's architectures, in the order `architecture` indexes.
        architecture: (R,) index into `architectures`.
        features: per architecture, (rows of it, F) raw canonical features.
        position: (R,) row of each example inside its architecture's `features`.
        datasets: dataset names, in the order `dataset` indexes.
        dataset: (R,) index into `datasets`.
        activations: activation names, in the order `activation` indexes.
        activation: (R,) index into `activations`.
        results: (R, len(RESULTS)) the recorded results.
        split: (R,) index into SPLITS.
    """

    ids: torch.Tensor
    architectures: list[Architecture]
    architecture: torch.Tensor
    features: list[torch.Tensor]
    position: torch.Tensor
    datasets: list[str]
    dataset: torch.Tensor
    activations: list[str]
    activation: torch.Tensor
    results: torch.Tensor
    split: torch.Tensor

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self, split: str) -> torch.Tensor:
        """Indices of the rows of a split."""
        return (self.split == SPLITS.index(split)).nonzero()[:, 0]

    def known_datasets(self) -> torch.Tensor:
        """Sorted indices (into `datasets`) of the datasets learning sees: those with train rows."""
        return self.dataset[self.rows("train")].unique()

    def raw_features(self, rows: torch.Tensor) -> torch.Tensor:
        """(len(rows), F) raw features of rows that share one architecture."""
        (k,) = self.architecture[rows].unique().tolist()
        return self.features[k][self.position[rows]]


def load_examples(store: Store, split: pl.DataFrame) -> Examples:
    """The store's rows as examples; `split` maps each `model` to its split name. Normalization statistics
    come from the rows of the train split (for an architecture that only held-out models have, from its own
    rows: learning saw none of it, and its weights still need a scale)."""
    metadata = store.metadata().drop("split").join(split, on="model", how="left")
    split_index = torch.from_numpy(
        metadata["split"].cast(pl.Enum(list(SPLITS))).to_physical().cast(pl.Int64).to_numpy().copy()
    )
    keys = sorted(metadata["architecture"].unique())
    architecture = torch.from_numpy(
        metadata["architecture"].cast(pl.Enum(keys)).to_physical().to_numpy().astype(np.int64)
    )
    position = torch.zeros(metadata.height, dtype=torch.int64)
    architectures, features = [], []
    for k, key in enumerate(keys):
        at = (architecture == k).nonzero()[:, 0]
        rows = metadata["weights_row"].to_numpy()[at.numpy()]
        block = torch.from_numpy(store.graph_features(key))[torch.from_numpy(rows)]  # (rows of key, F)
        position[at] = torch.arange(len(at))
        shape = store.skeleton(key)
        group = parameter_groups(shape.layers)
        train = block[split_index[at] == SPLITS.index("train")]
        reference = train if len(train) > 1 else block  # under two train rows (held-out models only): all its rows
        groups = int(group.max()) + 1
        scale = (
            torch.stack([reference[:, group == g].std() for g in range(groups)])
            if len(reference) > 1
            else torch.ones(groups)
        )
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))[group]
        architectures.append(Architecture(key, store.blueprint(key), shape, scale, group))
        features.append(block)
    datasets = sorted(metadata["dataset"].unique())
    activations = sorted(metadata["activation"].unique())
    return Examples(
        ids=torch.from_numpy(metadata["id"].to_numpy().copy()),
        architectures=architectures,
        architecture=architecture,
        features=features,
        position=position,
        datasets=datasets,
        dataset=_codes(metadata["dataset"], datasets),
        activations=activations,
        activation=_codes(metadata["activation"], activations),
        results=torch.from_numpy(metadata.select(RESULTS).cast(pl.Float32).to_numpy().copy()),
        split=split_index,
    )


def _codes(column: pl.Series, values: list[str]) -> torch.Tensor:
    return torch.from_numpy(column.cast(pl.Enum(values)).to_physical().cast(pl.Int64).to_numpy().copy())
