"""`WeightSpace`: the weight encoder, the decoder and the condition encoders, trained jointly."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from graphspace.learn.conditions import DatasetEncoder, ResultEncoder
from graphspace.learn.decoder import WeightDecoder
from graphspace.learn.encoder import WeightEncoder, mlp

DESIGN = 4  # the definition of the learned models; raise it when a change makes old checkpoints unloadable
# (2: the encoder reads per-layer weight statistics out beside its pooled node states; 3: beside the mean over
# all nodes, it reads the mean over the output nodes; 4: class slots where the zoo has several datasets)


@dataclass
class WeightSpaceConfig:
    """Sizes of a `WeightSpace` (what a checkpoint needs to rebuild it)."""

    grid: int  # values per edge
    hidden: int  # width of node states and condition encoders
    layers: int  # message-passing layers of the encoder (and of the decoder)
    latent: int  # embedding size
    activations: int  # activation functions of the zoo
    results: int  # results the result encoder reads
    templates: dict[str, int]  # features of each architecture key (the decoder keeps a template of each)
    classes: int = 0  # class slots at the end of every embedding (0: the zoo has one dataset)

    def to_dict(self) -> dict[str, int]:
        """As plain values."""
        return asdict(self)


class WeightSpace(nn.Module):
    """Everything the learn stage trains.

    - `encoder`: graph -> weight embedding z (B, latent);
    - `decoder`: z, activation, architecture -> canonical features -> a runnable model;
    - `activation_head`: z -> which activation the model uses (so z alone decodes to a model);
    - `dataset_encoder`, `result_encoder` and `condition`: a dataset sample and a checkpoint's results -> the
      condition embedding (B, latent) that z is aligned with by InfoNCE (`log_temperature` learned);
    - `dataset_projection`: a dataset embedding -> the weight space, where z is also classified among the
      datasets learning sees (when there are several).

    With `config.classes` class slots, the last `classes` values of z (the output biases class by class) and of
    a dataset embedding (its classes' shares) are not projected: they stand as they are in the condition and
    projected dataset embeddings, so z meets a dataset's class profile class by class.
    """

    def __init__(self, config: WeightSpaceConfig) -> None:
        super().__init__()
        self.config = config
        hidden, latent = config.hidden, config.latent
        classes = config.classes
        self.encoder = WeightEncoder(config.grid, hidden, config.layers, latent, classes)
        self.decoder = WeightDecoder(config.grid, hidden, config.layers, latent, config.activations, config.templates)
        self.activation_head = nn.Linear(latent, config.activations)
        self.dataset_encoder = DatasetEncoder(hidden, hidden, classes)
        self.result_encoder = ResultEncoder(config.results, hidden, hidden)
        self.condition = mlp(2 * hidden, 2 * hidden, latent - classes)
        self.log_temperature = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        self.dataset_projection = nn.Linear(hidden, latent - classes)

    def conditions(self, datasets: torch.Tensor, results: torch.Tensor) -> torch.Tensor:
        """(B, latent) condition embeddings from (B, hidden + classes) dataset embeddings and (B, R) standardized
        results."""
        embedding, shares = datasets.split([self.config.hidden, self.config.classes], dim=-1)
        return torch.cat([self.condition(torch.cat([embedding, self.result_encoder(results)], dim=-1)), shares], -1)

    def dataset_similarity(self, z: torch.Tensor, datasets: torch.Tensor) -> torch.Tensor:
        """(B, D) cosine similarity of weight embeddings (B, latent) with projected dataset embeddings (D, hidden +
        classes)."""
        embedding, shares = datasets.split([self.config.hidden, self.config.classes], dim=-1)
        projected = torch.cat([self.dataset_projection(embedding), shares], dim=-1)
        return self.blocks(z) @ self.blocks(projected).T

    def blocks(self, x: torch.Tensor) -> torch.Tensor:
        """(B, latent) embeddings or projected dataset embeddings, each of their two blocks (the class slots and
        the rest) of unit norm, together of unit norm: so the dot product of two is the mean of their blocks'
        cosines, and the class slots weigh as much as the rest. Without class slots, x of unit norm."""
        if not self.config.classes:
            return F.normalize(x, dim=-1)
        parts = x.split([self.config.latent - self.config.classes, self.config.classes], dim=-1)
        return torch.cat([F.normalize(part, dim=-1) for part in parts], dim=-1) / math.sqrt(2)
