"""The zoo plan: every model's hyperparameters, expanded from the spec, and the populations that train together."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from graphspace.spec import Hyper, LogUniform, Spec, Uniform


def plan_models(spec: Spec) -> list[Hyper]:
    """One fully resolved `Hyper` per model (dataset, seed and data_seed filled in), in model order.

    random sampling draws each varied field per model from one generator seeded by the spec seed; grid
    sampling cycles through the cartesian product of the listed choices. Unless seeds are varied or set, model
    i gets its own seed derived from (spec seed, i); the batch order seed defaults to the spec seed, so a
    population sees the same batches.
    """
    varied = spec.zoo.vary.varied()
    rng = np.random.default_rng(spec.seed)
    combinations = list(itertools.product(*varied.values())) if spec.zoo.sampling == "grid" else []
    models = []
    for index in range(spec.zoo.size):
        if combinations:
            values = dict(zip(varied, combinations[index % len(combinations)], strict=True))
        else:
            values = {name: _draw(choice, rng) for name, choice in varied.items()}
        base = spec.zoo.hyper.model_copy(update=values)
        resolved = {
            "dataset": base.dataset or spec.datasets[0].name,
            "seed": base.seed if base.seed is not None else _model_seed(spec.seed, index),
            "data_seed": base.data_seed if base.data_seed is not None else spec.seed,
        }
        models.append(base.model_copy(update=resolved))
    return models


def _draw(choice: list | Uniform | LogUniform, rng: np.random.Generator) -> object:
    if isinstance(choice, Uniform):
        return float(rng.uniform(*choice.uniform))
    if isinstance(choice, LogUniform):
        low, high = choice.log_uniform
        return float(math.exp(rng.uniform(math.log(low), math.log(high))))
    return choice[int(rng.integers(len(choice)))]


def _model_seed(spec_seed: int, index: int) -> int:
    return int(np.random.SeedSequence([spec_seed, index]).generate_state(1)[0] & 0x7FFFFFFF)


@dataclass(frozen=True)
class PopulationPlan:
    """Models that train together: same dataset, activation, optimizer, batch size and batch order."""

    index: int
    members: tuple[int, ...]  # model indices

    def hypers(self, models: list[Hyper]) -> list[Hyper]:
        """The members' hyperparameters."""
        return [models[i] for i in self.members]


def plan_populations(models: list[Hyper], max_size: int) -> list[PopulationPlan]:
    """Group models that can share batches, in order of their first member, in chunks of at most `max_size`."""
    groups: dict[tuple, list[int]] = {}
    for i, m in enumerate(models):
        groups.setdefault((m.dataset, m.activation, m.optimizer, m.batch_size, m.data_seed), []).append(i)
    chunks = [g[start : start + max_size] for g in groups.values() for start in range(0, len(g), max_size)]
    return [PopulationPlan(i, tuple(chunk)) for i, chunk in enumerate(chunks)]
