"""What the probes predict: the results of each checkpoint and every hyperparameter the spec varies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl

from graphspace.spec import Spec

RESULT_TARGETS = ("test_accuracy", "generalization_gap", "epoch")
UNPREDICTABLE = ("seed", "data_seed")  # varied only to decorrelate models; nothing in the weights encodes them


@dataclass(frozen=True)
class ProbeTarget:
    """One property to predict.

    Attributes:
        name: the metadata column.
        kind: "continuous" (regression: R², Kendall's tau) or "categorical" (classification: accuracy).
        log: regress on log10 of the value (hyperparameters drawn log-uniformly).
    """

    name: str
    kind: Literal["continuous", "categorical"]
    log: bool = False

    def values(self, metadata: pl.DataFrame) -> np.ndarray:
        """The target of every row: floats (continuous) or labels as strings (categorical)."""
        column = metadata[self.name]
        if self.kind == "categorical":
            return column.cast(pl.String).to_numpy()
        values = column.cast(pl.Float64).to_numpy()
        return np.log10(values) if self.log else values


def probe_targets(spec: Spec) -> list[ProbeTarget]:
    """The results, then the varied hyperparameters: one drawn from a list of choices is categorical, one drawn
    from a distribution continuous (log-scaled when log-uniform); the pruning ratio is categorical when the zoo
    prunes."""
    targets = [ProbeTarget(name, "continuous") for name in RESULT_TARGETS]
    for name, variation in spec.zoo.vary.varied().items():
        if name in UNPREDICTABLE:
            continue
        if isinstance(variation, list):
            targets.append(ProbeTarget(name, "categorical"))
        else:
            targets.append(ProbeTarget(name, "continuous", log=hasattr(variation, "log_uniform")))
    if spec.zoo.prune.ratios():
        targets.append(ProbeTarget("prune_ratio", "categorical"))
    return targets
