"""Linear-probe speed: the probe stage's linear probes with BLAS on one thread (as the stage runs them) against
the libraries' default thread count, side by side on the same store.

For each target given (default: the initializer, a categorical target, so a logistic regression), fits the linear
probe of the frozen embeddings (both views, every penalty) both ways and prints the seconds, their ratio and the
difference between the two ways' predictions (continuous: the largest; categorical: the share of rows predicted
differently).

    python benchmarks/probe.py [STORE] [TARGET ...]   (default: store/mnist.zarr init)
"""

from __future__ import annotations

import time

import numpy as np
from store_command import probe_target_names, store_and_names  # the store benchmarks' command line

from graphspace.probing.estimators import linear_probe
from graphspace.probing.features import embedding_views, stored_embeddings
from graphspace.probing.stage import probe_rows
from graphspace.probing.targets import probe_targets
from graphspace.provenance import blas_libraries


def main() -> None:
    store, names = store_and_names(__doc__, "probe targets (default: init)", probe_target_names)
    metadata = store.metadata()
    train, select, _ = probe_rows(metadata)
    views = embedding_views(stored_embeddings(store, metadata))
    print(f"{store.path}: {len(metadata)} rows, embeddings {views[0].shape[1]}; BLAS: {blas_libraries()}")
    print("| target | kind | one BLAS thread (s) | default threads (s) | default / one | predictions differ |")
    print("|---|---|---|---|---|---|")
    for target in (t for t in probe_targets(store.spec) if t.name in (names or ("init",))):
        y = target.values(metadata)
        seconds, predicted = {}, {}
        for way, threads in (("one", 1), ("default", None)):
            started = time.perf_counter()
            predicted[way] = linear_probe(target.kind, views, y, train, select, blas_threads=threads)
            seconds[way] = time.perf_counter() - started
        numeric = target.kind == "continuous"
        diff = (
            np.abs(predicted["one"] - predicted["default"]).max()
            if numeric
            else (predicted["one"] != predicted["default"]).mean()
        )
        print(
            f"| {target.name} | {target.kind} | {seconds['one']:.1f} | {seconds['default']:.1f} | "
            f"{seconds['default'] / seconds['one']:.1f} | {diff:.2g} |"
        )


if __name__ == "__main__":
    main()
