"""The report: report.md and its figures beside the store, every table and figure read from the store."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from matplotlib.image import imread

import graphspace
from graphspace import pipeline
from graphspace.probing.targets import ProbeTarget
from graphspace.report import plots, report_folder, sections, write_report
from graphspace.sample import summarize_samples
from tests.conftest import SPECS

FIGURES = {
    "accuracy_by_hyperparameter.png",
    "training_curves.png",
    "reconstruction.png",
    "embedding_pca.png",
    "probes.png",
    "sampling.png",
}


def markdown_table(text: str, title: str) -> pl.DataFrame:
    """The table that follows `**title**` in a markdown document, as strings."""
    lines = text.split(f"**{title}**\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    return pl.DataFrame(cells[2:], schema=cells[0], orient="row")


def copy_of(store: graphspace.Store, folder: Path) -> graphspace.Store:
    shutil.copytree(store.path, folder / store.path.name)
    return graphspace.open_store(folder / store.path.name)


def test_the_run_writes_the_report_and_every_figure_beside_the_store(tiny_store: graphspace.Store) -> None:
    folder = report_folder(tiny_store)
    assert folder == tiny_store.path.parent / "tiny.report"
    text = (folder / "report.md").read_text()
    linked = set(re.findall(r"!\[[^]]*\]\(([^)]+)\)", text))
    assert linked == FIGURES == {p.name for p in folder.glob("*.png")}
    for name in FIGURES:
        image = imread(folder / name)
        assert image.ndim == 3 and min(image.shape[:2]) > 200 and image.std() > 0  # a drawn picture, not a blank
    for chapter in (
        "## Spec",
        "## Zoo",
        "## Learned space",
        "## Predicting properties",
        "## Sampling models",
        "## Env",
    ):
        assert chapter in text
    assert "has not run yet" not in text


def test_report_tables_are_the_stores_tables(tiny_store: graphspace.Store) -> None:
    text = (report_folder(tiny_store) / "report.md").read_text()
    for section in sections(tiny_store):
        shown = markdown_table(text, section.title)
        assert shown.columns == section.frame.columns and shown.height == section.frame.height
    probes = markdown_table(
        text, "properties of the held-out test rows predicted from weights (R², Kendall's tau, accuracy)"
    )
    stored = tiny_store.probes()
    for method in stored.columns[2:]:
        shown = probes[method].replace({"NaN": "nan", "": None}).cast(pl.Float64).to_numpy()  # blank: no fit
        np.testing.assert_allclose(shown, stored[method].to_numpy(), rtol=1e-3, atol=1e-12)


def test_a_report_is_regenerated_whole(tiny_store: graphspace.Store, tmp_path: Path) -> None:
    store = copy_of(tiny_store, tmp_path)
    first = write_report(store)
    (first.parent / "stale.png").write_bytes(b"left over")
    again = write_report(store)
    assert again == first and not (first.parent / "stale.png").exists()
    assert {p.name for p in first.parent.iterdir()} == FIGURES | {"report.md"}


def test_the_report_goes_beside_its_store_and_never_replaces_a_folder_it_did_not_write(
    tiny_store: graphspace.Store, tmp_path: Path
) -> None:
    shutil.copytree(tiny_store.path, tmp_path / "run.report")  # a store whose name is a report folder's
    store = graphspace.open_store(tmp_path / "run.report")
    assert write_report(store) == tmp_path / "run.report.report" / "report.md"
    assert graphspace.open_store(tmp_path / "run.report").metadata().equals(tiny_store.metadata())
    mine = copy_of(tiny_store, tmp_path / "other")
    report_folder(mine).mkdir()
    (report_folder(mine) / "notes.txt").write_text("mine")
    with pytest.raises(graphspace.StoreError, match=r"holds no report\.md"):
        write_report(mine)
    assert [p.name for p in report_folder(mine).iterdir()] == ["notes.txt"]


def test_a_store_with_only_its_zoo_reports_the_zoo_and_says_what_has_not_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for stage in ("learn_stage", "probe_stage", "sample_stage"):
        monkeypatch.setattr(pipeline, stage, lambda *args: None)
    store = graphspace.run(graphspace.load_spec(SPECS / "tiny.yaml"), tmp_path / "tiny.zarr")
    folder = report_folder(store)
    assert {p.name for p in folder.glob("*.png")} == {"accuracy_by_hyperparameter.png", "training_curves.png"}
    text = (folder / "report.md").read_text()
    assert text.count("This stage has not run yet.") == 3 and "## Environment" in text


def test_the_sampling_figure_draws_the_medians_of_the_samples(tiny_store: graphspace.Store) -> None:
    samples = tiny_store.samples()
    figure = plots.sampling(samples)
    (ax,) = figure.axes
    medians = summarize_samples(samples)
    for line in ax.get_lines()[:-1]:  # the last line is the diagonal
        method = line.get_label()
        expected = medians.filter(pl.col("method") == method).sort("target_accuracy")["accuracy"].to_numpy()
        np.testing.assert_allclose(line.get_ydata(), expected)
    assert {line.get_label() for line in ax.get_lines()[:-1]} == set(samples["method"])


def test_the_sampling_figure_spans_its_targets_not_the_whole_accuracy_range() -> None:
    samples = pl.DataFrame(
        {
            "dataset": ["digits"] * 4,
            "method": ["screened", "screened", "random_init", "random_init"],
            "target_accuracy": [0.9, 0.95, 0.9, 0.95],
            "accuracy": [0.89, 0.96, 0.1, 0.08],
        }
    )
    (ax,) = plots.sampling(samples).axes
    np.testing.assert_allclose(ax.get_xlim(), (0.9 - plots.TARGET_MARGIN, 1.0))
    assert ax.get_ylim() == (0.0, 1.0)  # a sampler that misses by far still shows


def test_training_curves_draw_one_line_per_value_at_the_checkpoint_epochs() -> None:
    metadata = pl.DataFrame(
        {
            "init": ["normal", "normal", "glorot", "glorot", "normal"],
            "lr": [0.01, 0.01, 0.1, 0.1, 0.01],
            "epoch": [0, 2, 0, 2, 2],
            "prune_ratio": [0.0, 0.0, 0.0, 0.0, 0.5],
            "test_accuracy": [0.1, 0.8, 0.2, 0.6, 0.05],
        }
    )
    hyperparameters = [ProbeTarget("init", "categorical"), ProbeTarget("lr", "continuous", log=True)]
    figure = plots.training_curves(metadata, hyperparameters)
    init, lr = figure.axes
    lines = {line.get_label(): line for line in init.get_lines()}
    assert set(lines) == {"glorot", "normal"}
    np.testing.assert_allclose(lines["normal"].get_xdata(), [0, 2])
    np.testing.assert_allclose(lines["normal"].get_ydata(), [0.1, 0.8])  # the pruned row is left out
    assert len(lr.get_lines()) == 2  # two distinct values: each its own line, not quartile bins


def test_embedding_map_projects_on_the_principal_components() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(size=(40, 5)) * np.array([10.0, 3.0, 0.1, 0.1, 0.1])
    metadata = pl.DataFrame({"test_accuracy": rng.uniform(size=40), "init": ["a", "b"] * 20})
    figure = plots.embedding_map(
        metadata, z, [ProbeTarget("test_accuracy", "continuous"), ProbeTarget("init", "categorical")]
    )
    accuracy_panel = figure.axes[0]
    xy = accuracy_panel.collections[0].get_offsets()
    assert abs(np.corrcoef(xy[:, 0], z[:, 0])[0, 1]) > 0.99  # PC1 is the direction of largest variance
    singular = np.linalg.svd(z - z.mean(0), compute_uv=False)
    share = singular[0] ** 2 / (singular**2).sum()  # of all the variance, not just of two components
    assert accuracy_panel.get_xlabel() == f"PC1 ({share:.0%})"


def test_the_reconstruction_figure_places_every_test_row_by_original_and_decoded_accuracy(
    tiny_store: graphspace.Store,
) -> None:
    quality = tiny_store.reconstruction()
    figure = plots.reconstruction(quality)
    panels = [ax for ax in figure.axes if ax.get_title()]  # the colorbar has no title
    assert [ax.get_title() for ax in panels] == quality["method"].unique(maintain_order=True).to_list()
    for ax in panels:
        rows = quality.filter(pl.col("method") == ax.get_title())
        np.testing.assert_allclose(ax.collections[0].get_offsets(), rows.select("original_accuracy", "accuracy"))
