"""Do the learn section's size and length, or denser checkpoints, hold the probe or reconstruction back?

Runs the spec of STORE (which holds that spec's zoo) with one setting changed at a time (no ablations, no
sampling): the encoder's width (hidden 32), its width and depth (hidden 128, 4 layers), the learning length (10, 20,
30 epochs), each on a copy of the store (so zoo and split stay the same and only the learn and probe stages rerun),
a checkpoint at every epoch (a new zoo of the same models), and two other seeds of the learned models (their
initialization and batch order, on copies of the store too: how much the learned space's own randomness moves the
figures). For each, on the test rows of the spec's kinds (its checkpoints' epochs and the pruned variants): test
accuracy R² / Kendall's tau predicted from the frozen embeddings, by the supervised GNN and by StatNN with
boosted trees (which reads the weights, not the learned space: it can move only with the zoo), and the median
reconstruction agreement of `main` and of the nearest-train-model oracle (and `main`'s over all test rows, which the
denser zoo has more of). Runs are deterministic; on store/mnist.zarr (specs/mnist.yaml) the first six take about
45 minutes on 2 cores, each seed about 7.

    python benchmarks/learn_settings.py [STORE] [SETTING ...]   (default: store/mnist.zarr, every setting)
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
from store_command import store_and_names  # the store benchmarks' command line

import graphspace
from graphspace.probing.estimators import scores


def every_epoch(spec: graphspace.Spec) -> dict[str, dict[str, Any]]:
    """The change that checkpoints the spec's zoo at every epoch too (besides the spec's own checkpoints)."""
    train = spec.zoo.train
    return {"zoo": {"train": {"checkpoints": sorted({*train.checkpoints, *range(1, train.epochs + 1)})}}}


# Each setting: the changes to a spec's sections, or a function of the spec that returns them.
SETTINGS: dict[str, dict[str, dict[str, Any]] | Callable[[graphspace.Spec], dict[str, dict[str, Any]]]] = {
    "hidden_32": {"learn": {"hidden": 32}},
    "hidden_128_layers_4": {"learn": {"hidden": 128, "layers": 4}},
    "epochs_10": {"learn": {"epochs": 10}},
    "epochs_20": {"learn": {"epochs": 20}},
    "epochs_30": {"learn": {"epochs": 30}},
    "every_epoch_checkpointed": every_epoch,
    "learn_seed_1": {"learn": {"seed": 1}},
    "learn_seed_2": {"learn": {"seed": 2}},
}


def changed_spec(spec: graphspace.Spec, changes: dict[str, Any]) -> graphspace.Spec:
    """`spec` with `changes` (nested sections) applied, no ablations and no sampling."""
    values = spec.model_dump()
    values["learn"]["ablations"] = []
    values["sample"]["targets"] = []
    for section, fields in changes.items():
        for name, value in fields.items():
            if isinstance(value, dict):
                values[section][name].update(value)
            else:
                values[section][name] = value
    return graphspace.Spec.model_validate(values)


def figures(store: graphspace.Store, kinds: list[int]) -> dict[str, Any]:
    """Probe and reconstruction figures on the test rows whose epoch is one of `kinds`."""
    ids = store.metadata().filter(pl.col("epoch").is_in(kinds)).select("id")
    predictions = store.probe_predictions().filter(pl.col("target") == "test_accuracy").join(ids, on="id")
    out: dict[str, Any] = {}
    for method in ("embedding_linear", "gnn_supervised", "statnn_gbt"):
        rows = predictions.filter(pl.col("method") == method)
        metrics = scores("continuous", rows["truth"].to_numpy(), rows["prediction"].to_numpy())
        out[method] = f"{metrics['r2']:.3f} / {metrics['kendall_tau']:.3f}"
    reconstruction = store.reconstruction().join(ids, on="id")
    for method in ("main", "nearest_train_model"):
        out[f"{method} agreement"] = reconstruction.filter(pl.col("method") == method)["agreement"].median()
    out["test rows"] = reconstruction.filter(pl.col("method") == "main").height
    everything = store.reconstruction().filter(pl.col("method") == "main")
    out["main agreement, all test rows"] = everything["agreement"].median()
    out["all test rows"] = everything.height
    return out


def main() -> None:
    given, names = store_and_names(__doc__, "settings (default: every one)", lambda _: list(SETTINGS))
    base = given.path
    spec = given.spec
    kinds = spec.zoo.train.checkpoints
    rows = [{"setting": "spec (from STORE)", **figures(given, kinds)}]
    with tempfile.TemporaryDirectory() as scratch:
        for name in names or SETTINGS:
            changes = SETTINGS[name](spec) if callable(SETTINGS[name]) else SETTINGS[name]
            path = Path(scratch) / f"{name}.zarr"
            if "zoo" not in changes:
                shutil.copytree(base, path)
            store = graphspace.run(changed_spec(spec, changes), store=path)
            rows.append({"setting": name, **figures(store, kinds)})
            shutil.rmtree(path)
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=200):
        print(pl.DataFrame(rows))


if __name__ == "__main__":
    main()
