"""What running the models says about their test accuracy: a scale for the probe stage's figures, which read it
from the weights alone.

For the test rows of a store (the probe stage's split), each reading of test accuracy below is scored as the probe
table scores a prediction (R² and Kendall's tau over all test rows) and by Kendall's tau within each kind of test
row (epoch, pruning ratio), as `graphspace info` ranks the probes:

    other half of the test split   the accuracy on one random half of the test split as the prediction of the
                                   accuracy on the other half: the split's own measurement noise (on half the
                                   images; the whole split's is smaller)
    accuracy on N training images  the model run on N labelled training images of its dataset
    linear probe, outputs on N     the probe stage's linear probe on the softmax outputs for N training images
    training images                (no labels), fitted on the train rows, chosen on the validation rows
    linear probe, outputs on N     the same on N inputs of Gaussian noise (the data are normalized, so noise
    noise inputs                   has the inputs' scale)

    python benchmarks/probe_ceiling.py [STORE]   (default: store/mnist.zarr; N = 256)
"""

from __future__ import annotations

import numpy as np
import polars as pl
import torch
from store_command import store_and_names  # the store benchmarks' command line

from graphspace.data.registry import load_datasets
from graphspace.learn.behavior import logits_in_passes
from graphspace.learn.examples import Examples, load_examples
from graphspace.probing.estimators import linear_probe, scores
from graphspace.probing.stage import probe_rows

SEED = 0
INPUTS = 256


def main() -> None:
    store, _ = store_and_names(__doc__)
    metadata = store.metadata()
    examples = load_examples(store, store.split())
    datasets = [load_datasets(store.spec.datasets)[name] for name in examples.datasets]
    train, select, test = probe_rows(metadata)
    generator = torch.Generator().manual_seed(SEED)
    right, labelled = correct(examples, [(d.x_test, d.y_test) for d in datasets])
    half = torch.zeros_like(labelled)  # the first half of a random order of each dataset's test split
    for d, data in enumerate(datasets):
        rows = (examples.dataset == d).nonzero()
        half[rows, torch.randperm(len(data.y_test), generator=generator)[: len(data.y_test) // 2]] = True
    half_a, half_b = (accuracy(right, labelled & h) for h in (half, ~half))
    size = min(INPUTS, *(len(d.y_train) for d in datasets))
    picks = [torch.randperm(len(d.y_train), generator=generator)[:size] for d in datasets]
    images = [(d.x_train[p], d.y_train[p]) for d, p in zip(datasets, picks, strict=True)]
    noise = [(torch.randn(x.shape, generator=generator), y) for x, y in images]
    y = metadata["test_accuracy"].to_numpy()
    readings = {
        "other half of the test split": (half_b, half_a),
        f"accuracy on {size} training images": (y, accuracy(*correct(examples, images))),
        f"linear probe, outputs on {size} training images": (y, probed(examples, images, y, train, select)),
        f"linear probe, outputs on {size} noise inputs": (y, probed(examples, noise, y, train, select)),
    }
    kinds = metadata.select("epoch", "prune_ratio").to_numpy()
    rows = []
    for name, (truth, prediction) in readings.items():
        overall = scores("continuous", truth[test], prediction[test])
        row = {"reading": name, "all rows: R² / tau": f"{overall['r2']:.3f} / {overall['kendall_tau']:.3f}"}
        for epoch, prune_ratio in np.unique(kinds[test], axis=0):
            at = test & (kinds[:, 0] == epoch) & (kinds[:, 1] == prune_ratio)
            label = f"tau: {epoch:g}" + (f", {prune_ratio:.0%} pruned" if prune_ratio else "")
            row[label] = f"{scores('continuous', truth[at], prediction[at])['kendall_tau']:.3f}"
        rows.append(row)
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=250, fmt_str_lengths=60, tbl_hide_dataframe_shape=True):
        print(f"{store.path}: {int(test.sum())} test rows, test accuracy read by running the models")
        print(pl.DataFrame(rows))


def logits(examples: Examples, inputs: list[torch.Tensor]) -> torch.Tensor:
    """(R, S, classes) every row's logits on its dataset's inputs (`inputs` per dataset), padded with -inf to the
    longest input set and the widest output layer."""
    width = max(a.blueprint.dense[-1].out_features for a in examples.architectures)
    out = torch.full((len(examples), max(len(x) for x in inputs), width), -torch.inf)
    for d, x in enumerate(inputs):
        for k, architecture in enumerate(examples.architectures):
            rows = ((examples.dataset == d) & (examples.architecture == k)).nonzero()[:, 0]
            if len(rows):  # logits_in_passes reads each row's own dataset's entry of a list of all of them
                part = logits_in_passes(examples, [x] * len(inputs), architecture, rows, examples.raw_features(rows))
                out[rows[:, None], torch.arange(len(x)), : part.shape[2]] = part
    return out


def correct(examples: Examples, data: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    """(R, S) whether each row's model classifies each of its dataset's inputs right (`data`: per dataset, inputs
    and labels), and which of the S are inputs of its dataset."""
    labels = torch.full((len(data), max(len(y) for _, y in data)), -1)
    for d, (_, y) in enumerate(data):
        labels[d, : len(y)] = y
    labels = labels[examples.dataset]
    return logits(examples, [x for x, _ in data]).argmax(-1) == labels, labels >= 0


def accuracy(right: torch.Tensor, counted: torch.Tensor) -> np.ndarray:
    """(R,) each row's share of right answers among its `counted` inputs."""
    return ((right & counted).sum(1) / counted.sum(1)).double().numpy()


def probed(
    examples: Examples,
    data: list[tuple[torch.Tensor, torch.Tensor]],
    y: np.ndarray,
    train: np.ndarray,
    select: np.ndarray,
) -> np.ndarray:
    """The linear probe's test accuracy predictions from each row's softmax outputs on its dataset's inputs (of one
    length)."""
    outputs = torch.softmax(logits(examples, [x for x, _ in data]), -1).flatten(1)
    return linear_probe("continuous", [outputs.double().numpy()], y, train, select)


if __name__ == "__main__":
    main()
