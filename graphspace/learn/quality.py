"""Reconstruction quality judged by what decoded models do: prediction agreement with the original on the
dataset's test split, the accuracy difference, and the per-layer relative weight error."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
import torch

from graphspace.data.dataset import Dataset
from graphspace.learn.behavior import logits_of_rows
from graphspace.learn.examples import Examples
from graphspace.summary import final_checkpoints


def predictions(
    examples: Examples, datasets: dict[str, Dataset], rows: torch.Tensor, features: torch.Tensor
) -> list[torch.Tensor]:
    """Test-split predictions of the models given by raw `features` (rows of one architecture), one (test size,)
    tensor per row, each on its row's dataset."""
    (k,) = examples.architecture[rows].unique().tolist()
    inputs = [datasets[name].x_test for name in examples.datasets]
    return [logits.argmax(-1) for logits in logits_of_rows(examples, inputs, examples.architectures[k], rows, features)]


QUALITY_SCHEMA = {
    "method": pl.String,
    "id": pl.Int64,
    "dataset": pl.String,
    "original_accuracy": pl.Float64,
    "accuracy": pl.Float64,
    "accuracy_difference": pl.Float64,
    "agreement": pl.Float64,
    "relative_error": pl.Float64,
    "layer_relative_error": pl.List(pl.Float64),
}


def reconstruction_quality(
    examples: Examples, datasets: dict[str, Dataset], rows: torch.Tensor, decoded: dict[str, torch.Tensor]
) -> pl.DataFrame:
    """For each method and each example row (all of one architecture): how the model the method decoded as raw
    features `decoded[method]` compares with the original. The originals are evaluated once.

    Columns: method, id, dataset, original_accuracy, accuracy, accuracy_difference (decoded - original),
    agreement (share of test inputs where both predict the same class), relative_error (over all weights), and
    layer_relative_error (a list: per weight layer, |decoded - original| / |original| of its weights and bias).
    """
    original = examples.raw_features(rows)
    (k,) = examples.architecture[rows].unique().tolist()
    layer = examples.architectures[k].group % len(examples.architectures[k].layers)
    layers = int(layer.max()) + 1
    norm = torch.zeros(len(rows), layers).index_add_(1, layer, original**2)
    before = predictions(examples, datasets, rows, original)
    labels = [datasets[examples.datasets[d]].y_test for d in examples.dataset[rows].tolist()]
    original_accuracy = [(p == y).double().mean().item() for p, y in zip(before, labels, strict=True)]
    frames = []
    for method, features in decoded.items():
        error = torch.zeros(len(rows), layers).index_add_(1, layer, (features - original) ** 2)
        after = predictions(examples, datasets, rows, features)
        accuracy = [(p == y).double().mean().item() for p, y in zip(after, labels, strict=True)]
        frames.append(
            pl.DataFrame(
                {
                    "method": [method] * len(rows),
                    "id": examples.ids[rows].numpy(),
                    "dataset": [examples.datasets[d] for d in examples.dataset[rows].tolist()],
                    "original_accuracy": original_accuracy,
                    "accuracy": accuracy,
                    "accuracy_difference": [a - o for a, o in zip(accuracy, original_accuracy, strict=True)],
                    "agreement": [(a == b).double().mean().item() for a, b in zip(after, before, strict=True)],
                    "relative_error": (
                        (features - original).norm(dim=1) / original.norm(dim=1).clamp_min(1e-12)
                    ).numpy(),
                    "layer_relative_error": (error.sqrt() / norm.sqrt().clamp_min(1e-12)).tolist(),
                },
                schema=QUALITY_SCHEMA,
            )
        )
    return pl.concat([pl.DataFrame(schema=QUALITY_SCHEMA), *frames])


def methods_quality(
    examples: Examples, datasets: dict[str, Dataset], methods: dict[str, list[tuple[torch.Tensor, torch.Tensor]]]
) -> pl.DataFrame:
    """`reconstruction_quality` of every method, each given as `decode_rows` gives it: per architecture, (its rows,
    their decoded raw features), in the same order of rows for every method."""
    first = next(iter(methods.values()))
    frames = [
        reconstruction_quality(examples, datasets, rows, {method: parts[n][1] for method, parts in methods.items()})
        for n, (rows, _) in enumerate(first)
    ]
    return pl.concat([pl.DataFrame(schema=QUALITY_SCHEMA), *frames])


def summarize(quality: pl.DataFrame, metadata: pl.DataFrame) -> pl.DataFrame:
    """Per method, over all held-out test rows and over the test models' last unpruned checkpoints (`final_`):
    rows, median agreement, median |accuracy difference|; and the median relative weight error of all rows."""
    final = final_checkpoints(metadata).select("id", pl.lit(True).alias("final"))
    marked = quality.join(final, on="id", how="left").with_columns(pl.col("final").fill_null(False))
    difference = pl.col("accuracy_difference").abs()
    return marked.group_by("method", maintain_order=True).agg(
        pl.len().alias("rows"),
        pl.col("agreement").median().alias("agreement"),
        difference.median().alias("abs_acc_diff"),
        pl.col("final").sum().alias("final_rows"),
        pl.col("agreement").filter(pl.col("final")).median().alias("final_agreement"),
        difference.filter(pl.col("final")).median().alias("final_abs_acc_diff"),
        pl.col("relative_error").median().alias("weight_error"),
    )


def by_checkpoint(
    quality: pl.DataFrame, metadata: pl.DataFrame, method: str = "main", references: Sequence[str] = ()
) -> pl.DataFrame:
    """One method's medians per kind of test row (epoch, prune ratio): agreement, |accuracy difference|, original
    and decoded accuracy; beside them, the median agreement of each method in `references` that `quality` holds
    (`<method>_agreement`), to read the method's agreement against, kind by kind."""
    kinds = quality.join(metadata.select("id", "epoch", "prune_ratio"), on="id")
    return _medians_by(kinds, ["epoch", "prune_ratio"], method, references)


def by_original_accuracy(
    quality: pl.DataFrame, method: str = "main", references: Sequence[str] = (), bands: int = 10
) -> pl.DataFrame:
    """`by_checkpoint`'s medians per band of the original's test accuracy instead of kind of row (`bands` equal
    bands from 0 to 1): `band` "0.8-0.9" holds the test rows whose original scores at least 0.8 and below 0.9 (the
    last band also holds 1.0). Agreement with an original takes more than a good model where the original makes
    many mistakes; this table shows how much."""
    band = (pl.col("original_accuracy") * bands + 1e-9).floor().clip(0, bands - 1)
    banded = quality.with_columns(
        band.alias("band_from"),
        pl.format("{}-{}", (band / bands).round(2), ((band + 1) / bands).round(2)).alias("band"),
    )
    return _medians_by(banded, ["band_from", "band"], method, references).drop("band_from")


def _medians_by(rows: pl.DataFrame, keys: list[str], method: str, references: Sequence[str]) -> pl.DataFrame:
    """Per group of `keys`, `method`'s rows, medians of agreement, |accuracy difference|, original and decoded
    accuracy, and each held reference method's median agreement; sorted by the keys."""
    table = (
        rows.filter(pl.col("method") == method)
        .group_by(keys)
        .agg(
            pl.len().alias("rows"),
            pl.col("agreement").median(),
            pl.col("accuracy_difference").abs().median().alias("abs_acc_diff"),
            pl.col("original_accuracy").median(),
            pl.col("accuracy").median().alias("decoded_accuracy"),
        )
    )
    held = set(rows["method"])
    for reference in (r for r in references if r in held):
        medians = rows.filter(pl.col("method") == reference).group_by(keys)
        table = table.join(
            medians.agg(pl.col("agreement").median().alias(f"{reference}_agreement")), on=keys, how="left"
        )
    return table.sort(keys)
