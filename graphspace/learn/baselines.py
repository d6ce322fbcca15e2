"""What the decoder is compared with: test models "decoded" without learning from their embeddings.

Each baseline returns, like `graphspace.learn.codec.decode_rows`, (rows, raw features) per architecture.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.decomposition import PCA

from graphspace.data.dataset import Dataset
from graphspace.learn.batch import architecture_order, architecture_runs
from graphspace.learn.examples import Examples
from graphspace.learn.quality import predictions


def best_train_rows(examples: Examples) -> dict[tuple[int, int], int]:
    """The most accurate train row of each (architecture, activation), for every architecture that has train rows;
    an activation no train model of the architecture has (a small zoo's split) gets the architecture's best."""
    train_rows = examples.rows("train")
    best = {}
    for k in range(len(examples.architectures)):
        architecture = train_rows[examples.architecture[train_rows] == k]
        for activation in range(len(examples.activations)):
            candidates = architecture[examples.activation[architecture] == activation]
            candidates = candidates if len(candidates) else architecture
            if len(candidates):
                best[k, activation] = int(candidates[examples.results[candidates, 0].argmax()])
    return best


def best_model_baseline(examples: Examples, rows: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Every row "decoded" as the decoder's starting template: the most accurate train model of its architecture
    and activation. Returns (rows, raw features) per architecture like `decode_rows`."""
    rows = architecture_order(examples, rows)
    best = best_train_rows(examples)
    out = []
    for k, at in architecture_runs(examples, rows):
        chosen = torch.tensor([best[k, a] for a in examples.activation[at].tolist()])
        out.append((at, examples.raw_features(chosen)))
    return out


def pca_baseline(examples: Examples, rows: torch.Tensor, latent: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The simplest weight autoencoder: per architecture, PCA with `latent` components fitted on the train rows'
    normalized features; returns (rows, reconstructed raw features) like `decode_rows`."""
    rows = architecture_order(examples, rows)
    out = []
    train_rows = examples.rows("train")
    for k, at in architecture_runs(examples, rows):
        architecture = examples.architectures[k]
        fit_rows = train_rows[examples.architecture[train_rows] == k]
        fitted = examples.raw_features(fit_rows) / architecture.scale
        pca = PCA(n_components=min(latent, *fitted.shape), svd_solver="full").fit(fitted.double().numpy())
        normalized = (examples.raw_features(at) / architecture.scale).double().numpy()
        restored = torch.from_numpy(pca.inverse_transform(pca.transform(normalized)).astype(np.float32))
        out.append((at, restored * architecture.scale))
    return out


def nearest_train_baseline(
    examples: Examples, datasets: dict[str, Dataset], rows: torch.Tensor
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Every row "decoded" as the train checkpoint of its architecture, dataset and activation (any activation where
    no train model has the row's) whose predictions on the dataset's test split agree most with the row's own. An
    oracle: it looks at the held-out models' behavior, so it bounds what any decoder that can only reproduce
    zoo-like models reaches."""
    rows = architecture_order(examples, rows)
    train_rows = examples.rows("train")
    kinds = torch.stack([examples.dataset, examples.activation], 1)  # (rows, 2): what a row is compared within
    out = []
    for k, at in architecture_runs(examples, rows):
        chosen = torch.empty_like(at)
        for kind in kinds[at].unique(dim=0):
            own = (kinds[at] == kind).all(1).nonzero()[:, 0]
            same = train_rows[(examples.architecture[train_rows] == k) & (kinds[train_rows, 0] == kind[0])]
            pool = same[(kinds[same] == kind).all(1)]
            pool = pool if len(pool) else same  # no train model with this activation: any of the dataset's
            agreement = _one_hot(examples, datasets, at[own]) @ _one_hot(examples, datasets, pool).T  # (own, pool)
            chosen[own] = pool[agreement.argmax(1)]
        out.append((at, examples.raw_features(chosen)))
    return out


def _one_hot(examples: Examples, datasets: dict[str, Dataset], rows: torch.Tensor) -> torch.Tensor:
    """(rows, test size * classes) one-hot test-split predictions of stored rows (of one architecture and
    dataset): a product of two of them counts the inputs where two models predict the same class."""
    predicted = torch.stack(predictions(examples, datasets, rows, examples.raw_features(rows)))
    classes = examples.architectures[int(examples.architecture[rows[0]])].blueprint.dense[-1].out_features
    return torch.nn.functional.one_hot(predicted, classes).flatten(1).float()
