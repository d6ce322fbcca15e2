"""Does the decoder fit the models it was trained on? Reconstruction quality of the train rows beside the test rows.

The learn stage measures reconstruction on held-out test rows only. This decodes, with every trained variant of
a store (`main` and its ablations), the test rows and as many train rows (a seeded sample), and prints per variant
and split the median agreement, |accuracy difference| and relative weight error, then the main variant's median
agreement by kind of row (epoch, pruning). Train agreement well above test agreement means the decoder memorizes;
about equal means it does not fit its own training models either.

    python benchmarks/reconstruction_fit.py [STORE]   (default: store/mnist.zarr)
"""

from __future__ import annotations

import sys

import polars as pl
import torch

import graphspace
from graphspace.data import load_datasets
from graphspace.learn.codec import decode_rows
from graphspace.learn.quality import reconstruction_quality
from graphspace.learn.space import LearnedSpace


def main() -> None:
    store = graphspace.open_store(sys.argv[1] if len(sys.argv) > 1 else "store/mnist.zarr")
    datasets = load_datasets(store.spec.datasets)
    variants = ("main", *store.spec.learn.ablations)
    spaces = {variant: LearnedSpace.open(store, variant) for variant in variants}
    examples = spaces["main"].examples
    test, train = examples.rows("test"), examples.rows("train")
    generator = torch.Generator().manual_seed(store.spec.seed)
    rows = {"train": train[torch.randperm(len(train), generator=generator)[: len(test)]], "test": test}
    frames = []
    for split, chosen in rows.items():
        decoded = {variant: decode_rows(space.model, examples, chosen) for variant, space in spaces.items()}
        for n, (at, _) in enumerate(decoded["main"]):
            parts = {variant: parts[n][1] for variant, parts in decoded.items()}
            frames.append(reconstruction_quality(examples, datasets, at, parts).with_columns(split=pl.lit(split)))
    quality = pl.concat(frames).join(store.metadata().select("id", "epoch", "prune_ratio"), on="id")
    medians = [
        pl.len().alias("rows"),
        pl.col("agreement").median(),
        pl.col("accuracy_difference").abs().median().alias("abs_accuracy_difference"),
        pl.col("relative_error").median(),
    ]
    with pl.Config(tbl_rows=-1, tbl_hide_dataframe_shape=True):
        print(quality.group_by("method", "split").agg(medians).sort("method", "split", descending=[False, True]))
        by_kind = quality.filter(pl.col("method") == "main").pivot(
            "split", index=["epoch", "prune_ratio"], values="agreement", aggregate_function="median"
        )
        print("main, median agreement by kind of row:")
        print(by_kind.sort("prune_ratio", "epoch").select("epoch", "prune_ratio", "train", "test"))


if __name__ == "__main__":
    main()
