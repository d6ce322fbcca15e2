"""The Zarr store of a run: weights of every checkpoint and its metadata table.

Layout (one directory):
    zarr.json                    root group; attributes: schema_version, graphspace_version, spec, plan
    weights/<architecture>       float32 (rows, parameters), one chunk per row; attributes: the blueprint
    metadata/part-<NNNNNN>.parquet  the rows committed by one population (see `Store.append`)

Crash safety: the store directory appears only once complete (built under a temporary name, then renamed);
weight arrays are allocated for the whole plan up front, so appends write chunks (atomically, by Zarr) and
never touch array metadata; a population's rows count as written only when its metadata part exists, and
that part is written to a temporary file and renamed. A run killed at any moment leaves a store that opens,
holds only whole populations, and resumes by redoing the population in flight.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import uuid
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch
import zarr
from torch import nn

from graphspace.errors import StoreError
from graphspace.spec import Spec
from graphspace.zoo.architecture import Blueprint, Conv, Dense

SCHEMA_VERSION = 1
METADATA_SCHEMA = {
    "id": pl.Int64,
    "model": pl.Int64,
    "population": pl.Int64,
    "architecture": pl.String,
    "weights_row": pl.Int64,
    "dataset": pl.String,
    "init": pl.String,
    "init_std": pl.Float64,
    "activation": pl.String,
    "dropout": pl.Float64,
    "weight_decay": pl.Float64,
    "optimizer": pl.String,
    "lr": pl.Float64,
    "momentum": pl.Float64,
    "batch_size": pl.Int64,
    "seed": pl.Int64,
    "data_seed": pl.Int64,
    "epoch": pl.Int64,
    "prune_ratio": pl.Float64,
    "parent": pl.Int64,
    "train_loss": pl.Float64,
    "train_accuracy": pl.Float64,
    "test_loss": pl.Float64,
    "test_accuracy": pl.Float64,
    "generalization_gap": pl.Float64,
}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("graphspace")
    except PackageNotFoundError:
        return "unknown"


def create_store(path: str | Path, spec: Spec, layouts: dict[str, tuple[Blueprint, int]], plan: dict) -> Store:
    """Create a new store for `spec` with a weight array of `rows` rows per architecture key.

    The directory appears complete or not at all. Raises StoreError if `path` exists.
    """
    path = Path(path)
    if path.exists():
        raise StoreError(f"Store {path} already exists; open it, or remove it first.")
    path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in path.parent.glob(f".{path.name}.*.partial"):  # from a run killed while creating
        shutil.rmtree(leftover, ignore_errors=True)
    staging = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
    attributes = {
        "schema_version": SCHEMA_VERSION,
        "graphspace_version": _version(),
        "spec": spec.model_dump(mode="json"),
        "plan": plan,
    }
    try:
        root = zarr.open_group(staging, mode="w-", attributes=attributes)
        for key, (blueprint, rows) in layouts.items():
            root.create_array(
                f"weights/{key}",
                shape=(rows, blueprint.num_parameters),
                chunks=(1, blueprint.num_parameters),
                dtype="float32",
                fill_value=np.nan,
                dimension_names=("row", "parameter"),
                attributes={"blueprint": dataclasses.asdict(blueprint)},
            )
        (staging / "metadata").mkdir()
        os.rename(staging, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Store(path)


def open_store(path: str | Path) -> Store:
    """Open an existing store.

    Raises:
        StoreError: the path does not exist or is not a graphspace store.
    """
    path = Path(path)
    if not (path / "zarr.json").is_file():
        raise StoreError(f"No graphspace store at {path} (no zarr.json there); run `graphspace run SPEC` first.")
    store = Store(path)
    if store.attributes.get("schema_version") != SCHEMA_VERSION:
        raise StoreError(
            f"Store {path} has schema version {store.attributes.get('schema_version')!r}; this graphspace "
            f"reads version {SCHEMA_VERSION}."
        )
    return store


class Store:
    """A run's store: `metadata()` / `scan()` for the table, `weights(i)` / `model(i)` for checkpoint i."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._root = zarr.open_group(self.path, mode="r+")
        self._blueprints: dict[str, Blueprint] = {}

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    @cached_property
    def attributes(self) -> dict[str, Any]:
        """The root attributes (schema and graphspace versions, the spec, the plan)."""
        return self._root.attrs.asdict()

    @property
    def spec(self) -> Spec:
        """The spec the store was made from."""
        return Spec.model_validate(self.attributes["spec"])

    # ------------------------------------------------------------------------------------------- table
    def scan(self) -> pl.LazyFrame:
        """The metadata as a LazyFrame: one row per checkpoint (and pruned variant)."""
        parts = sorted((self.path / "metadata").glob("part-*.parquet"))
        if not parts:
            return pl.LazyFrame(schema=METADATA_SCHEMA)
        return pl.scan_parquet(parts).sort("id")

    def metadata(self) -> pl.DataFrame:
        """The metadata as a DataFrame: one row per checkpoint (and pruned variant), sorted by id."""
        return self._metadata.clone()

    @cached_property
    def _metadata(self) -> pl.DataFrame:
        return self.scan().collect()

    def committed_populations(self) -> set[int]:
        """Indices of the populations whose rows are in the store."""
        return {int(p.stem.removeprefix("part-")) for p in (self.path / "metadata").glob("part-*.parquet")}

    # ----------------------------------------------------------------------------------------- weights
    def blueprint(self, architecture: str) -> Blueprint:
        """The blueprint of an architecture key."""
        if architecture not in self._blueprints:
            attributes = self._root[f"weights/{architecture}"].attrs["blueprint"]
            self._blueprints[architecture] = _blueprint_from_dict(attributes)
        return self._blueprints[architecture]

    def weights(self, i: int) -> dict[str, torch.Tensor]:
        """The parameters of checkpoint `i` (a metadata id) as a state dict."""
        row = self._row(i)
        blueprint = self.blueprint(row["architecture"])
        flat = torch.from_numpy(self._root[f"weights/{row['architecture']}"][row["weights_row"]])
        return unflatten(blueprint, flat)

    def model(self, i: int) -> nn.Module:
        """Checkpoint `i` as a runnable torch model in eval mode."""
        row = self._row(i)
        model = self.blueprint(row["architecture"]).build(row["activation"], row["dropout"])
        model.load_state_dict(self.weights(i))
        return model.eval()

    def _row(self, i: int) -> dict[str, Any]:
        rows = self._metadata.filter(pl.col("id") == i)
        if rows.height != 1:
            raise StoreError(f"Store {self.path} has no checkpoint with id {i} (ids 0..{self._metadata.height - 1}).")
        return rows.row(0, named=True)

    # ------------------------------------------------------------------------------------------ append
    def append(self, population: int, rows: list[dict[str, Any]], weights: list[np.ndarray]) -> pl.DataFrame:
        """Write one population's checkpoints: their weights, then their metadata part (the commit).

        `rows` are metadata rows without id, weights_row and parent ids; a pruned row names its parent by
        position in `rows` under "parent_index". Returns the committed frame.
        """
        if population in self.committed_populations():
            raise StoreError(f"Population {population} is already in store {self.path}.")
        table = self._metadata
        next_id = table.height
        next_row = dict(table.group_by("architecture").len().iter_rows())
        ids = list(range(next_id, next_id + len(rows)))
        records = []
        for i, (row, flat) in enumerate(zip(rows, weights, strict=True)):
            key = row["architecture"]
            position = next_row.get(key, 0)
            next_row[key] = position + 1
            parent_index = row.get("parent_index")
            record = {k: v for k, v in row.items() if k != "parent_index"}
            record |= {"id": ids[i], "population": population, "weights_row": position}
            record["parent"] = ids[parent_index] if parent_index is not None else None
            records.append(record)
            self._root[f"weights/{key}"][position] = flat
        frame = pl.DataFrame(records, schema=METADATA_SCHEMA)
        part = self.path / "metadata" / f"part-{population:06d}.parquet"
        for leftover in part.parent.glob(f".{part.name}.*.partial"):  # from a run killed while committing
            leftover.unlink(missing_ok=True)
        staging = part.with_name(f".{part.name}.{uuid.uuid4().hex}.partial")
        frame.write_parquet(staging)
        os.replace(staging, part)
        self.__dict__.pop("_metadata", None)
        return frame


def unflatten(blueprint: Blueprint, flat: torch.Tensor) -> dict[str, torch.Tensor]:
    """A flat parameter vector as a state dict of the blueprint's models."""
    state, offset = {}, 0
    for name, shape in blueprint.parameter_shapes():
        size = int(np.prod(shape))
        state[name] = flat[offset : offset + size].reshape(shape).clone()
        offset += size
    return state


def _blueprint_from_dict(data: dict[str, Any]) -> Blueprint:
    return Blueprint(
        input_shape=tuple(data["input_shape"]),
        convs=tuple(Conv(**c) for c in data["convs"]),
        pool_kind=data["pool_kind"],
        head=data["head"],
        dense=tuple(Dense(**d) for d in data["dense"]),
        conv_output=tuple(data["conv_output"]),
    )


def describe_spec_change(stored: dict[str, Any], spec: Spec) -> list[str]:
    """Top-level sections that define the zoo (seed, datasets, zoo) and differ from the stored spec."""
    current = spec.model_dump(mode="json")
    return [key for key in ("seed", "datasets", "zoo") if json.dumps(stored.get(key)) != json.dumps(current[key])]
