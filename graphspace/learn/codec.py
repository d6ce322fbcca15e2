"""Encoding zoo rows into the weight space and decoding embeddings back into runnable models."""

from __future__ import annotations

import torch
from torch import nn

from graphspace.learn.batch import architecture_order, architecture_runs, graph_batch
from graphspace.learn.examples import Examples
from graphspace.learn.memory import chunked, chunks
from graphspace.learn.model import WeightSpace

EMBED_BATCH = 256


@torch.no_grad()
def embed(model: WeightSpace, examples: Examples, rows: torch.Tensor) -> torch.Tensor:
    """(len(rows), latent) embeddings of `rows`, in the order given."""
    return encode_rows(model.encoder, examples, rows, model.config.hidden)


def encode_graphs(encoder: nn.Module, examples: Examples, rows: torch.Tensor, hidden: int) -> torch.Tensor:
    """`encoder(graph_batch(examples, rows))` for rows in `architecture_order`, in chunks of bounded memory (see
    `graphspace.learn.memory`; `hidden` is the encoder's width)."""
    edges = torch.tensor([2 * a.skeleton.num_edges for a in examples.architectures])[examples.architecture[rows]]
    return chunked(lambda part: encoder(graph_batch(examples, rows[part])), chunks(edges * hidden))


@torch.no_grad()
def encode_rows(encoder: nn.Module, examples: Examples, rows: torch.Tensor, hidden: int) -> torch.Tensor:
    """(len(rows), d) outputs of a graph encoder of width `hidden` (GraphBatch of B graphs -> (B, d)) on `rows`,
    in the order given; the encoder is put in eval mode."""
    encoder.eval()
    parts = torch.arange(len(rows)).split(EMBED_BATCH)
    order = torch.cat([part[torch.argsort(examples.architecture[rows[part]], stable=True)] for part in parts])
    out = torch.cat([encode_graphs(encoder, examples, rows[o], hidden) for o in order.split(EMBED_BATCH)])
    return out[torch.argsort(order)]


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
