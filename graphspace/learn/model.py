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

DESIGN = 3  # the definition of the learned models; raise it when a change makes old checkpoints unloadable
# (2: the encoder reads per-layer weight statistics out beside its pooled node states; 3: beside the mean over
# all nodes, it reads the mean over the output nodes)


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
    """

    def __init__(self, config: WeightSpaceConfig) -> None:
        super().__init__()
        self.config = config
        hidden, latent = config.hidden, config.latent
        self.encoder = WeightEncoder(config.grid, hidden, config.layers, latent)
        self.decoder = WeightDecoder(config.grid, hidden, config.layers, latent, config.activations, config.templates)
        self.activation_head = nn.Linear(latent, config.activations)
        self.dataset_encoder = DatasetEncoder(hidden, hidden)
        self.result_encoder = ResultEncoder(config.results, hidden, hidden)
        self.condition = mlp(2 * hidden, 2 * hidden, latent)
        self.log_temperature = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        self.dataset_projection = nn.Linear(hidden, latent)

    def conditions(self, datasets: torch.Tensor, results: torch.Tensor) -> torch.Tensor:
        """(B, latent) condition embeddings from (B, hidden) dataset embeddings and (B, R) standardized results."""
        return self.condition(torch.cat([datasets, self.result_encoder(results)], dim=-1))

    def dataset_similarity(self, z: torch.Tensor, datasets: torch.Tensor) -> torch.Tensor:
        """(B, D) cosine similarity of weight embeddings (B, latent) with projected dataset embeddings (D, hidden)."""
        return F.normalize(z, dim=-1) @ F.normalize(self.dataset_projection(datasets), dim=-1).T
