"""What running the models says about their test accuracy: a scale for the probe stage's figures, which read it
from the weights alone.

For the test rows of a store (the probe stage's split), each reading of test accuracy below is scored as the probe
table scores a prediction (R² and Kendall's tau over all test rows) and by Kendall's tau within each kind of test
row (epoch, pruning ratio), as `graphspace info` ranks the probes:

    true accuracy, test split      what a prediction that knew each model's accuracy on the data distribution
    resampled (bootstrap)          would score against its measurement on a test split of this size, simulated:
                                   the measured accuracies stand for the true ones, and each model's accuracy on
                                   a bootstrap resample of its dataset's test split is scored as the prediction
                                   of its measured accuracy. The resample draws the split's images with
                                   replacement, the same ones for every model of the dataset, so that models
                                   that err on the same images move together; its shift of all its models'
                                   accuracies alike is taken off (a probe's intercept absorbs it). Scores are the
                                   mean over 50 resamples (the measured spread includes the noise, so the tau
                                   leans high; the R² is that of a predictor of true accuracy). Not a bound on
                                   the probes, which are fitted to measurements on the same split: a measured
                                   accuracy depends on the split's particular images, and models alike in recipe
                                   or weights err on like images. The script prints the same reading of the
                                   generalization gap (train accuracy less test accuracy): a probe table's gap
                                   row above it shows a probe reading the split's particular images
    other half of the test split   the accuracy on one random half of the test split as the prediction of the
                                   accuracy on the other half: the same noise on half the images each, a lower
                                   reference than the whole split's
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
from graphspace.learn.behavior import logits_of_rows
from graphspace.learn.examples import Examples, load_examples
from graphspace.probing.estimators import linear_probe, scores
from graphspace.probing.stage import probe_rows

SEED = 0
INPUTS = 256
DRAWS = 50


def main() -> None:
    store, _ = store_and_names(__doc__)
    metadata = store.metadata()
    examples = load_examples(store, store.split())
    datasets = [load_datasets(store.spec.datasets)[name] for name in examples.datasets]
    train, select, test = probe_rows(metadata)
    generator = torch.Generator().manual_seed(SEED)
    right = correct(examples, [(d.x_test, d.y_test) for d in datasets])
    halves = [torch.randperm(len(d.y_test), generator=generator)[: len(d.y_test) // 2] for d in datasets]
    first = [
        torch.zeros(len(d.y_test), dtype=torch.bool).index_fill_(0, h, True)
        for d, h in zip(datasets, halves, strict=True)
    ]
    own = [first[d] for d in examples.dataset.tolist()]  # each row's first half of its dataset's test split
    half_a, half_b = accuracy(right, own), accuracy(right, [~h for h in own])
    size = min(INPUTS, *(len(d.y_train) for d in datasets))
    picks = [torch.randperm(len(d.y_train), generator=generator)[:size] for d in datasets]
    images = [(d.x_train[p], d.y_train[p]) for d, p in zip(datasets, picks, strict=True)]
    noise = [(torch.randn(x.shape, generator=generator), y) for x, y in images]
    y = metadata["test_accuracy"].to_numpy()
    whole = accuracy(right)  # each row's accuracy on its whole test split, as running the models reads it
    draws = [resampled(right, whole, examples.dataset.numpy(), generator) for _ in range(DRAWS)]
    readings = {  # reading: the (truth, prediction) pairs it is scored on, on average
        "true accuracy, test split resampled (bootstrap)": [(y, draw) for draw in draws],
        "other half of the test split": [(half_b, half_a)],
        f"accuracy on {size} training images": [(y, accuracy(correct(examples, images)))],
        f"linear probe, outputs on {size} training images": [(y, probed(examples, images, y, train, select))],
        f"linear probe, outputs on {size} noise inputs": [(y, probed(examples, noise, y, train, select))],
    }
    kinds = metadata.select("epoch", "prune_ratio").to_numpy()
    rows = []
    for name, pairs in readings.items():
        r2, tau = scored(pairs, test)
        row = {"reading": name, "all rows: R² / tau": f"{r2:.3f} / {tau:.3f}"}
        for epoch, prune_ratio in np.unique(kinds[test], axis=0):
            at = test & (kinds[:, 0] == epoch) & (kinds[:, 1] == prune_ratio)
            label = f"tau: {epoch:g}" + (f", {prune_ratio:.0%} pruned" if prune_ratio else "")
            row[label] = f"{scored(pairs, at)[1]:.3f}"
        rows.append(row)
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=250, fmt_str_lengths=60, tbl_hide_dataframe_shape=True):
        print(f"{store.path}: {int(test.sum())} test rows, test accuracy read by running the models")
        print(pl.DataFrame(rows))
    train_accuracy = metadata["train_accuracy"].to_numpy()
    r2, tau = scored([(train_accuracy - y, train_accuracy - draw) for draw in draws], test)
    print(
        "the bootstrap reading of the generalization gap (train accuracy less the resampled test accuracy): "
        f"R² {r2:.3f} / tau {tau:.3f}; compare the probe table's generalization_gap rows "
        f"(`graphspace info {store.path}`)"
    )


def scored(pairs: list[tuple[np.ndarray, np.ndarray]], rows: np.ndarray) -> tuple[float, float]:
    """R² and Kendall's tau of predictions against truths on `rows` (a mask), each the mean over `pairs`."""
    each = [scores("continuous", truth[rows], prediction[rows]) for truth, prediction in pairs]
    return float(np.mean([s["r2"] for s in each])), float(np.mean([s["kendall_tau"] for s in each]))


def resampled(
    right: list[torch.Tensor], whole: np.ndarray, dataset: np.ndarray, generator: torch.Generator
) -> np.ndarray:
    """Every row's accuracy on a bootstrap resample of its dataset's test split, drawn once per dataset so that
    every model of a dataset is read on the same images, less the resample's mean change over the dataset's rows
    from their accuracies on the whole split (`right`: per row, whether its model classifies each test input right;
    `whole`: each row's accuracy on the whole split; `dataset`: each row's dataset)."""
    accuracies = np.empty(len(right))
    for d in np.unique(dataset):
        rows = np.flatnonzero(dataset == d)
        size = len(right[rows[0]])
        picks = torch.randint(size, (size,), generator=generator)
        drawn = np.array([float(right[row][picks].float().mean()) for row in rows])
        accuracies[rows] = drawn - (drawn - whole[rows]).mean()
    return accuracies


def logits(examples: Examples, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    """Every row's logits on its dataset's inputs (`inputs` per dataset): one (S, classes) tensor per row."""
    out: list[torch.Tensor] = [torch.empty(0)] * len(examples)
    for k, architecture in enumerate(examples.architectures):
        rows = (examples.architecture == k).nonzero()[:, 0]
        for row, row_logits in zip(
            rows.tolist(),
            logits_of_rows(examples, inputs, architecture, rows, examples.raw_features(rows)),
            strict=True,
        ):
            out[row] = row_logits
    return out


def correct(examples: Examples, data: list[tuple[torch.Tensor, torch.Tensor]]) -> list[torch.Tensor]:
    """Per row, whether its model classifies each of its dataset's inputs right (`data`: inputs and labels per
    dataset)."""
    outputs = logits(examples, [x for x, _ in data])
    return [o.argmax(-1) == data[d][1] for o, d in zip(outputs, examples.dataset.tolist(), strict=True)]


def accuracy(right: list[torch.Tensor], counted: list[torch.Tensor] | None = None) -> np.ndarray:
    """Each row's share of right answers, among its `counted` inputs (default: all of them)."""
    counted = counted or [torch.ones_like(r) for r in right]
    return np.array([float(r[c].float().mean()) for r, c in zip(right, counted, strict=True)])


def probed(
    examples: Examples,
    data: list[tuple[torch.Tensor, torch.Tensor]],
    y: np.ndarray,
    train: np.ndarray,
    select: np.ndarray,
) -> np.ndarray:
    """The linear probe's test accuracy predictions from each row's softmax outputs on its dataset's inputs (of one
    length; outputs zero-padded to the widest output layer)."""
    outputs = [torch.softmax(o, -1) for o in logits(examples, [x for x, _ in data])]
    width = max(o.shape[1] for o in outputs)
    features = torch.stack([torch.nn.functional.pad(o, (0, width - o.shape[1])).flatten() for o in outputs])
    return linear_probe("continuous", [features.double().numpy()], y, train, select)


if __name__ == "__main__":
    main()
