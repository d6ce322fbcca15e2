"""Bounded memory: graphs encoded and decoded in chunks give the values and the gradients of the whole batch."""

from __future__ import annotations

import pytest
import torch

import graphspace
from graphspace.data import load_datasets
from graphspace.learn import memory
from graphspace.learn.behavior import make_probes
from graphspace.learn.conditions import sample_dataset
from graphspace.learn.examples import load_examples
from graphspace.learn.space import LearnedSpace
from graphspace.learn.stage import objective
from graphspace.learn.training import Conditions, losses


def test_chunks_cover_the_items_in_order_within_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "CHUNK_STATES", 10)
    parts = memory.chunks(torch.tensor([4, 4, 4, 12, 1, 9]))
    assert [p.tolist() for p in parts] == [[0, 1], [2], [3], [4, 5]]  # an item over the budget alone
    assert [p.tolist() for p in memory.chunks(torch.tensor([3]))] == [[0]]


def test_a_training_step_in_chunks_has_the_loss_and_gradients_of_the_whole_batch(
    tiny_store: graphspace.Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = tiny_store.spec
    space = LearnedSpace.open(tiny_store)
    model, examples = space.model.train(), load_examples(tiny_store, tiny_store.split())
    datasets = load_datasets(spec.datasets)
    probes = make_probes(examples, datasets, spec.learn.probe_inputs, spec.seed)
    samples = [sample_dataset(datasets[name], spec.learn.dataset_sample, spec.seed) for name in examples.datasets]
    conditions, goal = Conditions.of(examples, samples), objective(spec.learn, spec.seed, "main")
    rows = examples.rows("train")[:6]

    def step() -> tuple[torch.Tensor, list[torch.Tensor]]:
        model.zero_grad(set_to_none=True)
        generator = torch.Generator().manual_seed(0)
        loss = sum(losses(model, examples, probes, conditions, rows, goal, generator).values())
        loss.backward()
        return loss.detach(), [p.grad.clone() for p in model.parameters() if p.grad is not None]

    whole, whole_grads = step()
    monkeypatch.setattr(memory, "CHUNK_STATES", 1)  # every graph its own chunk, recomputed in backward
    chunked, chunked_grads = step()
    assert torch.allclose(chunked, whole, rtol=1e-5)
    assert len(chunked_grads) == len(whole_grads)
    for a, b in zip(chunked_grads, whole_grads, strict=True):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-6)
    with torch.no_grad():  # and inference in chunks gives the same embeddings
        z = space.encode(examples.rows("test"))
        monkeypatch.setattr(memory, "CHUNK_STATES", memory.CHUNK_STATES * 2**30)
        assert torch.allclose(space.encode(examples.rows("test")), z, atol=1e-6)
