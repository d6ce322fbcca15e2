"""Neuron-edge graph conversion and storage, for the default zoo CNN and an MLP 784-64-64-10.

For N models of each architecture (random He-normal weights, relu), prints:
- conversions/s single: `to_graph(model)` one model at a time (a PyG Data each);
- conversions/s batched: the graph stage's conversion, the canonical features of all N models in one call
  (both: the best of 3 runs);
- store write graphs/s: `Store.write_graphs` (read the weights, canonicalize, write the features);
- random reads graphs/s: `store.graph(i)` for random ids, one at a time, and `store.graphs(ids)` 64 at a time;
- bytes per model: the store's graph features on disk vs the same models saved one file each with torch.save;
- resident memory while a torch-geometric DataLoader streams every graph of the store once.

    python benchmarks/graphs.py [--models 512]
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch_geometric.loader import DataLoader

from graphspace.graph import GraphDataset, to_graph
from graphspace.graph.convert import canonical_features
from graphspace.spec import CNNArchitecture, Hyper, MLPArchitecture, Spec
from graphspace.store import Store, blueprint_network, create_store, unflatten
from graphspace.zoo.architecture import Blueprint, blueprint
from graphspace.zoo.initializers import initialize


def random_models(bp: Blueprint, count: int) -> torch.Tensor:
    """(count, parameters) flat He-normal weights, biases 0.01 N(0, 1), one seed per model."""
    rows = []
    for seed in range(count):
        model = bp.build("relu", 0.0)
        generator = torch.Generator().manual_seed(seed)
        initialize(model, "he_normal", 0.05, generator)
        with torch.no_grad():
            for name, p in model.named_parameters():
                if name.endswith("bias"):
                    p.copy_(0.01 * torch.randn(p.shape, generator=generator))
        rows.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    return torch.stack(rows)


def filled_store(path: Path, spec: Spec, bp: Blueprint, flat: torch.Tensor) -> Store:
    """A store whose one population holds these models (metadata with placeholder results)."""
    store = create_store(path, spec, {bp.key: (bp, len(flat))}, {"models": len(flat), "rows": len(flat)})
    base = Hyper().model_dump() | {"dataset": "mnist", "architecture": bp.key, "epoch": 1, "prune_ratio": 0.0}
    results = dict.fromkeys(("train_loss", "train_accuracy", "test_loss", "test_accuracy", "generalization_gap"), 0.0)
    rows = [base | results | {"model": m, "seed": m} for m in range(len(flat))]
    store.append(0, rows, list(flat.numpy()))
    return store


def best_seconds(work: Callable[[], object], repeats: int = 3) -> float:
    """The fastest of `repeats` timed runs of `work` (the first one also pays for first-touch allocation)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def rss_mb() -> float:
    """Resident memory of this process, in MB."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure(name: str, architecture: CNNArchitecture | MLPArchitecture, count: int, folder: Path) -> None:
    bp = blueprint(architecture, (1, 28, 28), 10)
    flat = random_models(bp, count)
    network = blueprint_network(bp, "relu", 0.0)
    print(f"\n{name}: {bp.num_parameters} parameters, {count} models")

    singles = min(count, 200)
    models = []
    for row in flat[:singles]:
        model = bp.build("relu", 0.0)
        model.load_state_dict(unflatten(bp, row))
        models.append(model)
    single = singles / best_seconds(lambda: [to_graph(model, bp.input_shape) for model in models])
    state = unflatten(bp, flat)
    batched = count / best_seconds(lambda: canonical_features(network, state))
    print(f"  conversions/s  single {single:8.0f}   batched {batched:8.0f}")

    spec = Spec.model_validate({"name": name, "zoo": {"architecture": architecture.model_dump()}})
    store = filled_store(folder / f"{name}.zarr", spec, bp, flat)
    start = time.perf_counter()
    store.write_graphs(0)
    write = count / (time.perf_counter() - start)
    ids = random.Random(0).choices(range(count), k=min(count, 1000))
    start = time.perf_counter()
    for i in ids:
        store.graph(i)
    read = len(ids) / (time.perf_counter() - start)
    start = time.perf_counter()
    for chunk in range(0, len(ids), 64):
        store.graphs(ids[chunk : chunk + 64])
    read_batched = len(ids) / (time.perf_counter() - start)
    print(f"  store write graphs/s {write:8.0f}   random reads graphs/s {read:8.0f} single, {read_batched:8.0f} in 64s")

    features = folder / f"{name}.zarr" / "graphs" / bp.key / "features"
    store_bytes = sum(f.stat().st_size for f in features.rglob("*") if f.is_file()) / count
    saved = folder / f"{name}-torch-save"
    saved.mkdir()
    for m, model in enumerate(models):
        torch.save(model.state_dict(), saved / f"{m}.pt")
    torch_bytes = sum(f.stat().st_size for f in saved.iterdir()) / singles
    print(
        f"  bytes/model    store {store_bytes:8.0f}   torch.save {torch_bytes:8.0f}   "
        f"ratio {store_bytes / torch_bytes:.2f}"
    )

    loader = DataLoader(GraphDataset(store), batch_size=32)
    before, peaks = rss_mb(), []
    for k, _ in enumerate(loader):
        if k in (len(loader) // 4, len(loader) - 1):
            peaks.append(rss_mb() - before)
    print(f"  streaming all graphs: RSS growth {peaks[0]:.1f} MB after a quarter, {peaks[-1]:.1f} MB at the end")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=512)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    with tempfile.TemporaryDirectory() as folder:
        measure("cnn", CNNArchitecture(kind="cnn"), args.models, Path(folder))
        measure("mlp", MLPArchitecture(kind="mlp", hidden=[64, 64]), args.models, Path(folder))


if __name__ == "__main__":
    main()
