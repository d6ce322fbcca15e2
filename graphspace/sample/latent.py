"""Samplers of weight embeddings: conditional ones given a target accuracy on a dataset, and the unconditional
per-dimension KDE of hyper-representation work. Each is fitted on the embeddings of the zoo's train rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.covariance import LedoitWolf


@dataclass(frozen=True)
class ZooLatents:
    """The train rows of one dataset: embeddings (R, latent) and recorded test accuracies (R,)."""

    z: np.ndarray
    accuracy: np.ndarray


def neighbor_kde(zoo: ZooLatents, accuracy: float, n: int, rng: np.random.Generator, k: int = 16) -> np.ndarray:
    """(n, latent) draws from a Gaussian KDE over the embeddings of the `k` rows whose accuracy is nearest the
    target (bandwidth: half the per-dimension spread of those rows)."""
    nearest = np.argsort(np.abs(zoo.accuracy - accuracy), kind="stable")[:k]
    centers = zoo.z[nearest]
    bandwidth = 0.5 * centers.std(0)
    return centers[rng.integers(len(centers), size=n)] + bandwidth * rng.standard_normal((n, zoo.z.shape[1]))


def linear_gaussian(zoo: ZooLatents, accuracy: float | np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, latent) draws from z ~ N(B [1, a, a²], Σ): B by least squares on the rows, Σ the Ledoit-Wolf covariance
    of the residuals; `accuracy` is one target for all draws or (n,) targets, one each."""
    design = np.stack([np.ones_like(zoo.accuracy), zoo.accuracy, zoo.accuracy**2], axis=1)
    coefficients, *_ = np.linalg.lstsq(design, zoo.z, rcond=None)
    residuals = zoo.z - design @ coefficients
    covariance = LedoitWolf().fit(residuals).covariance_
    a = np.broadcast_to(np.asarray(accuracy, dtype=np.float64), (n,))
    mean = np.stack([np.ones(n), a, a**2], axis=1) @ coefficients  # (n, latent)
    return mean + rng.multivariate_normal(np.zeros(zoo.z.shape[1]), covariance, size=n)


def unconditional_kde(zoo: ZooLatents, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, latent) draws of each dimension independently from its Gaussian KDE over the rows (Silverman's
    bandwidth): the unconditional sampler of hyper-representation work."""
    rows, latent = zoo.z.shape
    bandwidth = 1.06 * zoo.z.std(0) * rows ** (-1 / 5)
    picks = rng.integers(rows, size=(n, latent))
    return zoo.z[picks, np.arange(latent)] + bandwidth * rng.standard_normal((n, latent))


CONDITIONAL = {"neighbor_kde": neighbor_kde, "linear_gaussian": linear_gaussian}
