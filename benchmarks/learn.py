"""Weight-encoder training speed: throughput on the default zoo CNN, and how a step grows with graph size.

Prints
- encoder training throughput (graphs/s: batch assembly, forward, backward, Adam step) on batches of 64 zoo CNNs
  (random He-normal weights; speed does not depend on the values), with the spec's default encoder sizes;
- the same step on batches of 8 MLPs of about 1k, 10k and 100k edges: milliseconds per step and microseconds per
  edge, whose near-constancy says the step grows linearly in edges;
- each of those steps with torch's large CPU tensors on 4 KiB pages (its default) and on transparent huge pages
  (`THP_MEM_ALLOC_ENABLE=1`, which torch reads at its first CPU allocation), each way in a fresh process, side
  by side: huge pages help large graphs and hurt small ones;
- peak memory and time of one step on 8 MLPs 784-256-10 (203k edges each), the batch as one graph batch against
  the chunks of bounded memory the learn stage uses (`graphspace.learn.memory`), each in a fresh process;
- one message layer's forward and backward on each MLP row's batch, its edges a chunk at a time (how the encoder
  runs it, `graphspace.learn.messages.MeanMessages`) against torch-geometric's `propagate` over all edges at once:
  time and peak memory, each in a fresh process, side by side.

    python benchmarks/learn.py [--steps 20]
"""

from __future__ import annotations

import argparse
import os
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
from graphspace.learn.messages import MeanMessages
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
    before = reset_peak()
    started = time.perf_counter()
    if way == "whole":
        z = encoder(graph_batch(examples, rows))
    else:
        z = encode_graphs(encoder, examples, rows, hidden)
    z.square().mean().backward()
    seconds = time.perf_counter() - started
    print(_status_megabytes("VmHWM") - before, seconds)


def reset_peak() -> float:
    """Make this process's peak resident memory its current one (Linux); returns the current one, in MB."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_megabytes("VmRSS")


def _status_megabytes(field: str) -> float:
    """A memory field of /proc/self/status (VmRSS: resident now, VmHWM: peak since the last reset), in MB."""
    line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith(field))
    return int(line.split()[1]) / 1024


def child_output(*arguments: str, environment: dict[str, str] | None = None) -> list[str]:
    """The words this benchmark prints when run in a fresh process with `arguments` (and `environment`)."""
    command = [sys.executable, __file__, *arguments]
    return subprocess.run(command, capture_output=True, text=True, check=True, env=environment).stdout.split()


def memory_comparison() -> None:
    """Peak memory and time of `wide_step` both ways, each in its own process, side by side."""
    measured = {}
    for way in ("whole", "chunked"):
        output = child_output("--wide-step", way)
        measured[way] = (float(output[0]), float(output[1]))
    print("8 MLPs 784-256-10 (203,530 edges each), one encoder training step:")
    print("way       peak MB growth  seconds")
    for way, (megabytes, seconds) in measured.items():
        print(f"{way:<8} {megabytes:>15,.0f}  {seconds:>7.1f}")
    (whole_mb, whole_s), (chunked_mb, chunked_s) = measured["whole"], measured["chunked"]
    print(f"chunked / whole: memory {chunked_mb / whole_mb:.2f}x, time {chunked_s / whole_s:.2f}x")


def message_step(way: str, name: str, steps: int) -> None:
    """Forward and backward of one `MeanMessages` layer (the default learn width) on the batch of an MLP row,
    `way` "chunked" (its forward) or "propagate" (torch-geometric's); prints the growth of peak resident memory
    over the first step (MB) and the median seconds of `steps` more (run in a fresh process, as `wide_step`)."""
    bp, count, batch = shape(name)
    graphs = graph_batch(zoo(bp, count), torch.arange(batch))
    layer, nodes, width = MeanMessages(), len(graphs.bias), Learn().hidden
    a, b = torch.randn(nodes, width, requires_grad=True), torch.randn(nodes, width, requires_grad=True)
    edge_attr = torch.randn(len(graphs.edge_type), width, requires_grad=True)

    def seconds() -> float:
        started = time.perf_counter()
        if way == "chunked":
            out = layer(a, b, edge_attr, graphs.edge_index)
        else:
            out = layer.propagate(graphs.edge_index, a=a, b=b, edge_attr=edge_attr)
        out.sum().backward()
        return time.perf_counter() - started

    before = reset_peak()
    seconds()
    megabytes = _status_megabytes("VmHWM") - before
    times = sorted(seconds() for _ in range(steps))
    print(megabytes, times[len(times) // 2])


def message_comparison(steps: int) -> None:
    """`message_step` both ways on every MLP row, each in its own process, side by side."""
    print(
        f"one message layer (width {Learn().hidden}), forward and backward: edges a chunk at a time (chunked) "
        "against torch-geometric's propagate over all edges at once"
    )
    print("graphs               ms chunked  ms propagate  propagate / chunked  peak MB chunked  peak MB propagate")
    for name in MLP_WIDTHS:
        (chunked_mb, chunked_s), (propagate_mb, propagate_s) = (
            map(float, child_output("--messages", way, name, "--steps", str(steps))) for way in ("chunked", "propagate")
        )
        _, _, batch = shape(name)
        print(
            f"{batch} MLPs {name:<12} {chunked_s * 1e3:>10.1f}  {propagate_s * 1e3:>12.1f}  "
            f"{propagate_s / chunked_s:>18.2f}x  {chunked_mb:>15,.0f}  {propagate_mb:>17,.0f}"
        )


MLP_WIDTHS = {"32-24-8": (32, 24, 8), "100-90-10": (100, 90, 10), "300-300-33": (300, 300, 33)}
ROWS = ("cnn", *MLP_WIDTHS)


def shape(name: str) -> tuple[Blueprint, int, int]:
    """The blueprint of a benchmark row ("cnn" or an MLP's widths), how many models to make, and the batch."""
    if name == "cnn":
        return blueprint(CNNArchitecture(kind="cnn"), (1, 28, 28), 10), 256, 64
    widths = MLP_WIDTHS[name]
    return blueprint(MLPArchitecture(kind="mlp", hidden=list(widths[1:-1])), (widths[0],), widths[-1]), 16, 8


def child_seconds(name: str, steps: int, huge_pages: bool) -> float:
    """`step_seconds` of one row, measured in a fresh process with huge pages on or off."""
    environment = os.environ | {"THP_MEM_ALLOC_ENABLE": "1" if huge_pages else "0"}
    return float(child_output("--row", name, "--steps", str(steps), environment=environment)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--wide-step", choices=["whole", "chunked"], help=argparse.SUPPRESS)
    parser.add_argument("--row", choices=ROWS, help=argparse.SUPPRESS)
    parser.add_argument("--messages", nargs=2, metavar=("WAY", "ROW"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.manual_seed(0)
    if args.wide_step:
        wide_step(args.wide_step)
        return
    if args.messages:
        message_step(*args.messages, args.steps)
        return
    if args.row:
        bp, count, batch = shape(args.row)
        print(step_seconds(zoo(bp, count), batch, args.steps))
        return
    learn = Learn()
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; encoder hidden {learn.hidden}, "
        f"{learn.layers} layers, latent {learn.latent}; each row's two ways in fresh processes: large CPU tensors "
        f"on 4 KiB pages (off, torch's default) and on transparent huge pages (on: THP_MEM_ALLOC_ENABLE=1)"
    )
    print("graphs                   edges  ms/step off  ms/step on  off / on  graphs/s (off)  us per edge (off)")
    for name in ROWS:
        bp, _, batch = shape(name)
        off, on = (child_seconds(name, args.steps, huge_pages) for huge_pages in (False, True))
        edges = sum(d.in_features * d.out_features for d in bp.dense) if name != "cnn" else 0
        label = f"{batch} zoo CNNs ({bp.num_parameters} params)" if name == "cnn" else f"{batch} MLPs {name}"
        per_edge = f"{off * 1e6 / (batch * edges):17.3f}" if edges else ""
        row = f"{label:<23} {edges or '':>6}  {off * 1e3:>11.1f}  {on * 1e3:>10.1f}  {off / on:>7.2f}x  "
        print(f"{row}{batch / off:>14,.0f}  {per_edge}".rstrip())
    memory_comparison()
    message_comparison(args.steps)


if __name__ == "__main__":
    main()
