"""Encoding zoo rows into the weight space and decoding embeddings back into runnable models."""

from __future__ import annotations

import torch

from graphspace.learn.batch import architecture_order, architecture_runs, graph_batch
from graphspace.learn.examples import Examples
from graphspace.learn.model import WeightSpace

EMBED_BATCH = 256


@torch.no_grad()
def embed(model: WeightSpace, examples: Examples, rows: torch.Tensor) -> torch.Tensor:
    """(len(rows), latent) embeddings of `rows`, in the order given."""
    model.eval()
    out = torch.empty(len(rows), model.config.latent)
    for part in torch.arange(len(rows)).split(EMBED_BATCH):
        order = part[torch.argsort(examples.architecture[rows[part]], stable=True)]
        z = model.encoder(graph_batch(examples, rows[order]))
        out[order] = z
    return out


@torch.no_grad()
def decode_rows(model: WeightSpace, examples: Examples, rows: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per architecture: (its rows, (rows, F) raw features decoded from their embeddings, with their own
    activations)."""
    model.eval()
    rows = architecture_order(examples, rows)
    z = embed(model, examples, rows)
    out, start = [], 0
    for k, at in architecture_runs(examples, rows):
        architecture = examples.architectures[k]
        decoded = model.decoder(z[start : start + len(at)], examples.activation[at], architecture)
        out.append((at, decoded * architecture.scale))
        start += len(at)
    return out
