"""The Zarr store of a run: weights of every checkpoint, their canonical graphs, and the metadata table.

Layout (one directory):
    zarr.json                    root group; attributes: schema_version, graphspace_version, spec, plan
    weights/<architecture>       float32 (rows, parameters), one chunk per row; attributes: the blueprint
    metadata/part-<NNNNNN>.parquet  the rows committed by one population (see `Store.append`); its key-value
                                 metadata holds the environment it was trained in (see graphspace.provenance)
    graphs/                      attributes: grid, the (height, width) every edge's weights are padded to
    graphs/<architecture>/       the skeleton, stored once: edge_index (2, E), node_layer (N,),
                                 node_position (N,), edge_kind (E,); and
        features                 float32 (rows, F), uncompressed, one chunk per row: row r is the canonical
                                 features (node biases, then edge weights; see graphspace.graph.skeleton)
                                 of weights row r
    graphs/done/<NNNNNN>         the population's graphs are written (see `Store.write_graphs`); JSON: the
                                 environment they were written in
    learn/                       attributes: the learn section. split.parquet, <variant>.pt (checkpoints),
                                 embeddings (rows, latent), reconstruction.parquet, datasets.parquet, done
    probe/                       attributes: the probe and learn sections. predictions.parquet, results.parquet,
                                 done
    samples/                     attributes: the sample and learn sections. samples.parquet, <architecture>
                                 (rows, F) canonical features of the sampled models, done
    <stage>/done                 the stage has finished; JSON: the environment it finished in

Crash safety: the store directory appears only once complete (built under a temporary name, then renamed);
weight arrays are allocated for the whole plan up front, so appends write chunks (atomically, by Zarr) and
never touch array metadata; a population's rows count as written only when its metadata part exists, and
that part is written to a temporary file and renamed. A run killed at any moment leaves a store that opens,
holds only whole populations, and resumes by redoing the population in flight. The graph stage works the
same way: a population's graphs count as written only once its `graphs/done` file exists.
"""

from __future__ import annotations

import dataclasses
import fcntl
import functools
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch
import zarr
from torch import nn
from torch_geometric.data import Batch, Data

from graphspace.device import CPU
from graphspace.errors import StoreError
from graphspace.graph.convert import canonical_features, graph
from graphspace.graph.network import Network
from graphspace.graph.skeleton import Skeleton, skeleton
from graphspace.provenance import environment
from graphspace.spec import Learn, Probe, Sample, Spec
from graphspace.zoo.architecture import Blueprint, Conv, Dense

SCHEMA_VERSION = 2
# Sampling targets once took a loss, gap and epoch that sampling never used; stores written then record them (as
# null) in their spec, which is read without them.
RETIRED_TARGET_FIELDS = ("loss", "gap", "epoch")
ENVIRONMENT_KEY = "graphspace_environment"  # a metadata part's key-value metadata entry: the environment (JSON)
SKELETON_ARRAYS = ("edge_index", "node_layer", "node_position", "edge_kind")
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


_HELD: set[Path] = set()  # stores whose write lock this process holds


@contextmanager
def writing(path: str | Path) -> Iterator[None]:
    """Hold the write lock of the store at `path` (which need not exist yet) for the duration: a lock file
    beside it, `.NAME.lock`, locked with flock, so the lock is released when its holder exits, however it ends.
    Reentrant: within a run, which holds it, the stages that take it themselves (probe, report) go on.

    Raises:
        StoreError: another process (a `graphspace run`, `report`, or `graphspace.probe`) holds the lock.
    """
    path = Path(path).resolve()
    if path in _HELD:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "unknown"
            raise StoreError(
                f"Store {path} is being written by another graphspace process (process {holder}); two writers "
                f"on one store would overwrite each other's work. Wait for it to finish (a new run can take "
                f"another store with --store)."
            ) from None
        lock.truncate(0)
        lock.write(str(os.getpid()))
        lock.flush()
        _HELD.add(path)
        try:
            yield
        finally:
            _HELD.discard(path)


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
    grid = graph_grid([blueprint for blueprint, _ in layouts.values()])
    try:
        root = zarr.open_group(staging, mode="w-", attributes=attributes)
        root.create_group("graphs", attributes={"grid": list(grid)})
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
            shape = skeleton(blueprint_network(blueprint).layers(), grid)
            group = root.create_group(f"graphs/{key}")
            for name in SKELETON_ARRAYS:
                group.create_array(name, data=getattr(shape, name).numpy())
            group.create_array(
                "features",
                shape=(rows, shape.num_features),
                chunks=(1, shape.num_features),
                dtype="float32",
                fill_value=np.nan,
                compressors=None,  # trained weights barely compress (~7%), and reads are ~1.7x faster without
                dimension_names=("row", "feature"),
            )
        (staging / "metadata").mkdir()
        (staging / "graphs" / "done").mkdir()
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
        self._arrays: dict[str, zarr.Array] = {}
        self._skeletons: dict[str, Skeleton] = {}

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    @cached_property
    def attributes(self) -> dict[str, Any]:
        """The root attributes (schema and graphspace versions, the spec, the plan)."""
        return self._root.attrs.asdict()

    @property
    def spec(self) -> Spec:
        """The spec of the store's latest run (its zoo sections are those the store was made from)."""
        stored = self.attributes["spec"]
        targets = [{k: v for k, v in t.items() if k not in RETIRED_TARGET_FIELDS} for t in stored["sample"]["targets"]]
        return Spec.model_validate({**stored, "sample": {**stored["sample"], "targets": targets}})

    def record_spec(self, spec: Spec) -> None:
        """Record the spec of a run on this store, whose zoo sections (seed, datasets, zoo) must be the stored
        ones: later sections (learn, probe, sample) may change between runs, and their stages start over."""
        if describe_spec_change(self.attributes["spec"], spec):
            raise StoreError(f"Store {self.path}: record_spec needs a spec of the same zoo.")
        self._root.attrs.update({"spec": spec.model_dump(mode="json")})
        self.__dict__.pop("attributes", None)  # the cached root attributes are stale

    # ------------------------------------------------------------------------------------------- table
    def scan(self) -> pl.LazyFrame:
        """The metadata as a LazyFrame: one row per checkpoint (and pruned variant), with the learn stage's
        `split` of its model (null before that stage has split the zoo)."""
        split = self.split()
        if split is None:
            split = pl.DataFrame(schema={"model": pl.Int64, "split": pl.String})
        return self._scan_parts().join(split.lazy(), on="model", how="left").sort("id")

    def metadata(self) -> pl.DataFrame:
        """The metadata as a DataFrame (see `scan`), sorted by id."""
        return self.scan().collect()

    def _scan_parts(self) -> pl.LazyFrame:
        parts = sorted((self.path / "metadata").glob("part-*.parquet"))
        if not parts:
            return pl.LazyFrame(schema=METADATA_SCHEMA)
        return pl.scan_parquet(parts).sort("id")

    @cached_property
    def _metadata(self) -> pl.DataFrame:
        return self._scan_parts().collect()

    def _metadata_part(self, population: int) -> Path:
        """The metadata part a population's commit writes."""
        return self.path / "metadata" / f"part-{population:06d}.parquet"

    def committed_populations(self) -> set[int]:
        """Indices of the populations whose rows are in the store."""
        return {int(p.stem.removeprefix("part-")) for p in (self.path / "metadata").glob("part-*.parquet")}

    # ----------------------------------------------------------------------------------------- weights
    def blueprint(self, architecture: str) -> Blueprint:
        """The blueprint of an architecture key."""
        if architecture not in self._blueprints:
            keys = sorted(self._root["weights"].array_keys())
            if architecture not in keys:
                raise StoreError(f"Store {self.path} has no architecture {architecture!r}; it has {', '.join(keys)}.")
            attributes = self._root[f"weights/{architecture}"].attrs["blueprint"]
            self._blueprints[architecture] = blueprint_from_dict(attributes)
        return self._blueprints[architecture]

    def weights(self, i: int) -> dict[str, torch.Tensor]:
        """The parameters of checkpoint `i` (a metadata id) as a state dict."""
        row = self._row(i)
        blueprint = self.blueprint(row["architecture"])
        flat = torch.from_numpy(self._array(f"weights/{row['architecture']}")[row["weights_row"]])
        return unflatten(blueprint, flat)

    def weight_rows(self, architecture: str, rows: np.ndarray) -> np.ndarray:
        """(len(rows), parameters) flat parameters of an architecture's weight rows (metadata `weights_row`),
        in state_dict order."""
        return self._array(f"weights/{architecture}").get_orthogonal_selection((rows, slice(None)))

    def model(self, i: int) -> nn.Module:
        """Checkpoint `i` as a runnable torch model in eval mode."""
        row = self._row(i)
        model = self.blueprint(row["architecture"]).build(row["activation"], row["dropout"])
        model.load_state_dict(self.weights(i))
        return model.eval()

    def check_ids(self, ids: Iterable[int]) -> None:
        """Raise StoreError naming the ids (the first ten) that are no checkpoint of the store."""
        rows = self._metadata.height
        missing = sorted({i for i in ids if not 0 <= i < rows})
        if missing:
            shown = ", ".join(map(str, missing[:10])) + (", ..." if len(missing) > 10 else "")
            raise StoreError(f"Store {self.path} has no checkpoint with id {shown}; its ids are 0..{rows - 1}.")

    def _row(self, i: int) -> dict[str, Any]:
        """Metadata row of id `i` (ids are 0..rows-1 in row order)."""
        self.check_ids([i])
        return self._metadata.row(i, named=True)

    def _array(self, name: str) -> zarr.Array:
        if name not in self._arrays:
            self._arrays[name] = self._root[name]
        return self._arrays[name]

    # ------------------------------------------------------------------------------------------ graphs
    @property
    def graph_grid(self) -> tuple[int, int]:
        """(height, width) that every stored graph's edge weights are padded to."""
        return tuple(self.attributes_of("graphs")["grid"])

    def attributes_of(self, group: str) -> dict[str, Any]:
        """The attributes of a group or array of the store."""
        return self._root[group].attrs.asdict()

    def skeleton(self, architecture: str) -> Skeleton:
        """The skeleton (edges, node roles, feature layout) of an architecture key's graphs."""
        if architecture not in self._skeletons:
            layers = blueprint_network(self.blueprint(architecture)).layers()
            self._skeletons[architecture] = skeleton(layers, self.graph_grid)
        return self._skeletons[architecture]

    def graph_features(self, architecture: str) -> np.ndarray:
        """(rows, F) the canonical features of every weights row of an architecture key, read at once (row r
        belongs to the metadata rows whose `weights_row` is r; rows not yet written are NaN)."""
        return self._array(f"graphs/{architecture}/features")[:]

    def graph(self, i: int) -> Data:
        """The canonical neuron-edge graph of checkpoint `i` (see `graphspace.to_graph`), with its `id`."""
        return self._graphs([i])[0]

    def graphs(self, ids: Sequence[int]) -> Batch:
        """The graphs of checkpoints `ids` (at least one) as one torch-geometric batch, in the order given."""
        if not len(ids):
            raise StoreError("Store.graphs: give at least one checkpoint id; a torch-geometric batch cannot be empty.")
        return Batch.from_data_list(self._graphs(list(ids)))

    def _graphs(self, ids: list[int]) -> list[Data]:
        rows = [self._row(i) for i in ids]
        graphs: list[Data | None] = [None] * len(ids)
        for architecture in dict.fromkeys(row["architecture"] for row in rows):
            at = [k for k, row in enumerate(rows) if row["architecture"] == architecture]
            array = self._array(f"graphs/{architecture}/features")
            selection = np.array([rows[k]["weights_row"] for k in at])
            features = torch.from_numpy(
                array[int(selection[0])][None]
                if len(at) == 1
                else array.get_orthogonal_selection((selection, slice(None)))
            )
            unwritten = features.isnan().any(1)
            if unwritten.any():
                missing = ids[at[int(unwritten.nonzero()[0, 0])]]
                raise StoreError(
                    f"Store {self.path} has no graph for checkpoint {missing} yet; run `graphspace run` again "
                    f"to finish the graph stage."
                )
            shape = self.skeleton(architecture)
            for k, row_features in zip(at, features, strict=True):
                row = rows[k]
                network = blueprint_network(self.blueprint(architecture), row["activation"], row["dropout"])
                graphs[k] = graph(shape, network, row_features)
                graphs[k].id = ids[k]
        return graphs

    def _graphs_marker(self, population: int) -> Path:
        """The file that marks a population's graphs written."""
        return self.path / "graphs" / "done" / f"{population:06d}"

    def graphed_populations(self) -> set[int]:
        """Indices of the populations whose graphs are in the store."""
        return {int(p.name) for p in (self.path / "graphs" / "done").iterdir() if p.name.isdigit()}

    def write_graphs(self, population: int) -> int:
        """The graph stage of one stored population: canonicalize its checkpoints' weights, write their
        features, then mark the population done. Returns the number of graphs written."""
        frame = self._metadata.filter(pl.col("population") == population)
        if frame.is_empty():
            raise StoreError(f"Population {population} is not in store {self.path}.")
        for (architecture, activation), part in frame.group_by("architecture", "activation", maintain_order=True):
            blueprint = self.blueprint(architecture)
            rows = part["weights_row"].to_numpy()
            state = unflatten(blueprint, torch.from_numpy(self.weight_rows(architecture, rows)))
            features = canonical_features(blueprint_network(blueprint, activation), state).numpy()
            array = self._array(f"graphs/{architecture}/features")
            if np.array_equal(rows, np.arange(rows[0], rows[0] + len(rows))):
                array[int(rows[0]) : int(rows[-1]) + 1] = features
            else:
                array.set_orthogonal_selection((rows, slice(None)), features)
        _write_environment(self._graphs_marker(population), CPU)
        return frame.height

    # ------------------------------------------------------------------------------------ provenance
    def environments(self) -> pl.DataFrame:
        """The environment every commit was made in (see `graphspace.provenance.environment`): one row per commit
        (each population's metadata part as `zoo` and its graphs as `graphs`, with its `population`; the
        finished `learn`, `probe` and `sample` stages), then one string column per field. Commits of stores
        written before graphspace recorded environments are left out."""
        found = []
        for population in sorted(self.committed_populations()):
            recorded = pl.read_parquet_metadata(self._metadata_part(population)).get(ENVIRONMENT_KEY)
            if recorded:
                found.append({"stage": "zoo", "population": population, **json.loads(recorded)})
        for population in sorted(self.graphed_populations()):
            found += _read_environment(self._graphs_marker(population), "graphs", population)
        for stage, group in (("learn", "learn"), ("probe", "probe"), ("sample", "samples")):
            found += _read_environment(self.path / group / "done", stage, None)
        if not found:
            return pl.DataFrame(schema={"stage": pl.String, "population": pl.Int64})
        return pl.DataFrame(found, schema_overrides={"population": pl.Int64}, infer_schema_length=None)

    # ------------------------------------------------------------------------------------ stage groups
    def _start_stage(self, group: str, attributes: dict[str, Any]) -> None:
        """Make sure a stage's group belongs to these `attributes` (the inputs it was made from): create it, or
        start it over (deleting what it holds) when it was made from others."""
        if (self.path / group / "zarr.json").is_file():
            if zarr.open_group(self.path / group, mode="r").attrs.asdict() == attributes:
                return
            shutil.rmtree(self.path / group)
        self._root.create_group(group, attributes=attributes, overwrite=True)

    def _start_after_learning(self, group: str, attributes: dict[str, Any]) -> None:
        """`_start_stage` for a stage that reads the learned space: it needs the learn stage finished, and is redone
        when the learned space changes too (its attributes are kept under `learned_space`, apart from the stage's
        own, so that names they share, like `design`, do not collide)."""
        self._require_finished("learn")
        learn = zarr.open_group(self._learn, mode="r").attrs.asdict()
        self._start_stage(group, {**attributes, "learned_space": learn})

    def _finish_stage(self, group: str, device: torch.device) -> None:
        """Mark a stage finished (the last thing it writes), recording the environment it ran in on `device`."""
        _write_environment(self.path / group / "done", device)

    def _stage_done(self, group: str) -> bool:
        return (self.path / group / "done").is_file()

    def _stage_table(self, group: str, name: str) -> pl.DataFrame | None:
        path = self.path / group / f"{name}.parquet"
        return pl.read_parquet(path) if path.is_file() else None

    def _finished_table(self, group: str, name: str) -> pl.DataFrame:
        self._require_finished(group)
        return self._stage_table(group, name)

    def _require_finished(self, group: str) -> None:
        if not self._stage_done(group):
            raise StoreError(f"Store {self.path} has no finished {group} stage yet; run `graphspace run SPEC` on it.")

    def _write_table(self, group: str, name: str, frame: pl.DataFrame) -> None:
        write_atomically(self.path / group / f"{name}.parquet", frame.write_parquet)

    # ------------------------------------------------------------------------------------------- learn
    @property
    def _learn(self) -> Path:
        return self.path / "learn"

    def start_learning(self, learn: Learn, design: int) -> None:
        """Make sure the learn group belongs to this `learn` section and this `design` of the learned models (a
        number that changes when their definition does, so old checkpoints are not resumed into new models):
        create it, or start it over (deleting what it holds) when it was made with others."""
        # without the fields left unset (None), so stores made before a field existed do not start over
        self._start_stage("learn", {"learn": learn.model_dump(mode="json", exclude_none=True), "design": design})

    def learned(self) -> bool:
        """Whether the learn stage has finished."""
        return self._stage_done("learn")

    def finish_learning(self, device: torch.device = CPU) -> None:
        """Mark the learn stage finished (the last thing it writes), which trained on `device`."""
        self._finish_stage("learn", device)

    def split(self) -> pl.DataFrame | None:
        """The learn stage's split by model (`model`, `split`), or None before it exists."""
        return self._stage_table("learn", "split")

    def reconstruction(self) -> pl.DataFrame:
        """Reconstruction quality of the held-out test rows, one row per (method, id): see
        `graphspace.learn.quality.reconstruction_quality`. Raises StoreError before the learn stage ends."""
        return self._finished_table("learn", "reconstruction")

    def nearest_datasets(self) -> pl.DataFrame:
        """For test and holdout rows: the dataset whose embedding is nearest to the row's weight embedding (see
        `graphspace.learn.retrieval.nearest_datasets`). Raises StoreError before the learn stage ends."""
        return self._finished_table("learn", "datasets")

    def embeddings(self) -> pl.DataFrame:
        """`id` and `embedding` (an array column) of every checkpoint, from the learned encoder. Raises
        StoreError before the learn stage ends."""
        self._require_finished("learn")
        array = zarr.open_array(self._learn / "embeddings", mode="r")[:]
        return pl.DataFrame(
            {"id": np.arange(len(array)), "embedding": array},
            schema={"id": pl.Int64, "embedding": pl.Array(pl.Float32, array.shape[1])},
        )

    def learn_checkpoint(self, variant: str) -> dict[str, Any] | None:
        """The last checkpoint of a learn variant ("main" or an ablation), or None.

        Raises:
            StoreError: the file is there but cannot be read as a checkpoint (`_unusable_checkpoint`).
        """
        path = self._learn / f"{variant}.pt"
        if not path.is_file():
            return None
        try:
            checkpoint = torch.load(path, weights_only=False)
        except Exception as error:  # torch.load raises whatever its unpickler meets
            raise self._unusable_checkpoint(variant, error) from None
        if not isinstance(checkpoint, dict) or not {"config", "model", "optimizer", "state"} <= checkpoint.keys():
            raise self._unusable_checkpoint(variant, "it is not a dict of config, model, optimizer and state")
        return checkpoint

    @contextmanager
    def restoring(self, variant: str) -> Iterator[None]:
        """Around loading a learn checkpoint's contents into models: a checkpoint that does not fit them (a model
        of another shape) raises StoreError (`_unusable_checkpoint`) instead of torch's error."""
        try:
            yield
        except (RuntimeError, ValueError, TypeError, KeyError) as error:
            raise self._unusable_checkpoint(variant, error) from None

    def _unusable_checkpoint(self, variant: str, reason: Exception | str) -> StoreError:
        """The error about a learn checkpoint that cannot be read or does not fit the model it should restore."""
        if isinstance(reason, Exception):
            words = " ".join(str(reason).split())  # a state dict's mismatch spans lines
            reason = f"{type(reason).__name__}: {words[:240]}{'...' if len(words) > 240 else ''}"
        return StoreError(
            f"Store {self.path}: the learn checkpoint {self._learn / f'{variant}.pt'} cannot be used ({reason}), so "
            f"the learn stage can neither resume from it nor open the weight space it holds. It was damaged, or "
            f"written by another version of graphspace; remove the folder {self._learn} to learn again (the zoo "
            f"and its graphs stay)."
        )

    def write_learn_checkpoint(self, variant: str, checkpoint: dict[str, Any]) -> None:
        """Replace a learn variant's checkpoint, atomically."""
        write_atomically(self._learn / f"{variant}.pt", lambda path: torch.save(checkpoint, path))

    def write_learned(self, name: str, frame: pl.DataFrame) -> None:
        """Write one of the learn stage's tables, atomically."""
        self._write_table("learn", name, frame)

    def write_embeddings(self, embeddings: np.ndarray) -> None:
        """Write every checkpoint's (rows, latent) embedding (row = id)."""
        self._root.create_array(
            "learn/embeddings",
            data=embeddings.astype(np.float32),
            chunks=(min(len(embeddings), 4096), embeddings.shape[1]),
            dimension_names=("id", "latent"),
            overwrite=True,
        )

    # ------------------------------------------------------------------------------------------- probe
    def start_probing(self, probe: Probe, design: int) -> None:
        """Make sure the probe group belongs to this `probe` section, this `design` of the probes (a number that
        changes when what they compute does) and the current learned space: create it, or start it over when any
        changed. Raises StoreError before the learn stage has finished."""
        self._start_after_learning("probe", {"probe": probe.model_dump(mode="json"), "design": design})

    def probed(self) -> bool:
        """Whether the probe stage has finished."""
        return self._stage_done("probe")

    def write_probed(self, results: pl.DataFrame, predictions: pl.DataFrame, device: torch.device = CPU) -> None:
        """Write the probe stage's tables and mark it finished (its supervised reference trained on `device`)."""
        self._write_table("probe", "predictions", predictions)
        self._write_table("probe", "results", results)
        self._finish_stage("probe", device)

    def probes(self) -> pl.DataFrame:
        """The probe results: one row per (target, metric), one column per method (see `graphspace.probe`).
        Raises StoreError before the probe stage ends."""
        return self._finished_table("probe", "results")

    def probe_predictions(self) -> pl.DataFrame:
        """Every probe's prediction for every test row: target, method, id, truth, prediction (continuous
        targets) or truth_label, predicted_label (categorical ones)."""
        return self._finished_table("probe", "predictions")

    # ----------------------------------------------------------------------------------------- samples
    def start_sampling(self, sample: Sample) -> None:
        """Make sure the samples group belongs to this `sample` section and to the current learned space. Raises
        StoreError before the learn stage has finished."""
        self._start_after_learning("samples", {"sample": sample.model_dump(mode="json")})

    def sampled(self) -> bool:
        """Whether the sample stage has finished."""
        return self._stage_done("samples")

    def write_samples(self, frame: pl.DataFrame, features: Sequence[torch.Tensor]) -> None:
        """Write sampled models (one row of `frame` each, with an `architecture` column) and their canonical
        features, then mark the stage finished."""
        rows = np.zeros(frame.height, dtype=np.int64)
        for (architecture,), part in frame.with_row_index().group_by("architecture", maintain_order=True):
            at = part["index"].to_numpy()
            rows[at] = np.arange(len(at))
            block = torch.stack([features[i] for i in at]).numpy()
            self._root.create_array(f"samples/{architecture}", data=block, chunks=(1, block.shape[1]), overwrite=True)
        self._write_table("samples", "samples", frame.with_columns(features_row=rows))
        self._finish_stage("samples", CPU)

    def samples(self) -> pl.DataFrame:
        """Every sampled model of the sample stage: target, method, achieved accuracy and novelty (see
        `graphspace.sample`), and `features_row`, its row in `sample_features(architecture)`."""
        return self._finished_table("samples", "samples")

    def sample_features(self, architecture: str) -> np.ndarray:
        """(samples of the architecture, F) raw canonical features of the sampled models (their graphs)."""
        self._require_finished("samples")
        features = self.skeleton(architecture).num_features  # raises for an architecture not in the store
        if not (self.path / "samples" / architecture).exists():  # none of the samples has this architecture
            return np.zeros((0, features), dtype=np.float32)
        return zarr.open_array(self.path / "samples" / architecture, mode="r")[:]

    def query(self, accuracy: float, dataset: str | None = None, n: int = 16, seed: int = 0) -> pl.DataFrame:
        """Sample `n` models per method for a target test accuracy on `dataset` (default: the first), evaluate
        them, and return one row per sample (see `graphspace.sample.query`, which also gives the models)."""
        from graphspace.sample.stage import query  # the sampler builds on the store

        return query(self, accuracy, dataset, n, seed)[0].frame

    # ------------------------------------------------------------------------------------------ append
    def append(
        self, population: int, rows: list[dict[str, Any]], weights: list[np.ndarray], device: torch.device = CPU
    ) -> pl.DataFrame:
        """Write one population's checkpoints: their weights, then their metadata part (the commit), which
        records the environment they were trained in on `device`.

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
            self._array(f"weights/{key}")[position] = flat
        frame = pl.DataFrame(records, schema=METADATA_SCHEMA)
        trained_in = {ENVIRONMENT_KEY: json.dumps(environment(device))}
        write_atomically(
            self._metadata_part(population),
            functools.partial(frame.write_parquet, metadata=trained_in),
        )
        self.__dict__.pop("_metadata", None)
        return frame


def _write_environment(path: Path, device: torch.device) -> None:
    """Write a commit marker holding the environment of this process on `device` (JSON), atomically."""
    text = json.dumps(environment(device))
    write_atomically(path, lambda staging: staging.write_text(text))


def _read_environment(path: Path, stage: str, population: int | None) -> list[dict[str, Any]]:
    """The environment a commit marker holds, as a row of `Store.environments` (none: an absent or empty
    marker, as stores written before environments were recorded have)."""
    text = path.read_text() if path.is_file() else ""
    return [{"stage": stage, "population": population, **json.loads(text)}] if text else []


def write_atomically(path: Path, write: Callable[[Path], Any]) -> None:
    """Write a file so that it appears whole or not at all: `write(staging)` writes a temporary file beside
    `path`, which is then renamed. Leftovers of a writer killed before the rename are removed first."""
    for leftover in path.parent.glob(f".{path.name}.*.partial"):
        leftover.unlink(missing_ok=True)
    staging = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
    write(staging)
    os.replace(staging, path)


def unflatten(blueprint: Blueprint, flat: torch.Tensor) -> dict[str, torch.Tensor]:
    """Flat parameter vectors (..., parameters) as a state dict of the blueprint's models, each tensor with the
    same leading axes."""
    state, offset = {}, 0
    for name, shape in blueprint.parameter_shapes():
        size = int(np.prod(shape))
        state[name] = flat[..., offset : offset + size].reshape(*flat.shape[:-1], *shape).clone()
        offset += size
    return state


@functools.cache
def blueprint_network(blueprint: Blueprint, activation: str = "relu", dropout: float = 0.0) -> Network:
    """The module structure of the blueprint's models with that activation and dropout."""
    return Network.of(blueprint.build(activation, dropout), blueprint.input_shape)


def graph_grid(blueprints: Sequence[Blueprint]) -> tuple[int, int]:
    """The smallest edge grid that holds every weight layer of these blueprints."""
    grids = [layer.grid for bp in blueprints for layer in blueprint_network(bp).layers()]
    return max(g[0] for g in grids), max(g[1] for g in grids)


def blueprint_from_dict(data: dict[str, Any]) -> Blueprint:
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
