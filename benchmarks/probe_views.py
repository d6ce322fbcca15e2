"""Which view of the embeddings do the linear probes read: the raw embedding, its direction, or the one the
validation split picks (what the probe stage reports)?

For each probe target of a store (default: every one), fits the probe stage's linear probe of the frozen embeddings
on the raw embedding alone, on the direction alone and on both (the stage's choice), and prints the test-split
scores of each, with the view the choice took.

    python benchmarks/probe_views.py [STORE] [TARGET ...]   (default: store/mnist.zarr, every target)
"""

from __future__ import annotations

import numpy as np
import polars as pl
from store_command import probe_target_names, store_and_names  # the store benchmarks' command line

from graphspace.probing.estimators import linear_probe, scores
from graphspace.probing.features import embedding_views, stored_embeddings
from graphspace.probing.stage import probe_rows
from graphspace.probing.targets import probe_targets


def main() -> None:
    store, names = store_and_names(__doc__, "probe targets (default: every one)", probe_target_names)
    metadata = store.metadata()
    train, select, test = probe_rows(metadata)
    raw, direction = embedding_views(stored_embeddings(store, metadata))
    rows = []
    for target in (t for t in probe_targets(store.spec) if not names or t.name in names):
        y = target.values(metadata)
        predicted = {
            name: linear_probe(target.kind, views, y, train, select)
            for name, views in (("raw", [raw]), ("direction", [direction]), ("chosen", [raw, direction]))
        }
        figures = {name: scores(target.kind, y[test], p[test]) for name, p in predicted.items()}
        chosen = "raw" if np.array_equal(predicted["chosen"], predicted["raw"]) else "direction"
        rows.append(
            {
                "target": target.name,
                **{name: " / ".join(f"{v:.3f}" for v in f.values()) for name, f in figures.items()},
                "metric": " / ".join(next(iter(figures.values()))),
                "validation picks": chosen,
            }
        )
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=200, tbl_hide_dataframe_shape=True):
        print(f"{store.path}: test split, linear probe of the frozen embeddings by view")
        print(pl.DataFrame(rows))


if __name__ == "__main__":
    main()
