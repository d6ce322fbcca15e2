"""Training a population: every model with its own init, hyperparameters and dropout stream, on shared batches."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from graphspace.allocator import retain_freed_memory
from graphspace.data import Dataset
from graphspace.device import CPU, moved
from graphspace.spec import Hyper
from graphspace.zoo.architecture import Blueprint
from graphspace.zoo.initializers import initialize
from graphspace.zoo.optimizers import PopulationAdam, PopulationSGD
from graphspace.zoo.population import PopulationDropout, cross_entropy, forward, stack_parameters

MIN_SHARD_MODELS = 16  # below this, a shard's ops are too small to gain from a core of their own


def train_population(
    blueprint: Blueprint,
    hypers: list[Hyper],
    data: Dataset,
    epochs: int,
    checkpoints: list[int],
    dtype: torch.dtype = torch.float32,
    shards: int | None = None,
    device: torch.device = CPU,
) -> Iterator[tuple[int, list[torch.Tensor]]]:
    """Train the models together on `device` and yield (epoch, stacked parameters there) at each checkpoint
    epoch.

    All members must share activation, optimizer, batch size and data seed (see `plan_populations`). Model m
    is initialized, and draws its dropout masks, from a generator seeded with its own seed; the batch order
    comes from a generator seeded with the shared data seed. So a model trained here equals the same model
    trained in any other population, or alone, on the same device. (On a GPU, each model's dropout masks come from
    a GPU generator seeded with its seed: initial weights and batch order equal the CPU's, masks do not.)

    The models are split into `shards` (default: one per core torch uses, each of at least MIN_SHARD_MODELS
    models) that train side by side in threads, each on its own share of the cores. A population's ops are small
    enough that per-op thread synchronization costs more than a second core gains inside one op; shards
    running side by side keep every core busy instead (about 1.3x on the zoo CNN on 2 cores). On a GPU the
    population trains as one shard.
    """
    first = hypers[0]
    assert all(
        (h.activation, h.optimizer, h.batch_size, h.data_seed)
        == (first.activation, first.optimizer, first.batch_size, first.data_seed)
        for h in hypers
    ), "a population shares activation, optimizer, batch size and data seed"
    retain_freed_memory()
    threads = torch.get_num_threads()
    if shards is None:
        shards = max(1, min(threads, len(hypers) // MIN_SHARD_MODELS)) if device.type == "cpu" else 1
    parts = np.array_split(np.arange(len(hypers)), shards)
    runs = [_Run(blueprint, [hypers[i] for i in part], data, dtype, device) for part in parts]
    if 0 in checkpoints:
        yield 0, _joined(run.parameters() for run in runs)
    later = sorted(c for c in checkpoints if 0 < c <= epochs)
    if len(runs) == 1:
        for epoch in later:
            yield epoch, _joined([runs[0].train_to(epoch)])
        return
    with (
        _restored_thread_count(),
        ThreadPoolExecutor(
            len(runs), initializer=torch.set_num_threads, initargs=(max(1, threads // len(runs)),)
        ) as pool,
    ):
        for epoch in later:
            yield epoch, _joined(pool.map(lambda run, epoch=epoch: run.train_to(epoch), runs))


class _Run:
    """One shard's training state: stacked parameters, optimizer, dropout streams and batch order."""

    def __init__(
        self, blueprint: Blueprint, hypers: list[Hyper], data: Dataset, dtype: torch.dtype, device: torch.device
    ) -> None:
        first = hypers[0]
        generators = [torch.Generator().manual_seed(h.seed) for h in hypers]
        models = []
        for h, generator in zip(hypers, generators, strict=True):
            model = blueprint.build(h.activation, h.dropout).to(dtype)
            initialize(model, h.init, h.init_std, generator)
            models.append(model)
        self.params = [p.to(device).requires_grad_() for p in stack_parameters(models)]
        if device.type != "cpu":  # masks drawn on the GPU (see train_population)
            generators = [torch.Generator(device).manual_seed(h.seed) for h in hypers]
        lr, decay = [h.lr for h in hypers], [h.weight_decay for h in hypers]
        if first.optimizer == "adam":
            self.optimizer = PopulationAdam(self.params, lr, decay)
        else:
            self.optimizer = PopulationSGD(self.params, lr, decay, [h.momentum for h in hypers])
        self.dropout = PopulationDropout([h.dropout for h in hypers], generators)
        self.blueprint, self.activation, self.batch_size = blueprint, first.activation, first.batch_size
        self.x, self.y = moved((data.x_train.to(dtype), data.y_train), device)
        self.order = torch.Generator().manual_seed(first.data_seed)
        self.epoch = 0

    def parameters(self) -> list[torch.Tensor]:
        """A detached copy of the current stacked parameters."""
        return [p.detach().clone() for p in self.params]

    def train_to(self, epoch: int) -> list[torch.Tensor]:
        """Train on until `epoch` epochs are done; returns the parameters then."""
        while self.epoch < epoch:
            self.epoch += 1
            for batch in torch.randperm(len(self.y), generator=self.order).to(self.y.device).split(self.batch_size):
                logits = forward(self.blueprint, self.params, self.x[batch], self.activation, self.dropout)
                loss = cross_entropy(logits, self.y[batch]).sum()
                for p in self.params:
                    p.grad = None
                loss.backward()
                self.optimizer.step()
        return self.parameters()


def _joined(parts: Iterator[list[torch.Tensor]] | list[list[torch.Tensor]]) -> list[torch.Tensor]:
    """Shards' stacked parameters joined along the model axis, in member order."""
    return [torch.cat(group) for group in zip(*parts, strict=True)]


@contextlib.contextmanager
def _restored_thread_count() -> Iterator[None]:
    """Threads that set their own torch thread count also change the process default: put it back after."""
    threads = torch.get_num_threads()
    try:
        yield
    finally:
        torch.set_num_threads(threads)
