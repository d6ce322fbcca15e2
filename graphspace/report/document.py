"""`write_report(store)`: report.md and its PNG figures, in a folder beside the store, every figure from it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import polars.selectors as cs
import yaml
from matplotlib.figure import Figure

from graphspace.errors import StoreError
from graphspace.probing.targets import RESULT_TARGETS, ProbeTarget, probe_targets
from graphspace.progress import Progress
from graphspace.report import plots
from graphspace.report.tables import Section, sections
from graphspace.spec import Spec
from graphspace.store import Store, writing

CHAPTERS = {  # chapter title -> the section keys it shows (by prefix)
    "Zoo": ("zoo", "accuracy_by_"),
    "Learned space": ("reconstruction", "nearest_dataset"),
    "Predicting properties from weights": ("probes",),
    "Sampling models for a target": ("samples", "alignment"),
    "Environment": ("environment",),
}
NOTHING_YET = {"Environment": "The store records no environment (it was written before graphspace recorded them)."}


def report_folder(store: Store) -> Path:
    """Where a store's report goes: beside it, `<store name>.report/` (store/mnist.zarr -> store/mnist.report; a
    store not named *.zarr keeps its whole name: runs/a.v1 -> runs/a.v1.report)."""
    name = store.path.stem if store.path.suffix == ".zarr" else store.path.name
    return store.path.with_name(f"{name}.report")


def write_report(store: Store, progress: Progress | None = None) -> Path:
    """Write report.md and its figures for whatever stages the store has finished (replacing an earlier
    report as a whole); returns the path of report.md. Holds the store's write lock (see `store.writing`)."""
    folder = report_folder(store)
    building = folder.with_name(folder.name + ".partial")
    if folder.exists() and not (folder / "report.md").is_file():
        raise StoreError(
            f"{folder}, where the report of store {store.path} goes, exists and holds no report.md; the report "
            f"replaces its folder whole, so it leaves one it did not write alone. Move or remove {folder}."
        )
    with writing(store.path):
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir(parents=True)
        figures = _figures(store)
        shown: dict[str, list[str]] = {chapter: [] for chapter in CHAPTERS}
        for k, (chapter, name, draw) in enumerate(figures):
            draw().savefig(building / name, dpi=110)
            shown[chapter].append(name)
            if progress:
                progress("report", k + 1, len(figures), name)
        (building / "report.md").write_text(_markdown_report(store, sections(store), shown))
        replaced = folder.with_name(folder.name + ".replaced")  # renames only: the folder is whole or absent
        shutil.rmtree(replaced, ignore_errors=True)
        if folder.exists():
            folder.rename(replaced)
        building.rename(folder)
        shutil.rmtree(replaced, ignore_errors=True)
    return folder / "report.md"


def _figures(store: Store) -> list[tuple[str, str, Callable[[], Figure]]]:
    """(chapter, file name, drawing) of every figure the store has the data for."""
    metadata = store.metadata()
    if metadata.is_empty():
        return []
    targets = probe_targets(store.spec)
    hyperparameters = [t for t in targets if t.name not in RESULT_TARGETS]
    last = metadata.filter(pl.col("epoch") == pl.col("epoch").max().over("model"))
    figures = [
        ("Zoo", "accuracy_by_hyperparameter.png", lambda: plots.accuracy_by_hyperparameter(last, hyperparameters)),
        ("Zoo", "training_curves.png", lambda: plots.training_curves(metadata, hyperparameters)),
    ]
    if store.learned():
        embedded = metadata.join(store.embeddings(), on="id").sort("id")
        several = metadata["dataset"].n_unique() > 1 and "dataset" not in {t.name for t in targets}
        colorings = [*targets, *([ProbeTarget("dataset", "categorical")] if several else [])]
        figures.append(("Learned space", "reconstruction.png", lambda: plots.reconstruction(store.reconstruction())))
        figures.append(
            (
                "Learned space",
                "embedding_pca.png",
                lambda: plots.embedding_map(embedded, np.stack(embedded["embedding"].to_numpy()), colorings),
            )
        )
    if store.probed():
        figures.append(
            ("Predicting properties from weights", "probes.png", lambda: plots.probe_results(store.probes()))
        )
    if store.sampled():
        figures.append(("Sampling models for a target", "sampling.png", lambda: plots.sampling(store.samples())))
    return figures


def _markdown_report(store: Store, found: list[Section], shown: dict[str, list[str]]) -> str:
    spec = store.spec
    lines = [
        f"# graphspace report: {spec.name}",
        "",
        f"Store `{store.path}` (graphspace {store.attributes['graphspace_version']}); every table and figure below is "
        f"read from it. Regenerate with `graphspace report {store.path}`.",
        "",
        "## Spec",
        "",
        *_spec_summary(spec),
        "",
        "<details><summary>The spec with every default filled in</summary>",
        "",
        "```yaml",
        yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False).rstrip(),
        "```",
        "",
        "</details>",
    ]
    plan = store.attributes["plan"]
    metadata = store.metadata()
    for chapter, keys in CHAPTERS.items():
        lines += ["", f"## {chapter}", ""]
        if chapter == "Zoo":
            lines += [
                f"{metadata['model'].n_unique()} of {plan['models']} models trained, {metadata.height} of "
                f"{plan['rows']} rows (checkpoints and pruned variants).",
                "",
            ]
        tables = [s for s in found if s.key.startswith(keys)]
        if not tables:
            lines.append(NOTHING_YET.get(chapter, "This stage has not run yet."))
        for section in tables:
            lines += [f"**{section.title}**", "", _markdown_table(section.frame), ""]
        lines += [f"![{name}]({name})\n" for name in shown[chapter]]
    return "\n".join(lines).rstrip() + "\n"


def _spec_summary(spec: Spec) -> list[str]:
    zoo = spec.zoo
    varied = "; ".join(f"{name}: {_describe(value)}" for name, value in zoo.vary.varied().items())
    ratios, checkpoints = zoo.prune.ratios(), zoo.train.checkpoints or [zoo.train.epochs]
    return [
        f"- datasets: {', '.join(d.name for d in spec.datasets)}",
        f"- architecture: {_describe(zoo.architecture.model_dump(mode='json'))}; {zoo.size} models",
        f"- varied: {varied or 'nothing'}",
        f"- training: {zoo.train.epochs} epochs, checkpoints at {_describe(checkpoints)}",
        f"- magnitude pruning: {_describe(ratios) if ratios else 'none'}",
        f"- seed {spec.seed}",
    ]


def _describe(value: object) -> str:
    """A spec value in one line of flow-style YAML."""
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json", exclude_none=True)
    return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()


def _markdown_table(frame: pl.DataFrame) -> str:
    with pl.Config(
        tbl_formatting="MARKDOWN",
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
        tbl_rows=-1,
        tbl_cols=-1,
        tbl_width_chars=10_000,
        fmt_str_lengths=200,
    ):
        return str(frame.with_columns(cs.float().round_sig_figs(4).cast(pl.String).fill_null("")))  # no value: blank
