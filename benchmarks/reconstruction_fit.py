"""Does the decoder fit the models it was trained on? Reconstruction quality of the train rows beside the test rows.

The learn stage measures reconstruction on held-out test rows only. This decodes, with every trained variant of
a store (`main` and its ablations), the test rows and as many train rows (a seeded sample), and prints per variant
and split the medians of `graphspace.learn.quality.summarize` (agreement, |accuracy difference|, relative weight
error; also on final checkpoints) and the main variant's medians by kind of row (epoch, pruning). Train agreement
well above test agreement means the decoder memorizes; about equal means it does not fit its own training models
either.

    python benchmarks/reconstruction_fit.py [STORE]   (default: store/mnist.zarr)
"""

from __future__ import annotations

import torch
from store_command import store_and_names  # the store benchmarks' command line

from graphspace.data import load_datasets
from graphspace.learn.codec import decode_rows
from graphspace.learn.quality import by_checkpoint, methods_quality, summarize
from graphspace.learn.space import LearnedSpace


def main() -> None:
    store, _ = store_and_names(__doc__)
    datasets = load_datasets(store.spec.datasets)
    metadata = store.metadata()
    main_space = LearnedSpace.open(store)
    examples = main_space.examples
    spaces = {"main": main_space} | {v: LearnedSpace.open(store, v, examples) for v in store.spec.learn.ablations}
    test, train = examples.rows("test"), examples.rows("train")
    generator = torch.Generator().manual_seed(store.spec.seed)
    for split, rows in (("train", train[torch.randperm(len(train), generator=generator)[: len(test)]]), ("test", test)):
        decoded = {variant: decode_rows(space.model, examples, rows) for variant, space in spaces.items()}
        quality = methods_quality(examples, datasets, decoded)
        print(f"{split} rows, medians per variant:\n{summarize(quality, metadata)}")
        print(f"{split} rows, main by kind of row:\n{by_checkpoint(quality, metadata)}")


if __name__ == "__main__":
    main()
