"""Bounded memory for large networks: the encoder and the decoder hold a state per edge (edges x hidden width),
so a batch of wide MLPs (784-256-10: 400k edges each, both directions) would need tens of GB at once. Work on
many graphs goes in chunks of at most CHUNK_STATES edge states; when gradients are on, each chunk runs under
`torch.utils.checkpoint`, so only one chunk's activations are alive at a time (the others are recomputed in the
backward pass) and the gradients are those of the whole batch. Batches of small graphs are one chunk, computed
exactly as without chunking."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.utils.checkpoint import checkpoint

CHUNK_STATES = 2**26  # edge states per chunk: 256 MB per float tensor of them


def chunks(states: torch.Tensor) -> list[torch.Tensor]:
    """Consecutive index ranges covering items whose edge states are `states` (n,), each holding at most
    CHUNK_STATES states (or a single item that alone exceeds it)."""
    out, start, total = [], 0, 0
    for i, count in enumerate(states.tolist()):
        if i > start and total + count > CHUNK_STATES:
            out.append(torch.arange(start, i))
            start, total = i, 0
        total += count
    return [*out, torch.arange(start, len(states))]


def chunked(function: Callable[[torch.Tensor], torch.Tensor], parts: list[torch.Tensor]) -> torch.Tensor:
    """`function` of every part (see `chunks`), concatenated along the first dimension; with gradients on and
    several parts, each part's activations are recomputed in backward instead of kept."""
    if len(parts) == 1:
        return function(parts[0])
    if not torch.is_grad_enabled():
        return torch.cat([function(part) for part in parts])
    return torch.cat([checkpoint(function, part, use_reentrant=False) for part in parts])
