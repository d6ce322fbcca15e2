"""Summaries of a store's metadata as polars frames (what `graphspace info` and the run summary show)."""

from __future__ import annotations

import polars as pl

from graphspace.spec import Spec


def final_checkpoints(metadata: pl.DataFrame) -> pl.DataFrame:
    """The unpruned rows of each model's last checkpoint."""
    unpruned = metadata.filter(pl.col("prune_ratio") == 0.0)
    return unpruned.filter(pl.col("epoch") == pl.col("epoch").max().over("model"))


def zoo_summary(metadata: pl.DataFrame) -> pl.DataFrame:
    """Per dataset: models, rows, and the test accuracy of the models' last checkpoints."""
    final = final_checkpoints(metadata)
    counts = metadata.group_by("dataset").agg(
        pl.col("model").n_unique().alias("models"),
        pl.len().alias("rows"),
        (pl.col("prune_ratio") > 0).sum().alias("pruned_rows"),
    )
    accuracy = final.group_by("dataset").agg(
        pl.col("test_accuracy").min().alias("test_acc_min"),
        pl.col("test_accuracy").median().alias("test_acc_median"),
        pl.col("test_accuracy").max().alias("test_acc_max"),
    )
    return counts.join(accuracy, on="dataset", how="left").sort("dataset")


def accuracy_by_hyperparameter(metadata: pl.DataFrame, spec: Spec) -> dict[str, pl.DataFrame]:
    """For each varied hyperparameter: last-checkpoint test accuracy per value (continuous ones in quartile
    bins)."""
    final = final_checkpoints(metadata)
    tables = {}
    for name, variation in spec.zoo.vary.varied().items():
        column = pl.col(name)
        if not isinstance(variation, list) and final[name].n_unique() > 4:
            column = column.qcut(4, allow_duplicates=True)
        tables[name] = (
            final.group_by(column.alias(name))
            .agg(
                pl.len().alias("models"),
                pl.col("test_accuracy").mean().alias("test_acc_mean"),
                pl.col("test_accuracy").median().alias("test_acc_median"),
                pl.col("test_accuracy").max().alias("test_acc_max"),
            )
            .sort(name)
        )
    return tables
