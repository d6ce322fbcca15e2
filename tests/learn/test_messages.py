"""Mean edge messages computed a chunk of edges at a time: what they are, and that they equal torch-geometric's
`propagate` bitwise, values and gradients, however the edges are chunked."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from graphspace.learn import messages
from graphspace.learn.messages import MeanMessages


def inputs(nodes: int, edges: int, width: int, dtype: torch.dtype = torch.float32) -> list[torch.Tensor]:
    """Random a (N, W), b (N, W), edge_attr (E, W) with gradients on, and edge_index (2, E); the last node has
    no incoming edges."""
    generator = torch.Generator().manual_seed(0)
    a, b = (torch.randn(nodes, width, generator=generator, dtype=dtype, requires_grad=True) for _ in range(2))
    edge_attr = torch.randn(edges, width, generator=generator, dtype=dtype, requires_grad=True)
    edge_index = torch.stack(
        [
            torch.randint(0, nodes, (edges,), generator=generator),
            torch.randint(0, nodes - 1, (edges,), generator=generator),
        ]
    )
    return [a, b, edge_attr, edge_index]


def test_each_node_gets_the_mean_of_its_incoming_messages() -> None:
    a = torch.tensor([[0.0], [1.0], [2.0]])
    b = torch.tensor([[10.0], [20.0], [30.0]])
    edge_index = torch.tensor([[0, 1, 2], [1, 1, 0]])  # 0 -> 1, 1 -> 1, 2 -> 0; node 2 receives nothing
    edge_attr = torch.tensor([[0.5], [-0.5], [1.0]])
    expected = torch.stack(
        [
            F.silu(torch.tensor([0.0 + 30.0 + 1.0])),
            (F.silu(torch.tensor([1.0 + 10.0 + 0.5])) + F.silu(torch.tensor([1.0 + 20.0 - 0.5]))) / 2,
            torch.zeros(1),
        ]
    )
    assert torch.allclose(MeanMessages()(a, b, edge_attr, edge_index), expected)


@pytest.mark.parametrize("chunk_states", [32, 128, 2**20])  # one edge per chunk, four, all edges at once
def test_chunked_messages_equal_torch_geometric_propagate_bitwise(
    monkeypatch: pytest.MonkeyPatch, chunk_states: int
) -> None:
    monkeypatch.setattr(messages, "CHUNK_STATES", chunk_states)
    # width 32: a whole number of CPU vector steps (up to AVX-512's), so SiLU rounds every element alike both ways
    layer, weights = MeanMessages(), torch.randn(50, 32, generator=torch.Generator().manual_seed(1))
    results = []
    for way in ("chunked", "propagate"):
        a, b, edge_attr, edge_index = inputs(50, 400, 32)
        if way == "chunked":
            out = layer(a, b, edge_attr, edge_index)
        else:
            out = layer.propagate(edge_index, a=a, b=b, edge_attr=edge_attr)
        (out * weights).sum().backward()
        results.append([out.detach(), a.grad, b.grad, edge_attr.grad])
    for chunked, propagated in zip(*results, strict=True):
        assert torch.equal(chunked, propagated)


def test_chunked_gradients_pass_gradcheck(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(messages, "CHUNK_STATES", 12)  # chunks of 3 edges at width 4
    a, b, edge_attr, edge_index = inputs(6, 20, 4, torch.float64)
    assert torch.autograd.gradcheck(lambda a, b, e: MeanMessages()(a, b, e, edge_index), (a, b, edge_attr))
