"""What models do on a fixed set of inputs: the probe inputs of each dataset and the zoo's logits on them,
so the behavioral loss compares decoded models with their originals without rerunning the originals."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from graphspace.data.dataset import Dataset
from graphspace.learn.examples import Architecture, Examples
from graphspace.zoo.population import forward

MODELS_PER_PASS = 32  # bounds the memory of bulk evaluation: the first layer's output of 32 models on
INPUTS_PER_PASS = 512  # 512 inputs is about 75 MB for the zoo CNN


@dataclass(frozen=True, eq=False)
class Probes:
    """Probe inputs per dataset (drawn from its training split) and every row's logits on its dataset's inputs.

    Attributes:
        inputs: per dataset of `Examples.datasets`, (S, *input shape).
        logits: per architecture, (rows of it, S, classes) the original models' logits.
    """

    inputs: list[torch.Tensor]
    logits: list[torch.Tensor]


def make_probes(examples: Examples, datasets: dict[str, Dataset], size: int, seed: int) -> Probes:
    """`size` training inputs of each dataset (seeded) and the logits of every stored model on them."""
    generator = torch.Generator().manual_seed(seed)
    size = min(size, *(len(datasets[name].y_train) for name in examples.datasets))
    inputs = []
    for name in examples.datasets:
        data = datasets[name]
        pick = torch.randperm(len(data.y_train), generator=generator)[:size]
        inputs.append(data.x_train[pick])
    logits = []
    for k, architecture in enumerate(examples.architectures):
        rows = (examples.architecture == k).nonzero()[:, 0]
        block = torch.empty(len(rows), len(inputs[0]), architecture.blueprint.dense[-1].out_features)
        block[examples.position[rows]] = logits_in_passes(
            examples, inputs, architecture, rows, examples.raw_features(rows)
        )
        logits.append(block)
    return Probes(inputs, logits)


@torch.no_grad()
def logits_in_passes(
    examples: Examples,
    inputs: list[torch.Tensor],
    architecture: Architecture,
    rows: torch.Tensor,
    features: torch.Tensor,
) -> torch.Tensor:
    """`model_logits` of many models on many inputs (every dataset's inputs of one length), without gradients, in
    passes of bounded memory."""
    parts = []
    for part in torch.arange(len(rows)).split(MODELS_PER_PASS):
        passes = [
            model_logits(
                examples, [x[start : start + INPUTS_PER_PASS] for x in inputs], architecture, rows[part], features[part]
            )
            for start in range(0, len(inputs[0]), INPUTS_PER_PASS)
        ]
        parts.append(torch.cat(passes, dim=1))
    return torch.cat(parts)


def logits_of_rows(
    examples: Examples,
    inputs: list[torch.Tensor],
    architecture: Architecture,
    rows: torch.Tensor,
    features: torch.Tensor,
) -> list[torch.Tensor]:
    """`logits_in_passes` where each dataset's inputs may have their own length: one (its dataset's S, classes)
    tensor per row, in the order of `rows`."""
    result: list[torch.Tensor | None] = [None] * len(rows)
    for dataset in examples.dataset[rows].unique().tolist():
        at = (examples.dataset[rows] == dataset).nonzero()[:, 0]
        same = [inputs[dataset]] * len(inputs)  # these rows are all of this dataset
        logits = logits_in_passes(examples, same, architecture, rows[at], features[at])
        for i, row_logits in zip(at.tolist(), logits, strict=True):
            result[i] = row_logits
    return result


def model_logits(
    examples: Examples,
    inputs: list[torch.Tensor],
    architecture: Architecture,
    rows: torch.Tensor,
    features: torch.Tensor,
    select: torch.Tensor | None = None,
) -> torch.Tensor:
    """(len(rows), S, classes) logits of the models given by raw `features` (rows of one architecture), each
    on the probe inputs of its row's dataset with its row's activation; `select` picks a subset of the inputs."""
    out = []
    order = []
    for dataset, activation in torch.stack([examples.dataset[rows], examples.activation[rows]], 1).unique(dim=0):
        at = ((examples.dataset[rows] == dataset) & (examples.activation[rows] == activation)).nonzero()[:, 0]
        x = inputs[int(dataset)] if select is None else inputs[int(dataset)][select]
        params = architecture.parameters(features[at])
        out.append(forward(architecture.blueprint, params, x, examples.activations[int(activation)]))
        order.append(at)
    logits = torch.cat(out)
    return logits[torch.argsort(torch.cat(order))]
