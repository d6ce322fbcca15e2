"""Every stored checkpoint rebuilt from its stored graph, evaluated again on its dataset's test split.

Prints how many rows reproduce their recorded test accuracy (to 1e-6) and lists those that do not, with
the rebuilt and recorded accuracies.

    python benchmarks/round_trip.py [STORE]   (default: store/mnist.zarr)
"""

from __future__ import annotations

import torch
from store_command import store_and_names  # the store benchmarks' command line

from graphspace import from_graph
from graphspace.data import load_datasets


def main() -> None:
    store, _ = store_and_names(__doc__)
    datasets = load_datasets(store.spec.datasets)
    metadata = store.metadata().sort("id")
    differing = []
    for row in metadata.iter_rows(named=True):
        data = datasets[row["dataset"]]
        with torch.no_grad():
            predictions = from_graph(store.graph(row["id"])).eval()(data.x_test).argmax(1)
        accuracy = (predictions == data.y_test).double().mean().item()
        if abs(accuracy - row["test_accuracy"]) > 1e-6:
            differing.append((row["id"], row["activation"], accuracy, row["test_accuracy"]))
    print(f"{metadata.height - len(differing)} of {metadata.height} rows reproduce their recorded test accuracy")
    for row_id, activation, rebuilt, recorded in differing:
        print(f"  id {row_id} ({activation}): rebuilt {rebuilt:.4f}, recorded {recorded:.4f}")


if __name__ == "__main__":
    main()
