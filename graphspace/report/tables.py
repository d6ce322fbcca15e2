"""The tables that describe a store, each with its title: what `graphspace run` and `info` print, what `info
--json` emits and what the report shows."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from graphspace.device import resolve_device
from graphspace.learn.quality import by_checkpoint, by_original_accuracy, summarize
from graphspace.learn.retrieval import dataset_retrieval
from graphspace.probing.stage import within_kinds
from graphspace.provenance import differences, environment, environment_table
from graphspace.sample.stage import alignment, summarize_samples
from graphspace.store import Store
from graphspace.summary import accuracy_by_hyperparameter, zoo_summary

REFERENCES = ("best_train_model", "nearest_train_model")
"""The methods whose agreement the reconstruction tables by kind of row show beside `main`'s."""


@dataclass(frozen=True)
class Section:
    """One table of a store's summary.

    Attributes:
        key: a stable name (the key in `graphspace info --json`).
        title: what the table shows, for people.
        frame: the table.
    """

    key: str
    title: str
    frame: pl.DataFrame


def sections(store: Store, hyperparameters: bool = True) -> list[Section]:
    """The store's tables, stage by stage, for the stages it has finished: the zoo by dataset (and, with
    `hyperparameters`, test accuracy by each varied hyperparameter), reconstruction quality, the nearest dataset
    embeddings, the probe table and its test-accuracy ranking within each kind of test row, and the sampled models
    with their prompt alignment; last, the environments the store's commits were made in beside this process's."""
    metadata = store.metadata()
    if metadata.is_empty():
        return []
    found = [Section("zoo", "zoo by dataset (acc: last-checkpoint test accuracy)", zoo_summary(metadata))]
    if hyperparameters:
        for name, table in accuracy_by_hyperparameter(metadata, store.spec).items():
            found.append(Section(f"accuracy_by_{name}", f"last-checkpoint test accuracy by {name}", table))
    if store.learned():
        quality = store.reconstruction()
        found += [
            Section(
                "reconstruction",
                "reconstruction of the held-out test models (medians; final: each model's last unpruned checkpoint)",
                summarize(quality, metadata),
            ),
            Section(
                "reconstruction_by_checkpoint",
                "main: medians by kind of test row, beside the agreement of the template and of the oracle",
                by_checkpoint(quality, metadata, references=REFERENCES),
            ),
            Section(
                "reconstruction_by_original_accuracy",
                "main: medians by band of the original's test accuracy, beside the template's and the oracle's",
                by_original_accuracy(quality, references=REFERENCES),
            ),
        ]
        nearest = dataset_retrieval(store.nearest_datasets())
        if nearest.height:
            found.append(
                Section("nearest_dataset", "nearest dataset embedding to each model's weight embedding", nearest)
            )
    if store.probed():
        predictions = store.probe_predictions()
        found += [
            Section(
                "probes",
                "properties of the held-out test rows predicted from weights (R², Kendall's tau, accuracy)",
                store.probes(),
            ),
            Section(
                "probes_within_kinds",
                "Kendall's tau of predicted test accuracy within each kind of test row (epoch, pruning)",
                within_kinds(predictions, metadata),
            ),
        ]
    if store.sampled():
        samples = store.samples()
        found += [
            Section(
                "samples",
                "sampled models per target and method (medians)",
                summarize_samples(samples).drop("target"),
            ),
            Section(
                "alignment",
                "prompt alignment over all targets: R² of achieved against target accuracy",
                alignment(samples),
            ),
        ]
    recorded = store.environments()
    if recorded.height:
        here = environment(resolve_device("auto"))
        differ = "; ".join(differences(recorded, here))
        title = "what the store's commits were made with, beside this process" + (
            f" (which differs in {differ}: stages rerun here may differ in the last digits)" if differ else ""
        )
        found.append(Section("environment", title, environment_table(recorded, here)))
    return found
