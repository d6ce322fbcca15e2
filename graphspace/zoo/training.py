"""Training a population: every model with its own init, hyperparameters and dropout stream, on shared batches."""

from __future__ import annotations

from collections.abc import Iterator

import torch

from graphspace.data import Dataset
from graphspace.spec import Hyper
from graphspace.zoo.architecture import Blueprint
from graphspace.zoo.initializers import initialize
from graphspace.zoo.memory import retain_freed_memory
from graphspace.zoo.optimizers import PopulationAdam, PopulationSGD
from graphspace.zoo.population import PopulationDropout, cross_entropy, forward, stack_parameters


def train_population(
    blueprint: Blueprint,
    hypers: list[Hyper],
    data: Dataset,
    epochs: int,
    checkpoints: list[int],
    dtype: torch.dtype = torch.float32,
) -> Iterator[tuple[int, list[torch.Tensor]]]:
    """Train the models together and yield (epoch, stacked parameters) at each checkpoint epoch.

    All members must share activation, optimizer, batch size and data seed (see `plan_populations`). Model m
    is initialized, and draws its dropout masks, from a generator seeded with its own seed; the batch order
    comes from a generator seeded with the shared data seed. So a model trained here equals the same model
    trained in any other population, or alone.
    """
    first = hypers[0]
    assert all(
        (h.activation, h.optimizer, h.batch_size, h.data_seed)
        == (first.activation, first.optimizer, first.batch_size, first.data_seed)
        for h in hypers
    ), "a population shares activation, optimizer, batch size and data seed"
    retain_freed_memory()
    generators = [torch.Generator().manual_seed(h.seed) for h in hypers]
    models = []
    for h, generator in zip(hypers, generators, strict=True):
        model = blueprint.build(h.activation, h.dropout).to(dtype)
        initialize(model, h.init, h.init_std, generator)
        models.append(model)
    params = [p.requires_grad_() for p in stack_parameters(models)]
    lr, decay = [h.lr for h in hypers], [h.weight_decay for h in hypers]
    if first.optimizer == "adam":
        optimizer = PopulationAdam(params, lr, decay)
    else:
        optimizer = PopulationSGD(params, lr, decay, [h.momentum for h in hypers])
    dropout = PopulationDropout([h.dropout for h in hypers], generators)
    x, y = data.x_train.to(dtype), data.y_train
    order = torch.Generator().manual_seed(first.data_seed)
    if 0 in checkpoints:
        yield 0, [p.detach().clone() for p in params]
    for epoch in range(1, epochs + 1):
        permutation = torch.randperm(len(y), generator=order)
        for batch in permutation.split(first.batch_size):
            logits = forward(blueprint, params, x[batch], first.activation, dropout)
            loss = cross_entropy(logits, y[batch]).sum()
            for p in params:
                p.grad = None
            loss.backward()
            optimizer.step()
        if epoch in checkpoints:
            yield epoch, [p.detach().clone() for p in params]
