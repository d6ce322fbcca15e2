"""`run(spec)`: the stages of a graphspace run, in order, each resumable from the store."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import torch

from graphspace.data import load_datasets
from graphspace.data.dataset import Dataset
from graphspace.device import resolve_device
from graphspace.errors import SpecError, StoreError
from graphspace.learn.stage import learn_stage
from graphspace.probing.stage import probe_stage
from graphspace.progress import Progress
from graphspace.report import write_report
from graphspace.sample.stage import sample_stage
from graphspace.spec import Hyper, Spec
from graphspace.specfile import load_spec
from graphspace.store import Store, create_store, describe_spec_change, open_store, writing
from graphspace.zoo.architecture import Blueprint, blueprint
from graphspace.zoo.checkpoints import record_population, rows_per_model
from graphspace.zoo.plan import plan_models, plan_populations


def run(
    spec: Spec | str | Path,
    store: str | Path | None = None,
    fresh: bool = False,
    progress: Progress | None = None,
    device: str | torch.device = "auto",
) -> Store:
    """Run the spec's stages (a `Spec`, or the path of a YAML spec file) into its store (default
    `spec.store_path`) and return the store.

    `device` is where the zoo, the weight space and the supervised probe reference train (see
    `graphspace.device.DEVICES`); the other stages run on the CPU. A store may be resumed on another device.

    Everything that can fail on bad input (datasets, architecture fit, a store of another spec) fails before
    anything is written. A store left by an interrupted run of the same spec is resumed: populations already
    in it are kept, the rest are trained. `fresh` deletes an existing store first.

    Stages: zoo (train every population, record its checkpoints), graphs (each checkpoint's canonical
    neuron-edge graph), learn (the weight space and its ablations; embeddings; reconstruction quality), probe
    (results and hyperparameters predicted from the frozen embeddings, against the baselines), sample (models
    for the spec's target accuracies, evaluated, against the baselines), report (report.md and its figures,
    beside the store: see `graphspace.report.write_report`).
    """
    if not isinstance(spec, Spec):
        spec = load_spec(spec)
    path = Path(store) if store is not None else spec.store_path
    place = resolve_device(device)
    datasets = load_datasets(spec.datasets)
    models = plan_models(spec)
    _check_splittable(spec, models)
    blueprints = {
        name: blueprint(spec.zoo.architecture, datasets[name].input_shape, datasets[name].num_classes)
        for name in dict.fromkeys(m.dataset for m in models)
    }
    with writing(path):
        zoo_store = _open_or_create(path, spec, fresh, [blueprints[m.dataset] for m in models])
        _zoo_stage(zoo_store, spec, models, blueprints, datasets, progress, place)
        _graph_stage(zoo_store, progress)
        learn_stage(zoo_store, spec, datasets, progress, place)
        probe_stage(zoo_store, spec, progress, place)
        sample_stage(zoo_store, spec, datasets, progress)
        write_report(zoo_store, progress)
    return zoo_store


def _check_splittable(spec: Spec, models: list[Hyper]) -> None:
    """The learn stage splits each learned dataset's models into train and test: each needs two models."""
    counts = Counter(m.dataset for m in models if m.dataset not in spec.learn.holdout_datasets)
    short = {name: n for name, n in counts.items() if n < 2}
    if short:
        got = ", ".join(f"{name!r} gets {n}" for name, n in short.items())
        raise SpecError(
            f"zoo.size = {spec.zoo.size}: the learn stage splits each dataset's models by model into train and test, "
            f"so every dataset it learns from needs at least 2 models, and {got}; raise zoo.size (with zoo.vary."
            f"dataset, zoo.sampling: grid spreads the models evenly)."
        )


def _zoo_stage(
    store: Store,
    spec: Spec,
    models: list[Hyper],
    blueprints: dict[str, Blueprint],
    datasets: dict[str, Dataset],
    progress: Progress | None,
    device: torch.device,
) -> None:
    """Train (on `device`) and record every population of the zoo that the store does not hold yet."""
    populations = plan_populations(models, spec.zoo.train.population)
    done = {i for p in populations if p.index in store.committed_populations() for i in p.members}
    if progress:
        progress("zoo", len(done), len(models), "")
    for population in populations:
        if population.index in store.committed_populations():
            continue
        hypers = population.hypers(models)
        dataset = hypers[0].dataset
        rows, weights = record_population(
            blueprints[dataset], list(population.members), hypers, datasets[dataset], spec.zoo, device
        )
        store.append(population.index, rows, weights, device)
        done.update(population.members)
        if progress:
            progress("zoo", len(done), len(models), "")


def _graph_stage(store: Store, progress: Progress | None) -> None:
    """Write the graphs of every stored population that has none yet."""
    sizes = dict(store.metadata().group_by("population").len().iter_rows())
    written = store.graphed_populations()
    done = sum(n for p, n in sizes.items() if p in written)
    if progress:
        progress("graphs", done, sum(sizes.values()), "")
    for population in sorted(sizes.keys() - written):
        done += store.write_graphs(population)
        if progress:
            progress("graphs", done, sum(sizes.values()), "")


def _open_or_create(path: Path, spec: Spec, fresh: bool, per_model: list[Blueprint]) -> Store:
    if path.exists() and not (path / "zarr.json").is_file():
        raise StoreError(
            f"{path} exists but is not a graphspace store (no zarr.json there); a run neither writes into nor "
            f"replaces (--fresh) anything else. Choose a new store path (--store, or the spec's store field)."
        )
    if fresh and path.exists():
        shutil.rmtree(path)
    if path.exists():
        existing = open_store(path)
        changed = describe_spec_change(existing.attributes["spec"], spec)
        if changed:
            raise StoreError(
                f"Store {path} was made from a different spec (sections that differ: {', '.join(changed)}); "
                f"run with --fresh to replace it, or choose another store with --store."
            )
        existing.record_spec(spec)
        return existing
    rows = rows_per_model(spec.zoo)
    layouts: dict[str, tuple[Blueprint, int]] = {}
    for bp in per_model:
        layouts[bp.key] = (bp, layouts.get(bp.key, (bp, 0))[1] + rows)
    plan = {"models": len(per_model), "rows": rows * len(per_model)}
    return create_store(path, spec, layouts, plan)
