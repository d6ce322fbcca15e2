"""The probe stage of a run: predict each checkpoint's results and hyperparameters from its frozen embedding
with linear probes, and from the same splits with the standard baselines, in one table.

Methods (columns of the table):
    embedding_linear   the learned embedding (the learn stage's main variant), linear probe on it or on its
                       direction, whichever the validation rows prefer
    statnn_linear      StatNN features (per-layer weight statistics), linear probe
    statnn_gbt         StatNN features, gradient-boosted trees (the strongest published baseline on small zoos)
    weights_linear     the flattened weights, linear probe (single-architecture zoos only)
    gnn_supervised     a GNN trained end to end on the targets (the supervised upper reference)
    recipe_gbt         gradient-boosted trees on each checkpoint's recipe (the varied hyperparameters, the epoch,
                       the pruning ratio) instead of its weights: a reference for how much of a result the recipe
                       explains, which leaves the rest to the seeds; for the targets outside the recipe only
    constant           the train mean (continuous) or the most frequent train label (categorical)

Linear probes are ridge (continuous targets) or logistic regression (categorical), on standardized features,
their L2 strength (and for the embeddings, the view) chosen on the validation split; everything fits on the
train split and is scored on the test split (splits by model, from the learn stage).
"""

from __future__ import annotations

import numpy as np
import polars as pl
import torch

from graphspace.determinism import deterministic
from graphspace.device import CPU, resolve_device
from graphspace.learn.examples import load_examples
from graphspace.probing.estimators import gbt_probe, linear_probe, scores
from graphspace.probing.features import (
    embedding_views,
    flat_weights,
    recipe_features,
    statnn_features,
    stored_embeddings,
)
from graphspace.probing.supervised import supervised_probe
from graphspace.probing.targets import ProbeTarget, probe_targets
from graphspace.progress import Progress
from graphspace.spec import Spec
from graphspace.store import Store, writing

DESIGN = 3  # what the probes compute; raise it when that changes, so stores' earlier probe tables are redone
# (2: the embeddings' linear probe chooses between the embedding and its direction; 3: recipe_gbt)
METHODS = (
    "embedding_linear", "statnn_linear", "statnn_gbt", "weights_linear", "gnn_supervised", "recipe_gbt", "constant"
)  # fmt: skip
FEATURE_PROBES = (  # method, features, estimator
    ("embedding_linear", "embedding", "linear"),
    ("statnn_linear", "statnn", "linear"),
    ("statnn_gbt", "statnn", "gbt"),
    ("weights_linear", "weights", "linear"),
    ("recipe_gbt", "recipe", "gbt"),
)
PREDICTION_SCHEMA = {
    "target": pl.String,
    "method": pl.String,
    "id": pl.Int64,
    "truth": pl.Float64,
    "prediction": pl.Float64,
    "truth_label": pl.String,
    "predicted_label": pl.String,
}


def probe(store: Store, device: str | torch.device = "auto") -> pl.DataFrame:
    """The probe table of a store (see `probe_table`), computing it with the store's own spec if the store's run
    has not yet (the supervised GNN reference trains on `device`: see `graphspace.device.DEVICES`). The learn
    stage must have finished."""
    place = resolve_device(device)
    with writing(store.path):
        probe_stage(store, store.spec, device=place)
    return store.probes()


@deterministic()
def probe_stage(store: Store, spec: Spec, progress: Progress | None = None, device: torch.device = CPU) -> None:
    """Run (or skip when done) the probe stage of `spec` on a store whose learn stage has finished; the supervised
    GNN reference trains on `device`."""
    store.start_probing(spec.probe, DESIGN)
    if store.probed():
        return
    predictions = probe_predictions(store, spec, progress, device)
    store.write_probed(probe_table(predictions), predictions, device)


def probe_rows(metadata: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boolean masks of the metadata rows a probe fits on (train), chooses its settings on (validation, or train
    when there is none) and is scored on (test)."""
    split = metadata["split"].to_numpy()
    train, val, test = (split == name for name in ("train", "val", "test"))
    return train, val if val.any() else train, test


def probe_predictions(
    store: Store, spec: Spec, progress: Progress | None = None, device: torch.device = CPU
) -> pl.DataFrame:
    """Every method's predictions of every target for the test rows (PREDICTION_SCHEMA)."""
    metadata = store.metadata()
    train, select, test = probe_rows(metadata)
    targets = [t for t in probe_targets(spec) if len(np.unique(t.values(metadata)[train])) > 1]
    values = [t.values(metadata) for t in targets]
    weights = flat_weights(store, metadata)
    recipe, in_recipe = recipe_features(spec, metadata)
    features = {  # each the views of it a linear probe chooses from
        "embedding": embedding_views(stored_embeddings(store, metadata)),
        "statnn": (statnn_features(store, metadata),),
        "weights": None if weights is None else (weights,),
        "recipe": (recipe,),
    }
    probes = [(m, f, e) for m, f, e in FEATURE_PROBES if features[f] is not None and (e != "gbt" or spec.probe.gbt)]
    fits = [  # the recipe does not predict what it holds: that would be trivial
        (t, y, p)
        for t, y in zip(targets, values, strict=True)
        for p in probes
        if p[1] != "recipe" or t.name not in in_recipe
    ]
    epochs = spec.probe.supervised_epochs
    total = len(fits) + epochs
    predicted = {(t.name, "constant"): _constant(t, y, train) for t, y in zip(targets, values, strict=True)}
    for done, (target, y, (method, feature, estimator)) in enumerate(fits, start=1):
        views = features[feature]
        if estimator == "gbt":
            predicted[target.name, method] = gbt_probe(target.kind, views[0], y, train, spec.seed)
        else:
            predicted[target.name, method] = linear_probe(target.kind, views, y, train, select)
        if progress:
            progress("probe", done, total, f"{target.name}: {method}")
    if epochs:
        examples = load_examples(store, store.split())  # rows in metadata order

        def on_epoch(epoch: int, epochs: int) -> None:
            if progress:
                progress("probe", len(fits) + epoch, total, f"supervised GNN epoch {epoch}/{epochs}")

        learn = spec.learn
        supervised = supervised_probe(
            examples,
            targets,
            values,
            (learn.hidden, learn.layers, learn.latent),
            (epochs, learn.batch_size, learn.lr, spec.seed),
            on_epoch,
            device,
        )
        for target, prediction in zip(targets, supervised, strict=True):
            predicted[target.name, "gnn_supervised"] = prediction
    kinds = {t.name: t for t in targets}
    truths = dict(zip([t.name for t in targets], values, strict=True))
    ids = metadata["id"].to_numpy()[test]
    frames = [
        _prediction_frame(kinds[name], method, ids, truths[name][test], prediction[test])
        for (name, method), prediction in predicted.items()
    ]
    return pl.concat([pl.DataFrame(schema=PREDICTION_SCHEMA), *frames])


def probe_table(predictions: pl.DataFrame) -> pl.DataFrame:
    """One row per (target, metric), one column per method present: R² and Kendall's tau for continuous
    targets, accuracy for categorical ones, on the test rows."""
    rows = []
    for (target, method), part in predictions.group_by("target", "method", maintain_order=True):
        categorical = part["truth"].is_null().all()
        kind = "categorical" if categorical else "continuous"
        columns = ("truth_label", "predicted_label") if categorical else ("truth", "prediction")
        truth, prediction = (part[c].to_numpy() for c in columns)
        for metric, value in scores(kind, truth, prediction).items():
            rows.append({"target": target, "metric": metric, "method": method, "value": value})
    long = pl.DataFrame(
        rows, schema={"target": pl.String, "metric": pl.String, "method": pl.String, "value": pl.Float64}
    )
    return _column_per_method(long, ["target", "metric"], "value")


def within_kinds(predictions: pl.DataFrame, metadata: pl.DataFrame, target: str = "test_accuracy") -> pl.DataFrame:
    """Kendall's tau of each method's predictions of a continuous `target` within each kind of test row (epoch,
    prune ratio; with its number of rows): how well a probe ranks models at one stage of training, rather than
    telling the stages apart. One row per kind, one column per method that predicted the target (but `constant`)."""
    ranking = (pl.col("target") == target) & (pl.col("method") != "constant")  # a constant ranks nothing
    part = predictions.filter(ranking).join(metadata.select("id", "epoch", "prune_ratio"), on="id")
    rows = []
    for (epoch, prune_ratio, method), kind in part.group_by("epoch", "prune_ratio", "method", maintain_order=True):
        tau = scores("continuous", kind["truth"].to_numpy(), kind["prediction"].to_numpy())["kendall_tau"]
        rows.append({"epoch": epoch, "prune_ratio": prune_ratio, "rows": kind.height, "method": method, "tau": tau})
    schema = {
        **metadata.select("epoch", "prune_ratio").schema,
        "rows": pl.UInt32,
        "method": pl.String,
        "tau": pl.Float64,
    }
    return _column_per_method(pl.DataFrame(rows, schema=schema), ["epoch", "prune_ratio", "rows"], "tau").sort(
        "epoch", "prune_ratio"
    )


def _column_per_method(long: pl.DataFrame, index: list[str], values: str) -> pl.DataFrame:
    """`long` (one row per index and method) pivoted to one column per method present, in the order of METHODS."""
    present = [m for m in METHODS if m in set(long["method"])]
    return long.pivot("method", index=index, values=values, maintain_order=True).select(*index, *present)


def _constant(target: ProbeTarget, y: np.ndarray, train: np.ndarray) -> np.ndarray:
    if target.kind == "continuous":
        return np.full(len(y), y[train].mean())
    labels, counts = np.unique(y[train], return_counts=True)
    return np.full(len(y), labels[counts.argmax()], dtype=object)


def _prediction_frame(
    target: ProbeTarget, method: str, ids: np.ndarray, truth: np.ndarray, prediction: np.ndarray
) -> pl.DataFrame:
    continuous = target.kind == "continuous"
    return pl.DataFrame(
        {
            "target": target.name,
            "method": method,
            "id": ids,
            "truth": truth.astype(np.float64) if continuous else None,
            "prediction": prediction.astype(np.float64) if continuous else None,
            "truth_label": None if continuous else truth.astype(str),
            "predicted_label": None if continuous else prediction.astype(str),
        },
        schema=PREDICTION_SCHEMA,
    )
