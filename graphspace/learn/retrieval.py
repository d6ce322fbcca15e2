"""Datasets in the weight space: which dataset's condition embedding a model's weight embedding is nearest to."""

from __future__ import annotations

import polars as pl
import torch

from graphspace.learn.codec import embed
from graphspace.learn.examples import SPLITS, Examples
from graphspace.learn.model import WeightSpace
from graphspace.learn.training import Conditions


@torch.no_grad()
def dataset_similarities(model: WeightSpace, conditions: Conditions, z: torch.Tensor) -> torch.Tensor:
    """(B, datasets) cosine similarity of weight embeddings `z` (B, latent) with every dataset's projected
    embedding: which dataset these weights come from."""
    model.eval()
    datasets = model.dataset_encoder(*conditions.dataset_batch())  # (D, hidden)
    return model.dataset_similarity(z, datasets)


def nearest_datasets(
    model: WeightSpace, examples: Examples, conditions: Conditions, rows: torch.Tensor
) -> pl.DataFrame:
    """Per row: its dataset, its split, the nearest dataset among all and among those learning saw (`known`),
    and the similarity to its own dataset."""
    z = embed(model, examples, rows)
    similarity = dataset_similarities(model, conditions, z)
    known = torch.full((len(examples.datasets),), float("-inf"))
    known[conditions.known] = 0.0
    names = examples.datasets
    return pl.DataFrame(
        {
            "id": examples.ids[rows].numpy(),
            "split": [SPLITS[s] for s in examples.split[rows].tolist()],
            "dataset": [names[d] for d in examples.dataset[rows].tolist()],
            "nearest": [names[d] for d in similarity.argmax(1).tolist()],
            "nearest_known": [names[d] for d in (similarity + known).argmax(1).tolist()],
            "own_similarity": similarity.gather(1, examples.dataset[rows][:, None])[:, 0].numpy(),
        }
    )


def dataset_retrieval(nearest: pl.DataFrame) -> pl.DataFrame:
    """Per split and dataset of a `nearest_datasets` frame, then per split over all its datasets (`(all)`): rows,
    the share whose nearest dataset is their own among all datasets and among those learning saw (null for holdout
    rows, whose own is not among them), and the nearest known dataset of most rows with how many rows that is."""
    mostly = pl.col("nearest_known").mode().sort().first()  # ties: the first name, so the table is repeatable
    shares = (
        pl.len().alias("rows"),
        (pl.col("nearest") == pl.col("dataset")).mean().alias("own_is_nearest"),
        pl.when(pl.col("split") != "holdout")
        .then(pl.col("nearest_known") == pl.col("dataset"))
        .mean()
        .alias("own_is_nearest_known"),
        mostly.alias("nearest_known_mostly"),
        (pl.col("nearest_known") == mostly).sum().alias("mostly_rows"),
    )
    per_dataset = nearest.group_by("split", "dataset").agg(*shares)
    per_split = nearest.group_by("split").agg(*shares).select(pl.lit("(all)").alias("dataset"), pl.all())
    return pl.concat([per_dataset, per_split.select(per_dataset.columns)]).sort(
        pl.col("split").replace_strict(SPLITS, range(len(SPLITS))),
        pl.col("dataset") == "(all)",
        "dataset",
    )
