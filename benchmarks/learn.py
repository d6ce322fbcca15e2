"""Weight-encoder training speed: throughput on the default zoo CNN, and how a step grows with graph size.

Prints
- encoder training throughput (graphs/s: batch assembly, forward, backward, Adam step) on batches of 64 zoo CNNs
  (random He-normal weights; speed does not depend on the values), with the spec's default encoder sizes;
- the same step on batches of 8 MLPs of about 1k, 10k and 100k edges: milliseconds per step and microseconds per
  edge, whose near-constancy says the step grows linearly in edges;
- peak memory and time of one step on 8 MLPs 784-256-10 (203k edges each), the batch as one graph batch against
  the chunks of bounded memory the learn stage uses (`graphspace.learn.memory`), each in a fresh process.

    python benchmarks/learn.py [--steps 20]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import torch

from graphspace.device import CPU, moved, placed
from graphspace.graph.convert import canonical_features
from graphspace.graph.skeleton import skeleton
from graphspace.learn.batch import graph_batch
from graphspace.learn.codec import encode_graphs
from graphspace.learn.encoder import WeightEncoder
from graphspace.learn.examples import Architecture, Examples, parameter_groups
from graphspace.spec import CNNArchitecture, Learn, MLPArchitecture
from graphspace.store import blueprint_network, unflatten
from graphspace.zoo.architecture import Blueprint, blueprint

sys.path.insert(0, str(Path(__file__).parent))
from graphs import random_models  # the graphs benchmark's model maker


def zoo(bp: Blueprint, count: int) -> Examples:
    """`count` random models of one blueprint as learning examples (canonical, normalized per layer)."""
    network = blueprint_network(bp)
    features = canonical_features(network, unflatten(bp, random_models(bp, count))).float()
    shape = network.layers()
    frame = skeleton(shape)
    group = parameter_groups(shape)
    scale = torch.stack([features[:, group == g].std() for g in range(int(group.max()) + 1)])[group]
    zeros = torch.zeros(count, dtype=torch.int64)
    return Examples(
        ids=torch.arange(count),
        architectures=[Architecture(bp.key, bp, frame, scale, group)],
        architecture=zeros,
        features=[features],
        position=torch.arange(count),
        datasets=["random"],
        dataset=zeros,
        activations=["relu"],
        activation=zeros,
        results=torch.zeros(count, 4),
        split=zeros,
    )


def step_seconds(examples: Examples, batch: int, steps: int, device: torch.device = CPU) -> float:
    """Median seconds of one encoder training step on `batch` graphs, on `device`."""
    learn = Learn()
    grid = examples.architectures[0].skeleton.grid
    encoder = WeightEncoder(grid[0] * grid[1], learn.hidden, learn.layers, learn.latent).to(device)
    optimizer = torch.optim.Adam(encoder.parameters(), lr=1e-3)
    examples = moved(examples, device)
    times = []
    with placed(device):
        for step in range(steps + 2):
            rows = torch.arange(step * batch, (step + 1) * batch) % len(examples)
            started = time.perf_counter()
            loss = encoder(graph_batch(examples, rows)).square().mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            float(loss.detach())  # waits for the GPU's work
            times.append(time.perf_counter() - started)
    return sorted(times[2:])[len(times[2:]) // 2]


def wide_step(way: str) -> None:
    """One encoder training step on 8 MLPs 784-256-10, `way` "whole" or "chunked"; prints the growth of peak
    resident memory over the step (MB) and its seconds. (Run in a fresh process: a child's getrusage peak starts
    at its parent's, so the peak is read from /proc after resetting it.)"""
    bp = blueprint(MLPArchitecture(kind="mlp", hidden=[256]), (784,), 10)
    examples, hidden = zoo(bp, 8), Learn().hidden
    grid = examples.architectures[0].skeleton.grid
    encoder = WeightEncoder(grid[0] * grid[1], hidden, Learn().layers, Learn().latent)
    rows = torch.arange(8)
    Path("/proc/self/clear_refs").write_text("5")  # peak resident memory := current (Linux)
    before = _status_megabytes("VmRSS")
    started = time.perf_counter()
    if way == "whole":
        z = encoder(graph_batch(examples, rows))
    else:
        z = encode_graphs(encoder, examples, rows, hidden)
    z.square().mean().backward()
    seconds = time.perf_counter() - started
    print(_status_megabytes("VmHWM") - before, seconds)


def _status_megabytes(field: str) -> float:
    """A memory field of /proc/self/status (VmRSS: resident now, VmHWM: peak since the last reset), in MB."""
    line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith(field))
    return int(line.split()[1]) / 1024


def memory_comparison() -> None:
    """Peak memory and time of `wide_step` both ways, each in its own process, side by side."""
    measured = {}
    for way in ("whole", "chunked"):
        command = [sys.executable, __file__, "--wide-step", way]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout.split()
        measured[way] = (float(output[0]), float(output[1]))
    print("8 MLPs 784-256-10 (203,530 edges each), one encoder training step:")
    print("way       peak MB growth  seconds")
    for way, (megabytes, seconds) in measured.items():
        print(f"{way:<8} {megabytes:>15,.0f}  {seconds:>7.1f}")
    (whole_mb, whole_s), (chunked_mb, chunked_s) = measured["whole"], measured["chunked"]
    print(f"chunked / whole: memory {chunked_mb / whole_mb:.2f}x, time {chunked_s / whole_s:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--wide-step", choices=["whole", "chunked"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.manual_seed(0)
    if args.wide_step:
        wide_step(args.wide_step)
        return
    learn = Learn()
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; encoder hidden {learn.hidden}, "
        f"{learn.layers} layers, latent {learn.latent}"
    )
    cnn = blueprint(CNNArchitecture(kind="cnn"), (1, 28, 28), 10)
    seconds = step_seconds(zoo(cnn, 256), 64, args.steps)
    print(
        f"zoo CNN ({cnn.num_parameters} params): {seconds * 1e3:.1f} ms per step of 64 graphs, "
        f"{64 / seconds:,.0f} graphs/s"
    )
    print("MLP             edges  ms/step (8 graphs)  us per edge")
    for widths in ((32, 24, 8), (100, 90, 10), (300, 300, 33)):
        bp = blueprint(MLPArchitecture(kind="mlp", hidden=list(widths[1:-1])), (widths[0],), widths[-1])
        edges = sum(d.in_features * d.out_features for d in bp.dense)
        seconds = step_seconds(zoo(bp, 16), 8, args.steps)
        name, per_edge = "-".join(map(str, widths)), seconds * 1e6 / (8 * edges)
        print(f"{name:<12} {edges:>8,}  {seconds * 1e3:>18.1f}  {per_edge:>11.3f}")
    memory_comparison()


if __name__ == "__main__":
    main()
