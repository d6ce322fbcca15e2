"""How close must a reconstruction come to a held-out model to agree with it on 90% of test predictions, and how
close can a code learned from the train models come?

For the test rows of a store this prints the medians of `graphspace.learn.quality.summarize` (agreement,
|accuracy difference|, relative weight error; also on final checkpoints) of two families of reconstructions:

- `noise E`: every test model with Gaussian noise added to each parameter group (a layer's weights, or its
  biases), scaled so that the group's relative error is E: how much error of no particular direction the
  models' functions tolerate;
- `pca K`: PCA with K components fitted on the train rows' normalized features (as the learn stage's `pca`
  baseline), up to as many components as there are train rows: the part of a held-out model that any linear
  code of the train models can express.

Then, from the store's own reconstruction table, the median test accuracy of the test rows themselves, and how
close the zoo itself comes: the share of test rows that some train checkpoint (the `nearest_train_model` oracle)
agrees with on 90% of test predictions or more, and the oracle's medians by kind of row.

    python benchmarks/reconstruction_budget.py [STORE]   (default: store/mnist.zarr)
"""

from __future__ import annotations

import polars as pl
import torch
from store_command import store_and_names  # the store benchmarks' command line

from graphspace.data import load_datasets
from graphspace.learn.baselines import pca_baseline
from graphspace.learn.batch import architecture_order, architecture_runs
from graphspace.learn.examples import Examples
from graphspace.learn.quality import by_checkpoint, methods_quality, summarize
from graphspace.learn.space import LearnedSpace

NOISE = (0.05, 0.1, 0.2, 0.3, 0.5)
COMPONENTS = (128, 512, 1024)


def with_noise(
    examples: Examples, rows: torch.Tensor, error: float, generator: torch.Generator
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The raw features of `rows` plus Gaussian noise of relative size `error` in every parameter group of every
    row; (rows, features) per architecture, like `decode_rows`."""
    out = []
    for k, at in architecture_runs(examples, architecture_order(examples, rows)):
        original, group = examples.raw_features(at), examples.architectures[k].group
        noise = torch.randn(original.shape, generator=generator)
        for g in group.unique():
            own = group == g
            noise[:, own] *= (
                error * original[:, own].norm(dim=1, keepdim=True) / noise[:, own].norm(dim=1, keepdim=True)
            )
        out.append((at, original + noise))
    return out


def main() -> None:
    store, _ = store_and_names(__doc__)
    examples = LearnedSpace.open(store, "main").examples
    test, train = examples.rows("test"), examples.rows("train")
    generator = torch.Generator().manual_seed(store.spec.seed)
    methods = {f"noise {error}": with_noise(examples, test, error, generator) for error in NOISE}
    for components in (*(c for c in COMPONENTS if c < len(train)), len(train)):
        methods[f"pca {components}"] = pca_baseline(examples, test, components)
    quality = methods_quality(examples, load_datasets(store.spec.datasets), methods)
    metadata = store.metadata()
    with pl.Config(tbl_rows=len(methods), tbl_width_chars=160):
        print(f"{len(test)} test rows, {len(train)} train rows; medians per reconstruction:")
        print(summarize(quality, metadata))
        stored = store.reconstruction()
        oracle = stored.filter(pl.col("method") == "nearest_train_model")["agreement"]
        originals = metadata.join(stored.filter(pl.col("method") == "main").select("id"), on="id")
        print(f"the test rows' own test accuracy: median {originals['test_accuracy'].median():.3f}")
        print(f"nearest_train_model: {(oracle >= 0.9).mean():.1%} of test rows agree with a train checkpoint")
        print("on 90% of test predictions or more; its medians by kind of row:")
        print(by_checkpoint(stored, metadata, "nearest_train_model"))


if __name__ == "__main__":
    main()
