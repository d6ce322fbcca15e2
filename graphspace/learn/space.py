"""A trained weight space opened from a store: encode checkpoints or torch models, decode embeddings to models."""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from numpy.typing import ArrayLike
from torch import nn

from graphspace.errors import GraphError, StoreError
from graphspace.graph.convert import from_graph, graph
from graphspace.graph.network import Layer, Network
from graphspace.learn.batch import graph_batch
from graphspace.learn.codec import embed
from graphspace.learn.examples import Examples, load_examples
from graphspace.learn.model import WeightSpace, WeightSpaceConfig
from graphspace.store import Store, blueprint_network, open_store


@dataclass(frozen=True, eq=False)
class LearnedSpace:
    """A store's trained `WeightSpace` with the zoo it was trained on (for skeletons and normalization)."""

    model: WeightSpace
    examples: Examples

    @classmethod
    def open(cls, store: Store, variant: str = "main", examples: Examples | None = None) -> LearnedSpace:
        """The space of a store whose learn stage has trained `variant`.

        `examples` are the store's zoo as another variant's space already loaded them (every variant learns
        from the same zoo); without them the zoo is read from the store.

        Raises:
            StoreError: the store has no trained weight space, or its checkpoint cannot be used.
        """
        checkpoint = store.learn_checkpoint(variant)
        split = store.split()
        if checkpoint is None or split is None:
            raise StoreError(f"Store {store.path} has no trained weight space yet; run `graphspace run SPEC` on it.")
        with store.restoring(variant):
            model = WeightSpace(WeightSpaceConfig(**checkpoint["config"]))
            model.load_state_dict(checkpoint["model"])
        return cls(model.eval(), load_examples(store, split) if examples is None else examples)

    def encode(self, ids: Sequence[int]) -> torch.Tensor:
        """(len(ids), latent) embeddings of stored checkpoints."""
        rows = torch.as_tensor(list(ids), dtype=torch.int64)
        if not len(rows):
            return torch.zeros(0, self.model.config.latent)
        if not (0 <= int(rows.min()) and int(rows.max()) < len(self.examples)):
            raise StoreError(f"encode: ids must be between 0 and {len(self.examples) - 1}.")
        return embed(self.model, self.examples, rows)

    @torch.no_grad()
    def encode_models(self, models: Sequence[nn.Module]) -> torch.Tensor:
        """(len(models), latent) embeddings of torch models of the zoo's architectures (any neuron order)."""
        out = []
        for model in models:
            k = self._architecture_of(model)
            architecture = self.examples.architectures[k]
            features = architecture.canonical(model)[None]
            rows = (self.examples.architecture == k).nonzero()[:1, 0]
            out.append(self.model.encoder(graph_batch(self.examples, rows, [features / architecture.scale])))
        return torch.cat(out) if out else torch.zeros(0, self.model.config.latent)

    @torch.no_grad()
    def decode(self, z: ArrayLike, architecture: str, activation: str | None = None) -> list[nn.Sequential]:
        """Runnable models (eval mode) decoded from (B, latent) embeddings into `architecture` (a store key), with
        `activation` (default: the one the activation head reads off each embedding)."""
        latent = self.model.config.latent
        z = torch.as_tensor(z, dtype=torch.float32)  # numpy embeddings (as `Store.embeddings()` gives) or lists
        if z.dim() != 2 or z.shape[1] != latent:
            raise StoreError(f"decode: z must have shape (B, {latent}), the store's latent size; got {tuple(z.shape)}.")
        keys = [a.key for a in self.examples.architectures]
        if architecture not in keys:
            raise StoreError(f"decode: architecture {architecture!r} is not in the store; it has {', '.join(keys)}.")
        target = self.examples.architectures[keys.index(architecture)]
        names = self.examples.activations
        if activation is None:
            chosen = self.model.activation_head(z).argmax(-1)
        elif activation in names:
            chosen = torch.full((len(z),), names.index(activation))
        else:
            raise StoreError(f"decode: activation {activation!r} is not in the zoo; it has {', '.join(names)}.")
        features = self.model.decoder(z, chosen, target) * target.scale
        return [
            from_graph(graph(target.skeleton, blueprint_network(target.blueprint, names[a]), f))
            for a, f in zip(chosen.tolist(), features, strict=True)
        ]

    def _architecture_of(self, model: nn.Module) -> int:
        for k, architecture in enumerate(self.examples.architectures):
            try:
                layers = Network.of(model, architecture.blueprint.input_shape).layers()
            except GraphError:  # the model does not run on this architecture's inputs
                continue
            if [_shape(la) for la in layers] == [_shape(la) for la in architecture.layers]:
                return k
        raise GraphError(
            f"encode: the model's layers match none of the store's architectures "
            f"({', '.join(a.key for a in self.examples.architectures)})."
        )


def _shape(layer: Layer) -> tuple:
    """What a weight layer is, apart from the symmetries its activation gives it."""
    return layer.module, layer.kind, layer.inputs, layer.outputs, layer.grid, layer.bias


@functools.lru_cache(maxsize=4)
def _opened(path: str, modified: float) -> LearnedSpace:
    return LearnedSpace.open(open_store(path))


def learned_space(store: Store) -> LearnedSpace:
    """The store's trained weight space (opened once per store and checkpoint)."""
    checkpoint = store.path / "learn" / "main.pt"
    if not checkpoint.is_file():
        raise StoreError(f"Store {store.path} has no trained weight space yet; run `graphspace run SPEC` on it.")
    return _opened(str(store.path), checkpoint.stat().st_mtime)


def encode(store: Store, items: Sequence[int] | Sequence[nn.Module]) -> torch.Tensor:
    """(len(items), latent) weight embeddings of stored checkpoints (ids) or of torch models of the store's
    architectures, from the store's trained encoder."""
    space, items = learned_space(store), list(items)
    if items and all(isinstance(item, nn.Module) for item in items):
        return space.encode_models(items)
    try:
        ids = [operator.index(item) for item in items]  # ints, numpy and torch integers; never a float cut short
    except TypeError:
        kinds = sorted({type(item).__name__ for item in items})
        raise StoreError(
            "encode takes checkpoint ids (integers) or torch models of the store's architectures, "
            f"not {', '.join(kinds)}."
        ) from None
    return space.encode(ids)


def decode(store: Store, z: ArrayLike, architecture: str, activation: str | None = None) -> list[nn.Sequential]:
    """Runnable models decoded from (B, latent) embeddings into a store architecture key, with `activation`
    (default: read off each embedding by the trained activation head)."""
    return learned_space(store).decode(z, architecture, activation)
