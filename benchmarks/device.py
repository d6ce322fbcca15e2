"""GPU against CPU, side by side in one run: zoo training and weight-encoder training steps.

Prints, on the CPU (all the threads torch uses) and on the GPU:
- zoo training: populations of 64 (the default spec's) and 256 zoo CNNs, 2 epochs on the embedded MNIST subset
  (relu, Adam, per-model init/lr/weight decay; `graphspace.zoo.training.train_population`), in models*epochs/s,
  and the largest per-model test accuracy difference between the devices (the same models: float rounding only);
- weight-encoder training steps on batches of 64 zoo CNN graphs (benchmarks/learn.py's step), in graphs/s;
and the GPU / CPU speedup of each. Each measurement is the best of `--repeats`, the devices taking turns.
Needs a CUDA GPU.

    python benchmarks/device.py [--epochs 2] [--repeats 2] [--steps 20]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from graphspace.data import load_datasets
from graphspace.device import CPU, resolve_device
from graphspace.spec import CNNArchitecture, EmbeddedDataset
from graphspace.zoo.architecture import blueprint
from graphspace.zoo.evaluation import evaluate

sys.path.insert(0, str(Path(__file__).parent))
from learn import step_seconds, zoo  # the learn benchmark's step and random zoo
from zoo_training import benchmark_hypers, population_way  # the zoo training benchmark's models and training


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    gpu = resolve_device("cuda")
    devices = {"cpu": CPU, "gpu": gpu}
    print(f"torch {torch.__version__}; CPU: {torch.get_num_threads()} threads; GPU: {torch.cuda.get_device_name(gpu)}")
    data = load_datasets([EmbeddedDataset(name="mnist")])["mnist"]
    bp = blueprint(CNNArchitecture(kind="cnn"), data.input_shape, data.num_classes)
    for models in (64, 256):
        hypers = benchmark_hypers(models)
        seconds: dict[str, list[float]] = {name: [] for name in devices}
        accuracy = {}
        for _ in range(args.repeats):
            for name, device in devices.items():
                started = time.perf_counter()
                params = population_way(bp, hypers, data, args.epochs, device)
                seconds[name].append(time.perf_counter() - started)
                accuracy[name] = evaluate(bp, params, "relu", data.x_test, data.y_test)[1]
        rates = {name: models * args.epochs / min(times) for name, times in seconds.items()}
        difference = (accuracy["gpu"] - accuracy["cpu"]).abs().max()
        print(
            f"zoo CNN population of {models:>3}: CPU {rates['cpu']:7.1f} models*epochs/s, GPU {rates['gpu']:7.1f}: "
            f"{rates['gpu'] / rates['cpu']:5.1f}x (largest per-model test accuracy difference {difference:.4f})"
        )
    cnn = zoo(bp, 256)
    graphs = {name: [] for name in devices}
    for _ in range(args.repeats):
        for name, device in devices.items():
            graphs[name].append(64 / step_seconds(cnn, 64, args.steps, device))
    best = {name: max(per_run) for name, per_run in graphs.items()}
    print(
        f"encoder training, 64 zoo CNN graphs a step: CPU {best['cpu']:,.0f} graphs/s, GPU {best['gpu']:,.0f}: "
        f"{best['gpu'] / best['cpu']:.1f}x"
    )


if __name__ == "__main__":
    main()
