"""Conditional sampling: models for a target accuracy on a dataset, from the learned space and from the baselines,
every one evaluated for real on the dataset's test split, with its novelty against the zoo.

Methods (the `method` column): graphspace's conditional latent samplers `neighbor_kde` and `linear_gaussian`
(decoded; see `graphspace.sample.latent`), and the baselines `retrieval` (the zoo models whose recorded accuracy
is nearest the target), `noisy_retrieval(s)` (those plus Gaussian noise of s times each parameter group's spread,
s chosen so that its disagreement with the nearest zoo model is closest to the default sampler's), `knn_average`,
`unconditional_kde` and `random_init`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import polars as pl
import torch
from torch import nn

from graphspace.data import load_datasets
from graphspace.data.dataset import Dataset
from graphspace.determinism import deterministic
from graphspace.errors import StoreError
from graphspace.learn.examples import RESULTS
from graphspace.learn.space import LearnedSpace, learned_space
from graphspace.progress import Progress
from graphspace.sample.evaluation import Zoo, canonical, evaluate, model_of
from graphspace.sample.latent import ZooLatents
from graphspace.sample.methods import (
    NOISE_SCALES,
    Pool,
    Screening,
    conditional,
    knn_average,
    noisy_retrieval,
    random_init,
    retrieval,
    screened,
    unconditional,
)
from graphspace.spec import MAX_SEED, Spec
from graphspace.store import Store

SCREEN_INPUTS = 1024  # training inputs each candidate of screened sampling is measured on
DEFAULT = "screened"  # the sampler `query` returns and saves: the best aligned (README, Results)
METHODS = {
    "neighbor_kde": conditional("neighbor_kde"),
    "linear_gaussian": conditional("linear_gaussian"),
    "screened": screened,
    "retrieval": retrieval,
    "knn_average": knn_average,
    "unconditional_kde": unconditional,
    "random_init": random_init,
}
SAMPLE_SCHEMA = {
    "target": pl.Int64,
    "dataset": pl.String,
    "target_accuracy": pl.Float64,
    "method": pl.String,
    "sample": pl.Int64,
    "accuracy": pl.Float64,
    "abs_error": pl.Float64,
    "nearest_zoo_id": pl.Int64,
    "nearest_zoo_distance": pl.Float64,
    "disagreement_with_nearest": pl.Float64,
    "architecture": pl.String,
    "activation": pl.String,
}


@dataclass(frozen=True)
class Samples:
    """Sampled models: one row each in `frame` (SAMPLE_SCHEMA), and each one's (F,) raw canonical features."""

    frame: pl.DataFrame
    features: list[torch.Tensor]
    warnings: list[str]

    def models(self, space: LearnedSpace) -> list[nn.Sequential]:
        """The runnable models, in the frame's order."""
        keys = [a.key for a in space.examples.architectures]
        return [
            model_of(space.examples.architectures[keys.index(row["architecture"])], f, row["activation"])
            for row, f in zip(self.frame.iter_rows(named=True), self.features, strict=True)
        ]


@deterministic()
def sample_targets(
    store: Store,
    datasets: dict[str, Dataset],
    targets: list[tuple[str, float]],
    n: int,
    seed: int,
    progress: Progress | None = None,
) -> Samples:
    """`n` models per (dataset, accuracy) target and method, each evaluated. A target outside the accuracies of
    the dataset's train rows is sampled at the nearest one, with a warning."""
    space = learned_space(store)
    embeddings = store.embeddings()["embedding"].to_numpy()  # row = id
    pools, zoos = {}, {}  # per dataset, shared by its targets
    frames, features, notes = [], [], []
    noisy: dict[float, list] = {s: [] for s in NOISE_SCALES}
    for t, (name, accuracy) in enumerate(targets):
        if name not in pools:
            pools[name] = _pool(space, embeddings, name, datasets[name], seed)
            zoos[name] = _zoo(store, space, pools[name], name, seed)
        pool, zoo = pools[name], zoos[name]
        low, high = float(pool.latents.accuracy.min()), float(pool.latents.accuracy.max())
        goal = min(max(accuracy, low), high)
        if goal != accuracy:
            notes.append(
                f"target accuracy {accuracy:g} on {name} is outside the zoo's range [{low:.3f}, {high:.3f}]; "
                f"sampled for {goal:.3f}, the closest the zoo supports."
            )
        rng = np.random.default_rng([seed, t])
        results = {}
        for method, draw in METHODS.items():
            results[method] = _evaluated(zoo, datasets[name], *draw(pool, goal, n, rng))
            if progress:
                progress("sample", t * (len(METHODS) + 1) + len(results), len(targets) * (len(METHODS) + 1), method)
        for scale in NOISE_SCALES:
            noisy[scale].append(
                _labeled(
                    *_evaluated(zoo, datasets[name], *noisy_retrieval(scale)(pool, goal, n, rng)),
                    t,
                    name,
                    accuracy,
                    f"noisy_retrieval({scale:g})",
                )
            )
        for method, (frame, f) in results.items():
            frames.append(_labeled(frame, f, t, name, accuracy, method))
    if targets:  # the noise scale whose median disagreement with the nearest zoo model is closest to DEFAULT's
        wanted = pl.concat([f for f, _ in frames if f["method"][0] == DEFAULT])["disagreement_with_nearest"].median()
        scale = min(
            NOISE_SCALES,
            key=lambda s: abs(pl.concat([f for f, _ in noisy[s]])["disagreement_with_nearest"].median() - wanted),
        )
        frames += noisy[scale]
    for _, f in frames:
        features.extend(f)
    frames = [f for f, _ in frames]
    frame = pl.concat(
        [pl.DataFrame(schema=SAMPLE_SCHEMA), *[f.select(list(SAMPLE_SCHEMA)).cast(SAMPLE_SCHEMA) for f in frames]]
    )
    return Samples(frame, features, notes)


def sample_stage(store: Store, spec: Spec, datasets: dict[str, Dataset], progress: Progress | None = None) -> None:
    """Sample the spec's `sample.targets` (or skip when done) and write them to the store's samples group."""
    if not spec.sample.targets:
        return
    store.start_sampling(spec.sample)
    if store.sampled():
        return
    first = spec.datasets[0].name
    targets = [(t.dataset or first, t.accuracy) for t in spec.sample.targets]
    samples = sample_targets(store, datasets, targets, spec.sample.n, spec.seed, progress)
    for note in samples.warnings:
        warnings.warn(note, stacklevel=2)
    store.write_samples(samples.frame, samples.features)


def query(
    store: Store,
    accuracy: float,
    dataset: str | None = None,
    n: int = 16,
    seed: int = 0,
    progress: Progress | None = None,
) -> tuple[Samples, list[nn.Sequential]]:
    """Sample `n` models per method for a target accuracy on `dataset` (default: the store's first dataset),
    evaluated; returns the samples and the runnable models of the default sampler."""
    spec = store.spec
    if n < 1:
        raise StoreError(f"query: n must be at least 1 (models per method); got {n}.")
    if not 0.0 <= accuracy <= 1.0:
        raise StoreError(f"query: accuracy is a test accuracy between 0 and 1; got {accuracy}.")
    if not 0 <= seed <= MAX_SEED:
        raise StoreError(f"query: seed must be between 0 and 2^31 - 1, as the spec's seeds; got {seed}.")
    name = dataset or spec.datasets[0].name
    known = [d.name for d in spec.datasets]
    if name not in known:
        raise StoreError(f"query: dataset {name!r} is not in store {store.path}; it has {', '.join(known)}.")
    datasets = load_datasets([d for d in spec.datasets if d.name in _with_bases(spec, name)])
    samples = sample_targets(store, datasets, [(name, accuracy)], n, seed, progress)
    default = (samples.frame["method"] == DEFAULT).to_list()
    features = [f for f, keep in zip(samples.features, default, strict=True) if keep]
    picked = Samples(samples.frame.filter(pl.Series(default)), features, [])
    return samples, picked.models(learned_space(store))


def summarize_samples(frame: pl.DataFrame) -> pl.DataFrame:
    """Per target and method: median achieved accuracy, median |achieved - target|, share within 2 points,
    median novelty (relative distance, disagreement with the nearest zoo model)."""
    return (
        frame.group_by("target", "dataset", "target_accuracy", "method", maintain_order=True)
        .agg(
            pl.len().alias("n"),
            pl.col("accuracy").median().alias("accuracy"),
            pl.col("abs_error").median().alias("abs_error"),
            (pl.col("abs_error") <= 0.02).mean().alias("within_2pt"),
            pl.col("nearest_zoo_distance").median().alias("distance"),
            pl.col("disagreement_with_nearest").median().alias("disagreement"),
        )
        .sort("target", maintain_order=True)
    )


def alignment(frame: pl.DataFrame) -> pl.DataFrame:
    """Per method, over all targets: R² of achieved against target accuracy (prompt alignment) and the median
    |achieved - target|."""
    rows = []
    for (method,), part in frame.group_by("method", maintain_order=True):
        target, achieved = part["target_accuracy"].to_numpy(), part["accuracy"].to_numpy()
        total = ((target - target.mean()) ** 2).sum()
        r2 = 1 - ((achieved - target) ** 2).sum() / total if total > 0 else float("nan")
        rows.append({"method": method, "r2": r2, "abs_error": float(np.median(np.abs(achieved - target)))})
    return pl.DataFrame(rows)


def _pool(space: LearnedSpace, embeddings: np.ndarray, name: str, dataset: Dataset, seed: int) -> Pool:
    """The train rows of a dataset, with their stored embeddings (`embeddings`: row = id), and SCREEN_INPUTS
    inputs of its training split drawn with `seed`."""
    examples = space.examples
    learned = [examples.datasets[i] for i in examples.known_datasets().tolist()]
    if name not in learned:
        held_out = " (it is in learn.holdout_datasets)" if name in examples.datasets else ""
        raise StoreError(
            f"sample: no model of dataset {name!r} was learned from{held_out}; sampling starts from a dataset's "
            f"train models. Datasets learned from: {', '.join(learned)}."
        )
    train = examples.rows("train")
    rows = train[examples.dataset[train] == examples.datasets.index(name)]
    (k,) = examples.architecture[rows].unique().tolist()
    z = embeddings[examples.ids[rows].numpy()]
    accuracy = examples.results[rows, 0].numpy().astype(np.float64)
    gap = examples.results[rows, RESULTS.index("generalization_gap")].numpy().astype(np.float64)
    activations = [examples.activations[a] for a in examples.activation[rows].tolist()]
    picked = torch.randperm(len(dataset.x_train), generator=torch.Generator().manual_seed(seed))[:SCREEN_INPUTS]
    return Pool(
        space,
        examples.architectures[k],
        rows,
        ZooLatents(z, accuracy),
        activations,
        examples.raw_features(rows),
        gap,
        Screening(dataset.x_train[picked], dataset.y_train[picked]),
    )


def _zoo(store: Store, space: LearnedSpace, pool: Pool, name: str, seed: int) -> Zoo:
    examples = space.examples
    rows = (examples.dataset == examples.datasets.index(name)).nonzero()[:, 0]  # every zoo row of the dataset
    return Zoo.of(store, pool.architecture, examples.ids[rows].numpy(), examples.raw_features(rows), seed)


def _evaluated(
    zoo: Zoo, dataset: Dataset, features: torch.Tensor, activations: list[str]
) -> tuple[pl.DataFrame, torch.Tensor]:
    features = torch.stack([canonical(zoo.architecture, f, a) for f, a in zip(features, activations, strict=True)])
    measured = evaluate(zoo, features, activations, dataset)
    frame = pl.DataFrame(
        {
            "sample": np.arange(len(features)),
            **measured,
            "architecture": zoo.architecture.key,
            "activation": activations,
        }
    )
    return frame, features


def _labeled(
    frame: pl.DataFrame, features: torch.Tensor, target: int, dataset: str, accuracy: float, method: str
) -> tuple[pl.DataFrame, torch.Tensor]:
    labeled = frame.with_columns(
        target=target,
        dataset=pl.lit(dataset),
        target_accuracy=accuracy,
        method=pl.lit(method),
        abs_error=(pl.col("accuracy") - accuracy).abs(),
    )
    return labeled, features


def _with_bases(spec: Spec, name: str) -> set[str]:
    """A dataset's name and the names of every dataset it is derived from."""
    by_name = {d.name: d for d in spec.datasets}
    names = {name}
    while (base := getattr(by_name[name], "base", None)) is not None:
        names.add(base)
        name = base
    return names
