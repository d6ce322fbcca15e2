"""The `graphspace` command line: a thin layer over the Python API.

The stages (torch, torch-geometric) are imported inside the commands that use them, so that help, `spec`,
`spec-reference` and a bad spec's error answer at once.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click
import polars as pl
import yaml
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress
from rich.table import Table

from graphspace.errors import GraphspaceError, SpecError, StoreError
from graphspace.progress import Progress, line_progress, unit
from graphspace.spec import MAX_SEED
from graphspace.spec_reference import spec_reference
from graphspace.specfile import load_spec

if TYPE_CHECKING:
    from graphspace.report import Section
    from graphspace.store import Store

console = Console(width=None if sys.stdout.isatty() else 160)  # piped output: tables unfolded
errors = Console(stderr=True)


class _Command(click.Group):
    """Turns graphspace's own errors into one paragraph on stderr and exit status 2."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except GraphspaceError as error:
            errors.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
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
@click.option("--quiet", is_flag=True, help="No progress bars and no summary.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object (see `info --json`).")
@click.option(
    "--device",
    default="auto",
    show_default=True,
    help="Where the zoo, the weight space and the supervised probe reference train: auto (a GPU when torch sees "
    "one, else the CPU), cpu, cuda or cuda:N.",
)
def run(spec_path: Path, store_path: Path | None, fresh: bool, quiet: bool, as_json: bool, device: str) -> None:
    """Run the pipeline of SPEC (a YAML file) into its store, resuming an interrupted run; the report is written
    beside the store."""
    spec = load_spec(spec_path)
    from graphspace.pipeline import run as run_pipeline
    from graphspace.report import report_folder, sections

    started = time.perf_counter()
    with _progress_bar(quiet) as progress:
        try:
            store = run_pipeline(spec, store_path, fresh=fresh, progress=progress, device=device)
        except SpecError as error:  # a spec that validates but does not fit its data or its plan of models
            raise SpecError(f"Spec file {spec_path} cannot run as written: {error}") from None
    if as_json:
        click.echo(json.dumps(_summary(store, sections(store, hyperparameters=False))))
    elif not quiet:
        for section in sections(store, hyperparameters=False):
            _print_frame(section.frame, section.title)
        console.print(f"report: {report_folder(store) / 'report.md'}")
        console.print(f"store: {store.path}  ({time.perf_counter() - started:.1f} s)")


@main.command()
@click.argument("store_path", metavar="STORE", required=False, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object: counts and tables.")
def info(store_path: Path | None, as_json: bool) -> None:
    """Summarize a store: counts, test accuracy by hyperparameter, and the tables of every finished stage
    (default: the store under store/)."""
    from graphspace.report import sections

    store = _open(store_path)
    found = sections(store)
    summary = _summary(store, found)
    if as_json:
        click.echo(json.dumps(summary))
        return
    console.print(f"[bold]{store.path}[/]  spec {summary['spec']}, graphspace {summary['graphspace_version']}")
    console.print(
        f"{summary['models']} of {summary['planned_models']} models, {summary['rows']} of {summary['planned_rows']} "
        f"rows (checkpoints and pruned variants)"
    )
    console.print(
        f"{summary['graphed_rows']} of {summary['rows']} rows have their canonical graph (edge grid {store.graph_grid})"
    )
    console.print(f"stages finished: {', '.join(summary['stages']) or 'none'}")
    for section in found:
        _print_frame(section.frame, section.title)


@main.command()
@click.argument("store_path", metavar="STORE", required=False, type=click.Path(path_type=Path))
@click.option("--quiet", is_flag=True, help="No progress bar; print only the report's path.")
def report(store_path: Path | None, quiet: bool) -> None:
    """Write report.md and its PNG figures beside STORE (default: the store under store/), from what it holds."""
    from graphspace.report import write_report

    store = _open(store_path)
    with _progress_bar(quiet) as progress:
        path = write_report(store, progress)
    click.echo(str(path))


@main.command()
@click.argument("store_path", metavar="STORE", type=click.Path(path_type=Path))
@click.option("--ids", required=True, callback=lambda _c, _p, v: _id_list(v), help="Checkpoint ids: 3,17,40-49.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Folder for the model files.")
def export(store_path: Path, ids: list[int], out: Path) -> None:
    """Save checkpoints of STORE as OUT/model_<id>.safetensors + model_<id>.json (architecture, activation,
    metadata), which `graphspace.load_model` reads back."""
    from graphspace.export import export_models

    paths = export_models(_open(store_path), ids, out)
    errors.print(f"saved {len(paths)} models to {out}", markup=False)


@main.command()
@click.option("--store", "store_path", type=click.Path(path_type=Path), help="Store (default: the one under store/).")
@click.option("--dataset", default=None, help="Dataset of the target (default: the store's first).")
@click.option("--accuracy", type=click.FloatRange(0.0, 1.0), required=True, help="Target test accuracy.")
@click.option("--n", "count", type=click.IntRange(1, 10_000), default=16, show_default=True, help="Samples per method.")
@click.option("--seed", type=click.IntRange(0, MAX_SEED), default=0, show_default=True, help="Seed of the sampling.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per sample instead of the table.")
@click.option(
    "--out", type=click.Path(path_type=Path), help="Save the default sampler's models here (safetensors + JSON)."
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def query(
    store_path: Path | None,
    dataset: str | None,
    accuracy: float,
    count: int,
    seed: int,
    as_json: bool,
    out: Path | None,
    quiet: bool,
) -> None:
    """Sample models for a target test accuracy, evaluate them on the real test split, and compare with the
    baselines (retrieval, noisy retrieval, k-nearest average, unconditional sampling, random init)."""
    from graphspace.export import output_folder, save_model
    from graphspace.sample.stage import DEFAULT, summarize_samples
    from graphspace.sample.stage import query as sample_query

    store = _open(store_path)
    if out is not None:
        output_folder(out)  # before sampling, not after
    with _progress_bar(quiet) as progress:
        samples, models = sample_query(store, accuracy, dataset, count, seed, progress)
    for note in samples.warnings:
        errors.print(f"[bold yellow]warning:[/] {escape(note)}", highlight=False, soft_wrap=True)
    if out is not None:
        rows = samples.frame.filter(pl.col("method") == DEFAULT).iter_rows(named=True)
        for k, (row, model) in enumerate(zip(rows, models, strict=True)):
            info = {key: row[key] for key in ("dataset", "target_accuracy", "accuracy", "nearest_zoo_distance")}
            save_model(model, store.blueprint(row["architecture"]), row["activation"], out / f"sample_{k:03d}", info)
        errors.print(f"saved {len(models)} models of {DEFAULT} to {out}", markup=False)
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


@contextmanager
def _progress_bar(quiet: bool) -> Iterator[Progress]:
    """Progress on stderr, fed by the pipeline's `progress` callback: one rich bar per stage on a terminal, plain
    lines (see `line_progress`) when stderr is a file or a pipe, as under nohup or a batch scheduler."""
    if not quiet and not errors.is_terminal:
        yield line_progress(lambda line: errors.print(line, markup=False, highlight=False, soft_wrap=True))
        return
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
    with RichProgress(*columns, console=errors, disable=quiet) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int, detail: str) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total, unit=unit(stage), detail="")
            bar.update(tasks[stage], completed=done, total=total, detail=detail)

        yield progress


def _summary(store: Store, found: list[Section]) -> dict:
    """Counts and the store's tables `found` (see `sections`), as JSON-ready values (NaN as null)."""
    metadata, plan = store.metadata(), store.attributes["plan"]
    finished = {"learn": store.learned(), "probe": store.probed(), "sample": store.sampled()}
    graphed = metadata.filter(pl.col("population").is_in(list(store.graphed_populations()))).height
    return {
        "store": str(store.path),
        "spec": store.spec.name,
        "graphspace_version": store.attributes["graphspace_version"],
        "models": metadata["model"].n_unique(),
        "planned_models": plan["models"],
        "rows": metadata.height,
        "planned_rows": plan["rows"],
        "graphed_rows": graphed,
        "stages": [stage for stage, done in finished.items() if done],
        "tables": {s.key: s.frame.fill_nan(None).to_dicts() for s in found},
    }


def _id_list(text: str) -> list[int]:
    """Parse "3,17,40-49" into ids."""
    ids: list[int] = []
    try:
        for part in text.split(","):
            low, _, high = part.strip().partition("-")
            first, last = int(low), int(high or low)
            if last < first:
                raise click.BadParameter(f"{text!r}: the range {part.strip()} runs backwards; write {last}-{first}.")
            ids.extend(range(first, last + 1))
    except ValueError:
        raise click.BadParameter(f"{text!r}: give ids as comma-separated numbers or ranges, e.g. 3,17,40-49.") from None
    return ids


def _open(store_path: Path | None) -> Store:
    """The store at `store_path`, or else the most recently written one under store/."""
    from graphspace.store import open_store

    if store_path is not None:
        return open_store(store_path)
    stores = sorted(Path("store").glob("*.zarr"), key=lambda p: p.stat().st_mtime)
    if not stores:
        raise StoreError("No store under store/; give a STORE path, or run `graphspace run SPEC` first.")
    if len(stores) > 1:
        errors.print(f"{len(stores)} stores under store/; showing the most recent: {stores[-1]}", markup=False)
    return open_store(stores[-1])


def _print_frame(frame: pl.DataFrame, title: str) -> None:
    table = Table(title=title, title_justify="left")
    for column in frame.columns:
        table.add_column(column, justify="right" if frame[column].dtype.is_numeric() else "left")
    for row in frame.iter_rows():
        table.add_row(*(f"{v:.4g}" if isinstance(v, float) else "" if v is None else escape(str(v)) for v in row))
    console.print(table)


if __name__ == "__main__":
    main()
