"""The split of a zoo into train, validation and test *by model*: all checkpoints (and pruned variants) of a
model fall on one side, so a test model was never seen in any form during training."""

from __future__ import annotations

import numpy as np
import polars as pl

from graphspace.spec import Split


def split_models(metadata: pl.DataFrame, shares: Split, seed: int, holdout: list[str]) -> pl.DataFrame:
    """One row per model: `model`, `split` ("train", "val", "test", or "holdout" for models of the datasets in
    `holdout`, which learning never sees). Within each dataset the models are shuffled with `seed` and cut by
    `shares`, so every dataset is represented on every side; a dataset of two or more models keeps at least one
    test model and one train model."""
    models = metadata.group_by("model").agg(pl.col("dataset").first()).sort("model")
    rng = np.random.default_rng(seed)
    parts = []
    for (dataset,), group in models.group_by("dataset", maintain_order=True):
        ids = group["model"].to_numpy().copy()
        if dataset in holdout:
            names = ["holdout"] * len(ids)
        else:
            rng.shuffle(ids)
            count = len(ids)
            test = min(max(round(shares.test * count), 1), count - 1) if count > 1 else 0
            val = min(round(shares.val * count), count - test - 1) if count > 1 else 0
            names = ["train"] * (count - test - val) + ["val"] * val + ["test"] * test
        parts.append(pl.DataFrame({"model": ids, "split": names}, schema={"model": pl.Int64, "split": pl.String}))
    return pl.concat(parts).sort("model")
