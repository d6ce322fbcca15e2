"""The training loop of a `WeightSpace`: contrastive alignment, reconstruction and behavior, resumable per epoch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from graphspace.allocator import retain_freed_memory
from graphspace.device import CPU
from graphspace.learn.batch import architecture_order, architecture_runs
from graphspace.learn.behavior import Probes, model_logits
from graphspace.learn.codec import encode_graphs
from graphspace.learn.conditions import DatasetSample
from graphspace.learn.examples import Examples
from graphspace.learn.model import WeightSpace
from graphspace.learn.objective import MAX_LOG_TEMPERATURE, behavior, info_nce, reconstruction

TERMS = ("contrastive", "dataset", "reconstruction", "behavior")


@dataclass(frozen=True)
class Objective:
    """How a `WeightSpace` is trained: the loss weights and the optimization settings."""

    epochs: int
    batch_size: int
    lr: float
    contrastive: float = 1.0
    dataset: float = 1.0
    reconstruction: float = 1.0
    behavior: float = 1.0
    per_layer: bool = True  # per-layer normalized reconstruction (False: plain MSE of raw weights)
    behavior_inputs: int = 64  # probe inputs per step for the behavioral loss
    seed: int = 0


@dataclass
class TrainingState:
    """What a checkpoint holds besides the weights: epochs done and the loss history (one dict per epoch)."""

    epoch: int = 0
    history: list[dict[str, float]] = field(default_factory=list)


@dataclass(frozen=True, eq=False)
class Conditions:
    """Everything the condition encoders read: a sample of each dataset and every row's standardized results."""

    samples: list[DatasetSample]
    results: torch.Tensor  # (R, len(RESULTS)), standardized with the train rows' mean and std
    known: torch.Tensor  # sorted indices of the datasets learning sees (those with train rows)

    @classmethod
    def of(cls, examples: Examples, samples: list[DatasetSample]) -> Conditions:
        """The conditions of `examples` with one sample per dataset of `examples.datasets`."""
        train = examples.results[examples.rows("train")]
        results = (examples.results - train.mean(0)) / train.std(0).clamp_min(1e-6)
        return cls(samples, results, examples.known_datasets())

    def dataset_batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(D, S, 256) inputs, (D, S) labels, (D,) log sizes of every dataset."""
        return (
            torch.stack([s.inputs for s in self.samples]),
            torch.stack([s.labels for s in self.samples]),
            torch.tensor([s.log_size for s in self.samples]),
        )


def batches(rows: torch.Tensor, size: int) -> list[torch.Tensor]:
    """`rows` cut into batches of `size`, without a last batch of one row (InfoNCE needs two)."""
    return [b for b in rows.split(size) if len(b) > 1]


def losses(
    model: WeightSpace,
    examples: Examples,
    probes: Probes,
    conditions: Conditions,
    rows: torch.Tensor,
    objective: Objective,
    generator: torch.Generator,
) -> dict[str, torch.Tensor]:
    """The loss terms on one batch of rows (any order; reordered by architecture here)."""
    rows = architecture_order(examples, rows)
    z = encode_graphs(model.encoder, examples, rows, model.config.hidden)  # (B, latent)
    datasets = model.dataset_encoder(*conditions.dataset_batch())  # (D, hidden)
    condition = model.conditions(datasets[examples.dataset[rows]], conditions.results[rows])
    terms = {"contrastive": info_nce(z, condition, model.log_temperature)}
    terms["dataset"] = z.new_zeros(())
    known = conditions.known
    if len(known) > 1:  # which of the known datasets the weights come from
        # the joint condition alone leaves the dataset weakly represented: in a batch, results tell rows apart
        temperature = model.log_temperature.clamp(max=MAX_LOG_TEMPERATURE).exp()
        logits = model.dataset_similarity(z, datasets[known]) * temperature
        terms["dataset"] = F.cross_entropy(logits, torch.searchsorted(known, examples.dataset[rows]))
    recon = F.cross_entropy(model.activation_head(z), examples.activation[rows])
    behaved = z.new_zeros(())
    start = 0
    for k, at in architecture_runs(examples, rows):
        architecture, share = examples.architectures[k], len(at) / len(rows)
        decoded = model.decoder(z[start : start + len(at)], examples.activation[at], architecture)
        start += len(at)
        target = examples.raw_features(at) / architecture.scale
        recon = recon + share * reconstruction(
            decoded, target, architecture.group, architecture.scale, objective.per_layer
        )
        if objective.behavior > 0:
            inputs = len(probes.inputs[0])
            select = torch.randperm(inputs, generator=generator, device=CPU)[: objective.behavior_inputs]
            logits = model_logits(examples, probes.inputs, architecture, at, decoded * architecture.scale, select)
            original = probes.logits[k][examples.position[at]][:, select]
            behaved = behaved + share * behavior(logits, original)
    terms["reconstruction"] = recon
    terms["behavior"] = behaved
    return terms


def train(
    model: WeightSpace,
    optimizer: torch.optim.Optimizer,
    examples: Examples,
    probes: Probes,
    conditions: Conditions,
    objective: Objective,
    state: TrainingState,
    on_epoch: Callable[[TrainingState], None] | None = None,
    on_step: Callable[[int, int, dict[str, float]], None] | None = None,
) -> TrainingState:
    """Train from `state.epoch` to `objective.epochs` on the train split.

    Each epoch's batch order and probe inputs come from a generator seeded by (seed, epoch), so an epoch
    depends only on the state it starts from: training resumed from a checkpoint equals uninterrupted training.
    `on_epoch` is called after every epoch (to checkpoint), `on_step` after every step with (step, steps,
    loss terms).
    """
    retain_freed_memory()
    train_rows = examples.rows("train")
    weights = {name: getattr(objective, name) for name in TERMS}
    model.train()
    while state.epoch < objective.epochs:
        generator = torch.Generator().manual_seed(objective.seed * 100_003 + state.epoch)
        order = train_rows[torch.randperm(len(train_rows), generator=generator, device=CPU)]
        epoch = batches(order, objective.batch_size)
        sums = dict.fromkeys(TERMS, 0.0)
        for step, rows in enumerate(epoch):
            terms = losses(model, examples, probes, conditions, rows, objective, generator)
            loss = sum(weights[name] * value for name, value in terms.items())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            values = {name: float(value.detach()) for name, value in terms.items()}
            for name in TERMS:
                sums[name] += values[name] / len(epoch)
            if on_step:
                on_step(step + 1, len(epoch), values)
        state.epoch += 1
        state.history.append(sums)
        if on_epoch:
            on_epoch(state)
    model.eval()
    return state
