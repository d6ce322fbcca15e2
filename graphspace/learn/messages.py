"""Mean edge messages computed a chunk of edges at a time.

A message-passing layer over a neuron-edge graph computes, for every edge, SiLU(a[target] + b[source] + e) and
averages those messages at each target. Written as tensor operations over all edges (as torch-geometric's
`MessagePassing.propagate` does), every step of that materializes an (edges x width) tensor, and autograd keeps
several of them per layer: on MLP graphs (tens of thousands of edges each) the layer then spends its time
allocating and streaming those tensors through memory rather than computing. `MeanMessages` sends the edges
through in chunks small enough to stay in cache, and its backward pass recomputes a chunk's messages instead of
keeping them. It adds in the same order as torch-geometric, so values and gradients are bitwise the same where
SiLU's vectorized loop splits the chunks as it splits the whole tensor (widths that are multiples of 32, such as
the default 64, on up to a few threads); elsewhere a few elements may differ in their last bit.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch_geometric.nn import MessagePassing
from torch_geometric.utils import scatter

CHUNK_STATES = 2**20  # edge states (edges x width) per chunk: 4 MB of float32


class MeanMessages(MessagePassing):
    r"""The mean over each node's incoming edges (source j -> target i) of

    .. math::
        m_{ij} = \mathrm{SiLU}(a_i + b_j + e_{ij}),

    zero for a node without incoming edges. `forward` computes it a chunk of edges at a time; `propagate` is
    torch-geometric's way (one tensor per step over all edges), which it equals (see the module's docstring).

    Shapes:
        a (N, W), b (N, W), edge_attr (E, W), edge_index (2, E) -> (N, W)
    """

    # propagate's arguments, which torch-geometric otherwise reads from a call in forward
    propagate_type: ClassVar[dict[str, type]] = {"a": torch.Tensor, "b": torch.Tensor, "edge_attr": torch.Tensor}

    def __init__(self) -> None:
        super().__init__(aggr="mean")

    def forward(
        self, a: torch.Tensor, b: torch.Tensor, edge_attr: torch.Tensor, edge_index: torch.Tensor
    ) -> torch.Tensor:
        # counted as torch-geometric counts (torch.bincount has no deterministic CUDA kernel)
        count = scatter(a.new_ones(edge_index.shape[1]), edge_index[1], dim_size=len(a), reduce="sum").clamp_min(1)
        chunk = max(1, CHUNK_STATES // max(1, a.shape[1]))
        return _ChunkedMeanMessages.apply(a, b, edge_attr, edge_index[0], edge_index[1], count, chunk)

    def message(self, a_i: torch.Tensor, b_j: torch.Tensor, edge_attr: torch.Tensor) -> torch.Tensor:
        return F.silu(a_i + b_j + edge_attr)


def _pre_activation(
    a: torch.Tensor, b: torch.Tensor, edge_attr: torch.Tensor, source: torch.Tensor, target: torch.Tensor, edges: slice
) -> torch.Tensor:
    """a[target] + b[source] + edge_attr on the edges of one chunk."""
    return a.index_select(0, target[edges]) + b.index_select(0, source[edges]) + edge_attr[edges]


def _slices(edges: int, chunk: int) -> list[slice]:
    return [slice(start, start + chunk) for start in range(0, edges, chunk)]


class _ChunkedMeanMessages(torch.autograd.Function):
    """`MeanMessages.forward`, with a backward pass that recomputes each chunk's messages."""

    @staticmethod
    def forward(ctx, a, b, edge_attr, source, target, count, chunk):  # type: ignore[no-untyped-def]
        total = a.new_zeros(a.shape)
        for edges in _slices(len(target), chunk):
            messages = F.silu(_pre_activation(a, b, edge_attr, source, target, edges))
            total.scatter_add_(0, target[edges, None].expand_as(messages), messages)
        ctx.save_for_backward(a, b, edge_attr, source, target, count)
        ctx.chunk = chunk
        return total / count[:, None]

    @staticmethod
    def backward(ctx, grad):  # type: ignore[no-untyped-def]
        a, b, edge_attr, source, target, count = ctx.saved_tensors
        per_message = grad / count[:, None]
        grad_a, grad_b, grad_edges = torch.zeros_like(a), torch.zeros_like(b), torch.empty_like(edge_attr)
        for edges in _slices(len(target), ctx.chunk):
            pre = _pre_activation(a, b, edge_attr, source, target, edges)
            grad_pre = torch.ops.aten.silu_backward(per_message.index_select(0, target[edges]), pre)
            grad_a.index_add_(0, target[edges], grad_pre)
            grad_b.index_add_(0, source[edges], grad_pre)
            grad_edges[edges] = grad_pre
        return grad_a, grad_b, grad_edges, None, None, None, None
