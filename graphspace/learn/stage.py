"""The learn stage of a run: split the zoo by model, train the weight space (and its ablations) with a
checkpoint after every epoch, embed every checkpoint, and measure reconstruction by behavior.

Everything lands in the store's `learn/` group (see `graphspace.store`); a run killed anywhere resumes from
the last finished epoch, and a finished stage is skipped. A changed `learn` section of the spec starts the
stage over.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from graphspace.data.dataset import Dataset
from graphspace.determinism import deterministic
from graphspace.device import CPU, moved, placed
from graphspace.errors import StoreError
from graphspace.learn.baselines import best_model_baseline, best_train_rows, nearest_train_baseline, pca_baseline
from graphspace.learn.behavior import Probes, make_probes
from graphspace.learn.codec import decode_rows, embed
from graphspace.learn.conditions import sample_dataset
from graphspace.learn.examples import RESULTS, Examples, load_examples
from graphspace.learn.model import DESIGN, WeightSpace, WeightSpaceConfig
from graphspace.learn.quality import methods_quality
from graphspace.learn.retrieval import nearest_datasets
from graphspace.learn.split import split_models
from graphspace.learn.training import Conditions, Objective, TrainingState, batches, train
from graphspace.progress import Progress
from graphspace.spec import Learn, Spec
from graphspace.store import Store


def objective(learn: Learn, seed: int, variant: str) -> Objective:
    """The training objective of a variant: "main" as the spec says, or one of the spec's ablations."""
    main = Objective(
        epochs=learn.epochs,
        batch_size=learn.batch_size,
        lr=learn.lr,
        contrastive=learn.loss.contrastive,
        dataset=learn.loss.dataset,
        reconstruction=learn.loss.reconstruction,
        behavior=learn.loss.behavior,
        behavior_inputs=learn.behavior_inputs,
        seed=seed,
    )
    changes = {"main": {}, "no_layer_norm": {"per_layer": False}, "no_behavior": {"behavior": 0.0}}[variant]
    return dataclasses.replace(main, **changes)


@deterministic()
def learn_stage(
    store: Store,
    spec: Spec,
    datasets: dict[str, Dataset],
    progress: Progress | None = None,
    device: torch.device = CPU,
) -> None:
    """Run (or resume, or skip when done) the learn stage of `spec` on `store`, training on `device` (embedding
    and measuring on the CPU).

    Raises:
        StoreError: some stored checkpoints have no graph yet (the graph stage comes first).
    """
    if store.graphed_populations() != store.committed_populations():
        raise StoreError(f"Store {store.path} has checkpoints without graphs; the graph stage must finish first.")
    store.start_learning(spec.learn, DESIGN)
    if store.learned():
        return
    split = store.split()
    if split is None:
        split = split_models(store.metadata(), spec.learn.split, spec.seed, spec.learn.holdout_datasets)
        store.write_learned("split", split)
    examples = load_examples(store, split)
    probes = make_probes(examples, datasets, spec.learn.probe_inputs, spec.seed)
    conditions = Conditions.of(
        examples, [sample_dataset(datasets[name], spec.learn.dataset_sample, spec.seed) for name in examples.datasets]
    )
    spaces = {}
    seed = spec.seed if spec.learn.seed is None else spec.learn.seed  # the learned models' init and batch order
    for variant in ("main", *spec.learn.ablations):
        goal = objective(spec.learn, seed, variant)
        spaces[variant] = fit(store, variant, examples, probes, conditions, goal, spec, progress, device)
    store.write_embeddings(embed(spaces["main"], examples, torch.arange(len(examples))).numpy())
    test = examples.rows("test")
    methods = {method: decode_rows(space, examples, test) for method, space in spaces.items()}
    methods["best_train_model"] = best_model_baseline(examples, test)
    methods["pca"] = pca_baseline(examples, test, spec.learn.latent)
    methods["nearest_train_model"] = nearest_train_baseline(examples, datasets, test)
    store.write_learned("reconstruction", methods_quality(examples, datasets, methods))
    rows = torch.cat([test, examples.rows("holdout")])
    store.write_learned("datasets", nearest_datasets(spaces["main"], examples, conditions, rows))
    store.finish_learning(device)


def fit(
    store: Store,
    variant: str,
    examples: Examples,
    probes: Probes,
    conditions: Conditions,
    goal: Objective,
    spec: Spec,
    progress: Progress | None,
    device: torch.device = CPU,
) -> WeightSpace:
    """Train one variant on `device`, resuming from its checkpoint in the store, checkpointing after every epoch
    (checkpoints hold CPU tensors, whatever trained them). Returns the model on the CPU."""
    config = WeightSpaceConfig(
        grid=math.prod(examples.architectures[0].skeleton.grid),
        hidden=spec.learn.hidden,
        layers=spec.learn.layers,
        latent=spec.learn.latent,
        activations=len(examples.activations),
        results=len(RESULTS),
        templates={a.key: len(a.scale) for a in examples.architectures},
        classes=class_slots(examples, spec.learn.latent),
    )
    with torch.random.fork_rng():
        torch.manual_seed(goal.seed)
        model = WeightSpace(config)
    set_templates(model, examples)
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=goal.lr)
    state = TrainingState()
    checkpoint = store.learn_checkpoint(variant)
    if checkpoint is not None:
        with store.restoring(variant):
            model.load_state_dict(checkpoint["model"])
            optimizer.load_state_dict(checkpoint["optimizer"])
            state = TrainingState(**checkpoint["state"])
    steps = len(batches(examples.rows("train"), goal.batch_size))

    def save(state: TrainingState) -> None:
        store.write_learn_checkpoint(
            variant,
            {
                "config": config.to_dict(),
                "model": moved(model.state_dict(), CPU),
                "optimizer": moved(optimizer.state_dict(), CPU),
                "state": dataclasses.asdict(state),
                "activations": examples.activations,
                "datasets": examples.datasets,
            },
        )

    def step(done: int, total: int, terms: dict[str, float]) -> None:
        if progress:
            detail = " ".join(f"{name[:5]} {value:.3f}" for name, value in terms.items())
            progress(f"learn {variant}", state.epoch * steps + done, goal.epochs * steps, detail)

    if progress:
        progress(f"learn {variant}", state.epoch * steps, goal.epochs * steps, "")
    with placed(device):
        on_device = moved((examples, probes, conditions), device)
        train(model, optimizer, *on_device, goal, state, on_epoch=save, on_step=step)
    return model.cpu()


def class_slots(examples: Examples, latent: int) -> int:
    """How many class slots the embeddings get: where the zoo has several datasets, one per output of its widest
    output layer (at most half the embedding); none where it has one, since then every row has the same classes."""
    if len(examples.datasets) < 2:
        return 0
    return min(max(a.layers[-1].outputs for a in examples.architectures), latent // 2)


def set_templates(model: WeightSpace, examples: Examples) -> None:
    """Start each (architecture, activation) template of the decoder at the normalized features of the most
    accurate train model with that architecture and activation (see `best_train_rows`; zeros for an architecture
    without train models)."""
    with torch.no_grad():
        for (k, activation), row in best_train_rows(examples).items():
            architecture = examples.architectures[k]
            template = examples.raw_features(torch.tensor([row]))[0] / architecture.scale
            model.decoder.templates[architecture.key][activation] = template
