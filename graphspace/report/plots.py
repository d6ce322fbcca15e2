"""The report's figures: each a pure function from store frames to a matplotlib Figure (no pyplot state)."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter
from sklearn.decomposition import PCA

from graphspace.probing.targets import ProbeTarget
from graphspace.summary import grouped

PANEL = (4.2, 3.2)  # inches per panel
R2_FLOOR = -0.5  # R² below this is drawn at it (a constant predictor scores about 0)
TARGET_MARGIN = 0.1  # the sampling figure's x axis: the targets' range and this much on each side, within [0, 1]


def accuracy_by_hyperparameter(last: pl.DataFrame, hyperparameters: list[ProbeTarget]) -> Figure:
    """Test accuracy of each model's last checkpoint against each varied hyperparameter: box plots for choices,
    a scatter for continuous values. `last` holds the rows of each model's last epoch, pruned ones included (only
    the pruning-ratio panel shows those)."""
    figure, axes = _panels(len(hyperparameters))
    unpruned = last.filter(pl.col("prune_ratio") == 0.0)
    for ax, target in zip(axes, hyperparameters, strict=False):
        frame = last if target.name == "prune_ratio" else unpruned
        if target.kind == "categorical":
            groups = frame.group_by(target.name).agg("test_accuracy").sort(target.name)
            ax.boxplot(groups["test_accuracy"].to_list(), tick_labels=[str(v) for v in groups[target.name]])
            ax.tick_params(axis="x", labelrotation=30)
        else:
            ax.scatter(frame[target.name], frame["test_accuracy"], s=8, alpha=0.5)
            if target.log:
                ax.set_xscale("log")
                ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set(xlabel=target.name, ylabel="test accuracy")
    figure.suptitle("Test accuracy at the last checkpoint, by hyperparameter")
    return figure


def training_curves(metadata: pl.DataFrame, hyperparameters: list[ProbeTarget]) -> Figure:
    """Median test accuracy (and its interquartile band) at each checkpoint epoch, one line per value of each
    varied hyperparameter (continuous ones in quartile bins); unpruned rows."""
    curves = [h for h in hyperparameters if h.name != "prune_ratio"]
    figure, axes = _panels(len(curves))
    unpruned = metadata.filter(pl.col("prune_ratio") == 0.0)
    for ax, target in zip(axes, curves, strict=False):
        frame = grouped(unpruned, target.name, target.kind == "categorical")
        stats = (
            frame.group_by(target.name, "epoch")
            .agg(
                pl.col("test_accuracy").median().alias("median"),
                pl.col("test_accuracy").quantile(0.25).alias("low"),
                pl.col("test_accuracy").quantile(0.75).alias("high"),
            )
            .sort(target.name, "epoch")
        )
        for (value,), line in stats.group_by(target.name, maintain_order=True):
            ax.plot(line["epoch"], line["median"], marker="o", markersize=3, label=str(value))
            ax.fill_between(line["epoch"], line["low"], line["high"], alpha=0.15)
        ax.set(xlabel="epoch", ylabel="test accuracy", title=target.name)
        ax.legend(fontsize=7)
    figure.suptitle("Training curves: median test accuracy by hyperparameter (band: interquartile range)")
    return figure


def embedding_map(metadata: pl.DataFrame, embeddings: np.ndarray, colorings: list[ProbeTarget]) -> Figure:
    """The weight embeddings (row i of `embeddings` = row i of `metadata`) projected on their first two
    principal components, one panel per coloring (a metadata column)."""
    pca = PCA(n_components=2).fit(embeddings)
    xy = pca.transform(embeddings)
    figure, axes = _panels(len(colorings))
    explained = pca.explained_variance_ratio_
    for ax, target in zip(axes, colorings, strict=False):
        values = metadata[target.name]
        if target.kind == "categorical":
            for value in values.unique().sort():
                at = (values == value).to_numpy()
                ax.scatter(xy[at, 0], xy[at, 1], s=4, alpha=0.6, label=str(value))
            ax.legend(fontsize=7, markerscale=3)
        else:
            numbers = values.cast(pl.Float64).to_numpy()
            positive = numbers[numbers > 0]
            norm = LogNorm(positive.min(), positive.max()) if target.log else Normalize(numbers.min(), numbers.max())
            points = ax.scatter(xy[:, 0], xy[:, 1], s=4, alpha=0.6, c=numbers, cmap="viridis", norm=norm)
            figure.colorbar(points, ax=ax)
        ax.set(
            title=target.name,
            xlabel=f"PC1 ({explained[0]:.0%})",
            ylabel=f"PC2 ({explained[1]:.0%})",
            xticks=[],
            yticks=[],
        )
    figure.suptitle("Weight embeddings of every checkpoint (PCA)")
    return figure


def reconstruction(quality: pl.DataFrame) -> Figure:
    """Accuracy of each decoded held-out test model against its original's, one panel per method (the learned
    variants and the baselines), with the diagonal that perfect reconstruction would follow."""
    methods = quality["method"].unique(maintain_order=True).to_list()
    figure, axes = _panels(len(methods), columns=len(methods), size=(3.4, 3.4))
    for ax, method in zip(axes, methods, strict=False):
        rows = quality.filter(pl.col("method") == method)
        points = ax.scatter(
            rows["original_accuracy"], rows["accuracy"], s=6, alpha=0.6, c=rows["agreement"], vmin=0, vmax=1
        )
        ax.plot([0, 1], [0, 1], color="black", linewidth=0.6, linestyle="--")
        ax.set(title=method, xlabel="original test accuracy", ylabel="decoded test accuracy", xlim=(0, 1), ylim=(0, 1))
    figure.colorbar(points, ax=axes, label="agreement with the original")
    figure.suptitle("Reconstruction of the held-out test models")
    return figure


def probe_results(probes: pl.DataFrame) -> Figure:
    """The probe table as grouped bars: one panel per metric, one group per target, one bar per method."""
    methods = probes.columns[2:]
    metrics = probes["metric"].unique(maintain_order=True).to_list()
    figure, axes = _panels(len(metrics), columns=len(metrics), size=(5.0, 0.9 + 0.55 * probes.height))
    for ax, metric in zip(axes, metrics, strict=False):
        rows = probes.filter(pl.col("metric") == metric)
        height = 0.8 / len(methods)
        for k, method in enumerate(methods):
            values = rows[method].to_numpy()
            if metric == "r2":
                values = np.maximum(values, R2_FLOOR)
            ax.barh(np.arange(rows.height) + k * height, values, height=height, label=method)
        ax.set_yticks(np.arange(rows.height) + 0.4 - height / 2, rows["target"].to_list())
        ax.invert_yaxis()
        ax.axvline(0.0, color="black", linewidth=0.5)
        floor = f" (below {R2_FLOOR} drawn at it)" if metric == "r2" else ""
        ax.set(title=f"{metric}{floor}", xlim=(min(0.0, R2_FLOOR if metric == "r2" else 0.0), 1.0))
    figure.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=len(methods), fontsize=7)
    figure.suptitle("Properties of held-out models predicted from weights, by method")
    return figure


def sampling(samples: pl.DataFrame) -> Figure:
    """Achieved against target test accuracy of every sampled model, one panel per dataset: each method's
    samples (dots, spread sideways) and medians (line), with the diagonal that perfect sampling would follow.
    The x axis spans the panel's targets (TARGET_MARGIN around them), the y axis every accuracy."""
    datasets = samples["dataset"].unique(maintain_order=True).to_list()
    figure, axes = _panels(len(datasets), size=(6.5, 5.0))
    methods = samples["method"].unique(maintain_order=True).to_list()
    for ax, dataset in zip(axes, datasets, strict=False):
        part = samples.filter(pl.col("dataset") == dataset)
        targets = part["target_accuracy"].unique().sort().to_numpy()
        spread = min(0.4 * np.diff(targets).min(), 0.04) if len(targets) > 1 else 0.04
        for k, method in enumerate(methods):
            rows = part.filter(pl.col("method") == method)
            shift = spread * (k / max(len(methods) - 1, 1) - 0.5)
            line = rows.group_by("target_accuracy").agg(pl.col("accuracy").median()).sort("target_accuracy")
            drawn = ax.plot(line["target_accuracy"] + shift, line["accuracy"], marker="D", markersize=4, label=method)
            ax.scatter(rows["target_accuracy"] + shift, rows["accuracy"], s=6, alpha=0.35, color=drawn[0].get_color())
        ax.plot([0, 1], [0, 1], color="black", linewidth=0.6, linestyle="--")
        xlim = (max(0.0, targets.min() - TARGET_MARGIN), min(1.0, targets.max() + TARGET_MARGIN))
        ax.set(title=dataset, xlabel="target test accuracy", ylabel="achieved test accuracy", xlim=xlim, ylim=(0, 1))
        ax.legend(fontsize=7)
    figure.suptitle("Sampled models: achieved against target accuracy, by method")
    return figure


def _panels(count: int, columns: int = 3, size: tuple[float, float] = PANEL) -> tuple[Figure, list[Axes]]:
    """A figure with `count` panels in rows of `columns`; unused cells are hidden."""
    columns = max(1, min(columns, count))
    rows = max(1, math.ceil(count / columns))
    figure = Figure(figsize=(size[0] * columns, size[1] * rows), layout="constrained")
    axes = list(figure.subplots(rows, columns, squeeze=False).flat)
    for ax in axes[count:]:
        ax.set_visible(False)
    return figure, axes[:count]
