"""Population-vectorized zoo training vs a plain per-model loop, side by side in one run.

Trains the same 64 models (2 epochs, batch 64, Adam, per-model init/lr/weight decay/seed) on the embedded
MNIST subset, for the default zoo CNN and for an MLP 784-32-10, both ways, and prints models*epochs/s,
achieved GFLOP/s (3x the forward multiply-adds x 2 per sample, the same count for both ways), the speedup,
and how far the two ways' test accuracies differ (they train the same models; float32 rounding only).

    python benchmarks/zoo_training.py [--models 64] [--epochs 2]
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from graphspace.data import Dataset, load_datasets
from graphspace.spec import CNNArchitecture, EmbeddedDataset, Hyper, MLPArchitecture, Spec
from graphspace.zoo.architecture import Blueprint, blueprint
from graphspace.zoo.evaluation import evaluate
from graphspace.zoo.initializers import initialize
from graphspace.zoo.memory import retain_freed_memory
from graphspace.zoo.plan import plan_models
from graphspace.zoo.population import stack_parameters
from graphspace.zoo.training import train_population


def population_way(bp: Blueprint, hypers: list[Hyper], data: Dataset, epochs: int) -> list[torch.Tensor]:
    """All models at once; returns their stacked parameters."""
    return dict(train_population(bp, hypers, data, epochs, [epochs]))[epochs]


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    retain_freed_memory()  # the same allocator setting for both ways
    data = load_datasets([EmbeddedDataset(name="mnist")])["mnist"]
    spec = Spec.model_validate(
        {
            "name": "benchmark",
            "zoo": {
                "size": args.models,
                "vary": {
                    "init": ["normal", "glorot", "orthogonal", "he_normal", "truncated_normal"],
                    "lr": {"log_uniform": [3e-4, 3e-3]},
                    "weight_decay": [0.0, 1e-4, 1e-3],
                },
            },
        }
    )
    hypers = plan_models(spec)
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
        seconds, accuracy = {}, {}
        for way, train in (("population", population_way), ("loop", loop_way)):
            start = time.perf_counter()
            params = train(bp, hypers, data, args.epochs)
            seconds[way] = time.perf_counter() - start
            accuracy[way] = evaluate(bp, params, "relu", data.x_test, data.y_test)[1]
            rate = args.models * args.epochs / seconds[way]
            print(
                f"{name:22s} {way:10s} {seconds[way]:7.2f} s  {rate:7.2f} models*epochs/s  "
                f"{flops / seconds[way] / 1e9:6.1f} GFLOP/s  median test acc {accuracy[way].median():.4f}"
            )
        difference = (accuracy["population"] - accuracy["loop"]).abs().max()
        print(
            f"{name:22s} speedup: {seconds['loop'] / seconds['population']:.2f}x  "
            f"(largest per-model test accuracy difference between the ways: {difference:.4f})"
        )


if __name__ == "__main__":
    main()
