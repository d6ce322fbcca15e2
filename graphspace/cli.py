"""The `graphspace` command line: a thin layer over the Python API."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
import polars as pl
import yaml
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from graphspace.errors import GraphspaceError, SpecError, StoreError
from graphspace.export import save_model
from graphspace.learn.quality import by_checkpoint, summarize
from graphspace.learn.retrieval import dataset_retrieval
from graphspace.pipeline import run as run_pipeline
from graphspace.sample.stage import DEFAULT, alignment, summarize_samples
from graphspace.sample.stage import query as sample_query
from graphspace.spec_reference import spec_reference
from graphspace.specfile import load_spec
from graphspace.store import Store, open_store
from graphspace.summary import accuracy_by_hyperparameter, zoo_summary

console = Console(width=None if sys.stdout.isatty() else 160)  # piped output: tables unfolded
errors = Console(stderr=True)


class _Command(click.Group):
    """Turns graphspace's own errors into one paragraph on stderr and exit status 2."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except GraphspaceError as error:
            errors.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
            sys.exit(2)
        except KeyboardInterrupt:
            errors.print("interrupted; run the same command again to resume.")
            sys.exit(130)


@click.group(cls=_Command)
@click.version_option(package_name="graphspace")
def main() -> None:
    """graphspace: train model zoos and learn from their weights."""


@main.command()
@click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path))
@click.option("--store", "store_path", type=click.Path(path_type=Path), help="Store path (default: the spec's).")
@click.option("--fresh", is_flag=True, help="Delete an existing store and start over.")
@click.option("--quiet", is_flag=True, help="No progress bar and no summary.")
def run(spec_path: Path, store_path: Path | None, fresh: bool, quiet: bool) -> None:
    """Run the pipeline of SPEC (a YAML file) into its store, resuming an interrupted run."""
    spec = load_spec(spec_path)
    started = time.perf_counter()
    columns = (
        TextColumn("{task.description:<20}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[unit]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[detail]}"),
    )
    units = {"zoo": "models", "graphs": "checkpoints", "probe": "fits", "sample": "methods"}
    with Progress(*columns, console=errors, disable=quiet) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int, detail: str) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total, unit=units.get(stage, "steps"), detail="")
            bar.update(tasks[stage], completed=done, total=total, detail=detail)

        try:
            store = run_pipeline(spec, store_path, fresh=fresh, progress=progress)
        except SpecError as error:  # a spec that validates but does not fit its data
            raise SpecError(f"Spec file {spec_path} does not fit its data: {error}") from None
    if not quiet:
        _print_frame(zoo_summary(store.metadata()), f"zoo of {spec.name} (acc: last-checkpoint test accuracy)")
        _print_learned(store)
        _print_probes(store)
        _print_samples(store)
        console.print(f"store: {store.path}  ({time.perf_counter() - started:.1f} s)")


@main.command()
@click.argument("store_path", metavar="STORE", required=False, type=click.Path(path_type=Path))
def info(store_path: Path | None) -> None:
    """Summarize a store: counts, and test accuracy by hyperparameter (default: the store under store/)."""
    store = open_store(store_path) if store_path else _default_store()
    metadata, spec, plan = store.metadata(), store.spec, store.attributes["plan"]
    console.print(f"[bold]{store.path}[/]  spec {spec.name}, graphspace {store.attributes['graphspace_version']}")
    console.print(
        f"{metadata['model'].n_unique()} of {plan['models']} models, {metadata.height} of {plan['rows']} rows "
        f"(checkpoints and pruned variants)"
    )
    graphed = metadata.filter(pl.col("population").is_in(list(store.graphed_populations()))).height
    console.print(f"{graphed} of {metadata.height} rows have their canonical graph (edge grid {store.graph_grid})")
    if metadata.is_empty():
        return
    _print_frame(zoo_summary(metadata), "by dataset (acc: last-checkpoint test accuracy)")
    for name, table in accuracy_by_hyperparameter(metadata, spec).items():
        _print_frame(table, f"last-checkpoint test accuracy by {name}")
    _print_learned(store)
    _print_probes(store)
    _print_samples(store)


@main.command()
@click.option("--store", "store_path", type=click.Path(path_type=Path), help="Store (default: the one under store/).")
@click.option("--dataset", default=None, help="Dataset of the target (default: the store's first).")
@click.option("--accuracy", type=click.FloatRange(0.0, 1.0), required=True, help="Target test accuracy.")
@click.option("--n", "count", type=click.IntRange(1, 10_000), default=16, show_default=True, help="Samples per method.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sampling.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per sample instead of the table.")
@click.option(
    "--out", type=click.Path(path_type=Path), help="Save the default sampler's models here (safetensors + JSON)."
)
def query(
    store_path: Path | None,
    dataset: str | None,
    accuracy: float,
    count: int,
    seed: int,
    as_json: bool,
    out: Path | None,
) -> None:
    """Sample models for a target test accuracy, evaluate them on the real test split, and compare with the
    baselines (retrieval, noisy retrieval, k-nearest average, unconditional sampling, random init)."""
    store = open_store(store_path) if store_path else _default_store()
    samples, models = sample_query(store, accuracy, dataset, count, seed)
    for note in samples.warnings:
        errors.print(f"[bold yellow]warning:[/] {note}", highlight=False, soft_wrap=True)
    if out is not None:
        rows = samples.frame.filter(pl.col("method") == DEFAULT).iter_rows(named=True)
        for k, (row, model) in enumerate(zip(rows, models, strict=True)):
            info = {key: row[key] for key in ("dataset", "target_accuracy", "accuracy", "nearest_zoo_distance")}
            save_model(model, store.blueprint(row["architecture"]), row["activation"], out / f"sample_{k:03d}", info)
        errors.print(f"saved {len(models)} models of {DEFAULT} to {out}")
    if as_json:
        for row in samples.frame.iter_rows(named=True):
            click.echo(json.dumps(row))
        return
    _print_frame(summarize_samples(samples.frame).drop("target"), f"store {store.path}: medians per method")


@main.command("spec")
@click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path))
def show_spec(spec_path: Path) -> None:
    """Validate SPEC and print it with every default filled in."""
    spec = load_spec(spec_path)
    click.echo(yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False))


@main.command("spec-reference")
def show_spec_reference() -> None:
    """Print the reference of every spec field (Markdown; docs/spec.md is this output)."""
    click.echo(spec_reference(), nl=False)


def _print_learned(store: Store) -> None:
    if not store.learned():
        return
    quality, metadata = store.reconstruction(), store.metadata()
    _print_frame(
        summarize(quality, metadata),
        "reconstruction of the held-out test models (medians; final: each model's last unpruned checkpoint)",
    )
    _print_frame(by_checkpoint(quality, metadata), "main: medians by kind of test row")
    nearest = dataset_retrieval(store.nearest_datasets())
    if nearest.height:
        _print_frame(nearest, "nearest dataset embedding to each model's weight embedding")


def _print_probes(store: Store) -> None:
    if store.probed():
        _print_frame(
            store.probes(),
            "properties of the held-out test rows predicted from weights (R², Kendall's tau, accuracy)",
        )


def _print_samples(store: Store) -> None:
    if store.sampled():
        samples = store.samples()
        _print_frame(summarize_samples(samples).drop("target"), "sampled models per target and method (medians)")
        _print_frame(alignment(samples), "prompt alignment over all targets: R² of achieved against target accuracy")


def _default_store() -> Store:
    stores = sorted(Path("store").glob("*.zarr"), key=lambda p: p.stat().st_mtime)
    if not stores:
        raise StoreError("No store under store/; give a STORE path, or run `graphspace run SPEC` first.")
    if len(stores) > 1:
        errors.print(f"{len(stores)} stores under store/; showing the most recent: {stores[-1]}")
    return open_store(stores[-1])


def _print_frame(frame: pl.DataFrame, title: str) -> None:
    table = Table(title=title, title_justify="left")
    for column in frame.columns:
        table.add_column(column, justify="right" if frame[column].dtype.is_numeric() else "left")
    for row in frame.iter_rows():
        table.add_row(*(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row))
    console.print(table)


if __name__ == "__main__":
    main()
