"""Summaries of a store's metadata as polars frames (what `graphspace info` and the run summary show)."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl

from graphspace.spec import Spec


def final_checkpoints(metadata: pl.DataFrame) -> pl.DataFrame:
    """The unpruned rows of each model's last checkpoint."""
    unpruned = metadata.filter(pl.col("prune_ratio") == 0.0)
    return unpruned.filter(pl.col("epoch") == pl.col("epoch").max().over("model"))


def zoo_summary(metadata: pl.DataFrame) -> pl.DataFrame:
    """Per dataset: models, rows, pruned rows, the test accuracy (min, median, max) of the models' last
    checkpoints, and how many models end below 50% test accuracy."""
    final = final_checkpoints(metadata)
    counts = metadata.group_by("dataset").agg(
        pl.col("model").n_unique().alias("models"),
        pl.len().alias("rows"),
        (pl.col("prune_ratio") > 0).sum().alias("pruned"),
    )
    accuracy = final.group_by("dataset").agg(
        pl.col("test_accuracy").min().alias("acc_min"),
        pl.col("test_accuracy").median().alias("acc_median"),
        pl.col("test_accuracy").max().alias("acc_max"),
        (pl.col("test_accuracy") < 0.5).sum().alias("models_below_0.5"),
    )
    return counts.join(accuracy, on="dataset", how="left").sort("dataset")


def accuracy_by_hyperparameter(metadata: pl.DataFrame, spec: Spec) -> dict[str, pl.DataFrame]:
    """For each varied hyperparameter: last-checkpoint test accuracy per value (continuous ones in quartile
    bins)."""
    final = final_checkpoints(metadata)
    tables = {}
    for name, variation in spec.zoo.vary.varied().items():
        tables[name] = (
            grouped(final, name, isinstance(variation, list))
            .group_by(name)
            .agg(
                pl.len().alias("models"),
                pl.col("test_accuracy").mean().alias("acc_mean"),
                pl.col("test_accuracy").median().alias("acc_median"),
                pl.col("test_accuracy").max().alias("acc_max"),
            )
            .sort(name)
        )
    return tables


def grouped(frame: pl.DataFrame, name: str, categorical: bool) -> pl.DataFrame:
    """`frame` with column `name` replaced by its group: the value itself for a hyperparameter drawn from a list
    (or one with at most 4 values), otherwise its quartile bin, an ordered Enum of readable labels."""
    if categorical or frame[name].n_unique() <= 4:
        return frame
    breaks, labels = _quartile_bins(frame[name])
    bins = np.searchsorted(breaks, frame[name].to_numpy(), side="left")  # (a, b] intervals
    return frame.with_columns(pl.Series(name, labels).gather(bins).cast(pl.Enum(labels)))


def _quartile_bins(values: pl.Series) -> tuple[list[float], list[str]]:
    """Quartile breaks of a continuous column and readable labels for the four bins."""
    breaks = sorted({float(values.quantile(q)) for q in (0.25, 0.5, 0.75)})
    edges = [f"{b:.3g}" for b in breaks]
    labels = [f"<= {edges[0]}", *(f"{a} - {b}" for a, b in itertools.pairwise(edges)), f"> {edges[-1]}"]
    return breaks, labels
