"""Ways to produce a model for a target accuracy on a dataset: graphspace's conditional samplers and the
baselines papers compare weight generators with. Each returns (n, F) raw canonical features and activations."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from graphspace.learn.examples import Architecture
from graphspace.learn.space import LearnedSpace
from graphspace.sample.evaluation import model_of
from graphspace.sample.latent import CONDITIONAL, ZooLatents, linear_gaussian, unconditional_kde

NOISE_SCALES = (0.05, 0.1, 0.2, 0.4, 0.8)  # noisy retrieval: Gaussian noise in units of each parameter group's spread
AVERAGED = 5  # zoo models in a k-nearest average
CANDIDATES = 8  # screened sampling: candidates decoded per model kept
GAP_NEIGHBORS = 16  # zoo rows whose median generalization gap calibrates screening
CONDITION_JITTER = 0.05  # screened sampling, round two: spread of the conditions, relative to the zoo's range


@dataclass(frozen=True)
class Screening:
    """Inputs and labels from a dataset's *training* split on which candidate models are screened (the test split,
    on which samples are judged, stays unseen)."""

    x: torch.Tensor
    y: torch.Tensor

    @torch.no_grad()
    def accuracy(self, architecture: Architecture, features: torch.Tensor, activations: list[str]) -> np.ndarray:
        """(n,) accuracy on the screening inputs of the models given by (n, F) raw canonical features."""
        return np.array(
            [
                float((model_of(architecture, f, a)(self.x).argmax(-1) == self.y).float().mean())
                for f, a in zip(features, activations, strict=True)
            ]
        )


@dataclass(frozen=True)
class Pool:
    """What the methods draw on for one dataset: its train rows (examples rows), their embeddings, recorded test
    accuracies, activations, raw canonical features and generalization gaps; the learned space; the architecture;
    inputs of the dataset's training split to screen candidates on."""

    space: LearnedSpace
    architecture: Architecture
    rows: torch.Tensor
    latents: ZooLatents
    activations: list[str]
    features: torch.Tensor
    gap: np.ndarray  # (rows,) recorded generalization gap (train - test accuracy)
    screening: Screening

    def matching(self, accuracy: float, count: int) -> np.ndarray:
        """Indices (into the pool) of the `count` rows whose accuracy is nearest `accuracy`."""
        return np.argsort(np.abs(self.latents.accuracy - accuracy), kind="stable")[:count]

    @torch.no_grad()
    def decode(self, z: np.ndarray) -> tuple[torch.Tensor, list[str]]:
        """Decode embeddings, each with the activation the activation head reads off it."""
        z = torch.as_tensor(z, dtype=torch.float32)
        chosen = self.space.model.activation_head(z).argmax(-1)
        features = self.space.model.decoder(z, chosen, self.architecture) * self.architecture.scale
        return features, [self.space.examples.activations[a] for a in chosen.tolist()]


Method = Callable[[Pool, float, int, np.random.Generator], tuple[torch.Tensor, list[str]]]


def conditional(name: str) -> Method:
    """A conditional latent sampler of `graphspace.sample.latent`, decoded."""
    return lambda pool, accuracy, n, rng: pool.decode(CONDITIONAL[name](pool.latents, accuracy, n, rng))


def screened(pool: Pool, accuracy: float, n: int, rng: np.random.Generator) -> tuple[torch.Tensor, list[str]]:
    """Sample, then select on training data. The goal: the target plus the median generalization gap of the zoo
    rows nearest the target (screening measures training accuracy). Round one decodes CANDIDATES * n / 2
    embeddings from the linear-Gaussian prior conditioned at accuracies drawn uniformly over the zoo's range;
    round two as many more, conditioned near the conditions of the n round-one candidates whose screening accuracy
    came nearest the goal (decoded models lean toward high accuracy, so the condition that gives a target is not
    the target). Of all candidates, the n nearest the goal are kept."""
    half = CANDIDATES * n // 2
    low, high = float(pool.latents.accuracy.min()), float(pool.latents.accuracy.max())
    goal = accuracy + float(np.median(pool.gap[pool.matching(accuracy, GAP_NEIGHBORS)]))

    def candidates(conditions: np.ndarray) -> tuple[torch.Tensor, list[str], np.ndarray]:
        features, activations = pool.decode(linear_gaussian(pool.latents, conditions, half, rng))
        return features, activations, pool.screening.accuracy(pool.architecture, features, activations)

    def nearest_goal(measured: np.ndarray) -> np.ndarray:
        return np.argsort(np.abs(measured - goal), kind="stable")[:n]

    conditions = rng.uniform(low, high, half)
    features, activations, measured = candidates(conditions)
    best = conditions[nearest_goal(measured)]
    refined = np.clip(rng.choice(best, half) + CONDITION_JITTER * (high - low) * rng.standard_normal(half), low, high)
    more, more_activations, more_measured = candidates(refined)
    features, activations = torch.cat([features, more]), activations + more_activations
    keep = nearest_goal(np.concatenate([measured, more_measured]))
    return features[keep], [activations[i] for i in keep]


def retrieval(pool: Pool, accuracy: float, n: int, rng: np.random.Generator) -> tuple[torch.Tensor, list[str]]:
    """The `n` zoo models whose recorded accuracy is nearest the target."""
    pick = pool.matching(accuracy, n)
    return pool.features[pick], [pool.activations[i] for i in pick]


def noisy_retrieval(scale: float) -> Method:
    """Retrieval plus Gaussian noise of `scale` times each parameter group's spread."""

    def method(pool: Pool, accuracy: float, n: int, rng: np.random.Generator) -> tuple[torch.Tensor, list[str]]:
        features, activations = retrieval(pool, accuracy, n, rng)
        noise = torch.from_numpy(rng.standard_normal(features.shape)).float() * scale * pool.architecture.scale
        return features + noise, activations

    return method


def knn_average(pool: Pool, accuracy: float, n: int, rng: np.random.Generator) -> tuple[torch.Tensor, list[str]]:
    """Each sample: the average of AVERAGED zoo models (of one activation) drawn from the 2 * AVERAGED whose
    accuracy is nearest the target."""
    features, activations = [], []
    for _ in range(n):
        nearest = pool.matching(accuracy, 1)[0]
        activation = pool.activations[nearest]
        same = np.array(
            [
                i
                for i in np.argsort(np.abs(pool.latents.accuracy - accuracy), kind="stable")
                if pool.activations[i] == activation
            ][: 2 * AVERAGED]
        )
        pick = rng.choice(same, size=min(AVERAGED, len(same)), replace=False)
        features.append(pool.features[pick].mean(0))
        activations.append(activation)
    return torch.stack(features), activations


def unconditional(pool: Pool, accuracy: float, n: int, rng: np.random.Generator) -> tuple[torch.Tensor, list[str]]:
    """Per-dimension KDE of the zoo's embeddings, ignoring the target, decoded."""
    return pool.decode(unconditional_kde(pool.latents, n, rng))


def random_init(pool: Pool, accuracy: float, n: int, rng: np.random.Generator) -> tuple[torch.Tensor, list[str]]:
    """Untrained models: torch's default initialization of the architecture, activations as in the zoo."""
    features, activations = [], []
    torch_generator = torch.Generator().manual_seed(int(rng.integers(2**31)))
    for _ in range(n):
        activation = pool.activations[int(rng.integers(len(pool.activations)))]
        with torch.random.fork_rng():
            torch.manual_seed(int(torch.randint(2**31, (1,), generator=torch_generator)))
            model = pool.architecture.blueprint.build(activation, 0.0)
        features.append(pool.architecture.canonical(model))
        activations.append(activation)
    return torch.stack(features), activations
