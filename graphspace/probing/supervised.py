"""The supervised reference: a GNN of the learn section's size trained end to end to predict every probe target
from the weights (one encoder, one linear head per target), the upper reference for what frozen embeddings can
reach."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from graphspace.allocator import retain_freed_memory
from graphspace.device import CPU, moved, placed
from graphspace.learn.batch import GraphBatch, architecture_order
from graphspace.learn.codec import encode_graphs, encode_rows
from graphspace.learn.encoder import WeightEncoder
from graphspace.learn.examples import Examples
from graphspace.learn.training import batches
from graphspace.probing.targets import ProbeTarget


class Heads(nn.Module):
    """Encoder and one linear head per target: (B, sum of head sizes) outputs."""

    def __init__(self, encoder: WeightEncoder, latent: int, sizes: list[int]) -> None:
        super().__init__()
        self.encoder = encoder
        self.heads = nn.Linear(latent, sum(sizes))

    def forward(self, graphs: GraphBatch) -> torch.Tensor:
        """(B, sum of head sizes) outputs."""
        return self.heads(self.encoder(graphs))


def supervised_probe(
    examples: Examples,
    targets: list[ProbeTarget],
    values: list[np.ndarray],
    size: tuple[int, int, int],
    training: tuple[int, int, float, int],
    on_epoch: Callable[[int, int], None] | None = None,
    device: torch.device = CPU,
) -> list[np.ndarray]:
    """Predictions for every row of every target (in the order of `targets`, whose `values` are given per row).

    Args:
        examples: the zoo (row r = metadata row r).
        size: (hidden, layers, latent) of the encoder.
        training: (epochs, batch size, learning rate, seed). Continuous targets are standardized over the train
            rows and fitted by squared error, categorical ones by cross-entropy; the epoch with the lowest
            validation loss is kept (the last one when there are no validation rows).
        device: where the GNN trains.
    """
    epochs, batch_size, lr, seed = training
    retain_freed_memory()
    encoded = [_encode(t, v, examples.rows("train").numpy()) for t, v in zip(targets, values, strict=True)]
    sizes = [len(classes) if classes is not None else None for _, classes, _ in encoded]
    widths = [size or 1 for size in sizes]  # outputs per target
    labels = torch.stack([torch.as_tensor(y, dtype=torch.float32) for y, _, _ in encoded], dim=1)  # (R, T)
    hidden, layers, latent = size
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        encoder = WeightEncoder(math.prod(examples.architectures[0].skeleton.grid), hidden, layers, latent)
        model = Heads(encoder, latent, widths).to(device)
    examples, labels = moved((examples, labels), device)
    with placed(device):
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
        train, val = examples.rows("train"), examples.rows("val")
        best, best_loss = copy.deepcopy(model.state_dict()), math.inf
        for epoch in range(epochs):
            model.train()
            generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
            for rows in batches(train[torch.randperm(len(train), generator=generator, device=CPU)], batch_size):
                rows = architecture_order(examples, rows)
                loss = _loss(encode_graphs(model, examples, rows, hidden), labels[rows], sizes)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
            if len(val):
                with torch.no_grad():
                    loss = float(_loss(encode_rows(model, examples, val, hidden), labels[val], sizes))
            if len(val) == 0 or loss < best_loss:
                best, best_loss = copy.deepcopy(model.state_dict()), loss
            if on_epoch:
                on_epoch(epoch + 1, epochs)
        model.load_state_dict(best)
        outputs = encode_rows(model, examples, torch.arange(len(examples)), hidden).cpu().split(widths, dim=1)
    return [_decode(out, classes, scale) for out, (_, classes, scale) in zip(outputs, encoded, strict=True)]


def _encode(target: ProbeTarget, y: np.ndarray, train: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, tuple]:
    """Per row: a standardized value, or a class index; the classes; the (mean, std) to undo standardizing."""
    if target.kind == "categorical":
        classes, codes = np.unique(y, return_inverse=True)
        return codes, classes, ()
    mean, std = y[train].mean(), y[train].std()
    std = std if std > 0 else 1.0
    return (y - mean) / std, None, (mean, std)


def _loss(outputs: torch.Tensor, labels: torch.Tensor, sizes: list[int | None]) -> torch.Tensor:
    """Mean over targets of the squared error (sizes None: continuous) or the cross-entropy (sizes: classes)."""
    terms = []
    for t, out in enumerate(outputs.split([size or 1 for size in sizes], dim=1)):
        if sizes[t] is None:
            terms.append(F.mse_loss(out[:, 0], labels[:, t]))
        else:
            terms.append(F.cross_entropy(out, labels[:, t].long()))
    return torch.stack(terms).mean()


def _decode(out: torch.Tensor, classes: np.ndarray | None, scale: tuple) -> np.ndarray:
    if classes is not None:
        return classes[out.argmax(1).numpy()]
    mean, std = scale
    return out[:, 0].double().numpy() * std + mean
