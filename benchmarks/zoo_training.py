"""Population-vectorized zoo training vs a plain per-model loop, side by side in one run.

Trains the same 64 models (2 epochs, batch 64, Adam, per-model init/lr/weight decay/seed) on the embedded
MNIST subset, for the default zoo CNN and for an MLP 784-32-10, both ways, and prints models*epochs/s,
achieved GFLOP/s (3x the forward multiply-adds x 2 per sample, the same count for both ways), the speedup,
and how far the two ways' test accuracies differ (they train the same models; float32 rounding only).

Each way runs `--repeats` times, the two ways taking turns, and the best time of each is reported (as
timeit does: on a shared machine, slower runs measure the neighbors, not the code); the speedup of the
median times is printed beside it.

    python benchmarks/zoo_training.py [--models 64] [--epochs 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from graphspace.allocator import retain_freed_memory
from graphspace.data import Dataset, load_datasets
from graphspace.device import CPU
from graphspace.spec import CNNArchitecture, EmbeddedDataset, Hyper, MLPArchitecture, Spec
from graphspace.zoo.architecture import Blueprint, blueprint
from graphspace.zoo.evaluation import evaluate
from graphspace.zoo.initializers import initialize
from graphspace.zoo.plan import plan_models
from graphspace.zoo.population import stack_parameters
from graphspace.zoo.training import train_population


def population_way(
    bp: Blueprint, hypers: list[Hyper], data: Dataset, epochs: int, device: torch.device = CPU
) -> list[torch.Tensor]:
    """All models at once (on `device`); returns their stacked parameters, on the CPU."""
    return [p.cpu() for p in dict(train_population(bp, hypers, data, epochs, [epochs], device=device))[epochs]]


def loop_way(bp: Blueprint, hypers: list[Hyper], data: Dataset, epochs: int) -> list[torch.Tensor]:
    """One nn.Module and one torch.optim.Adam per model, the textbook loop; returns stacked parameters."""
    models = []
    for hyper in hypers:
        model = bp.build(hyper.activation, hyper.dropout)
        initialize(model, hyper.init, hyper.init_std, torch.Generator().manual_seed(hyper.seed))
        optimizer = torch.optim.Adam(model.parameters(), hyper.lr, weight_decay=hyper.weight_decay)
        order = torch.Generator().manual_seed(hyper.data_seed)
        for _ in range(epochs):
            for batch in torch.randperm(len(data.y_train), generator=order).split(hyper.batch_size):
                loss = F.cross_entropy(model(data.x_train[batch]), data.y_train[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        models.append(model)
    return stack_parameters(models)


def benchmark_hypers(models: int) -> list[Hyper]:
    """`models` relu models on mnist with the default zoo's varied init, lr and weight decay (no dropout)."""
    spec = Spec.model_validate(
        {
            "name": "benchmark",
            "zoo": {
                "size": models,
                "vary": {
                    "init": ["normal", "glorot", "orthogonal", "he_normal", "truncated_normal"],
                    "lr": {"log_uniform": [3e-4, 3e-3]},
                    "weight_decay": [0.0, 1e-4, 1e-3],
                },
            },
        }
    )
    return plan_models(spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    retain_freed_memory()  # the same allocator setting for both ways
    data = load_datasets([EmbeddedDataset(name="mnist")])["mnist"]
    hypers = benchmark_hypers(args.models)
    architectures = {
        "cnn 8-6-4 (zoo CNN)": CNNArchitecture(kind="cnn"),
        "mlp 784-32-10": MLPArchitecture(kind="mlp", hidden=[32]),
    }
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.models} models x {args.epochs} epochs,"
        f" {len(data.y_train)} training images, batch {hypers[0].batch_size}"
    )
    for name, architecture in architectures.items():
        bp = blueprint(architecture, data.input_shape, data.num_classes)
        flops = 3 * bp.forward_flops() * len(data.y_train) * args.epochs * args.models
        ways = {"population": population_way, "loop": loop_way}
        seconds: dict[str, list[float]] = {way: [] for way in ways}
        accuracy = {}
        for _ in range(args.repeats):
            for way, train in ways.items():
                start = time.perf_counter()
                params = train(bp, hypers, data, args.epochs)
                seconds[way].append(time.perf_counter() - start)
                accuracy[way] = evaluate(bp, params, "relu", data.x_test, data.y_test)[1]
        for way, times in seconds.items():
            best = min(times)
            print(
                f"{name:22s} {way:10s} {best:7.2f} s  {args.models * args.epochs / best:7.2f} models*epochs/s  "
                f"{flops / best / 1e9:6.1f} GFLOP/s  median test acc {accuracy[way].median():.4f}  "
                f"(runs: {', '.join(f'{t:.2f}' for t in times)} s)"
            )
        difference = (accuracy["population"] - accuracy["loop"]).abs().max()
        median_ratio = statistics.median(seconds["loop"]) / statistics.median(seconds["population"])
        print(
            f"{name:22s} speedup: {min(seconds['loop']) / min(seconds['population']):.2f}x  "
            f"(of median times: {median_ratio:.2f}x; largest per-model test accuracy difference between the "
            f"ways: {difference:.4f})"
        )


if __name__ == "__main__":
    main()
