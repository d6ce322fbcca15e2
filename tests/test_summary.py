"""The zoo summary `graphspace info` shows: each model counted by its last unpruned checkpoint."""

from __future__ import annotations

import polars as pl

from graphspace.summary import zoo_summary


def test_the_zoo_summary_judges_each_model_by_its_last_unpruned_checkpoint() -> None:
    metadata = pl.DataFrame(
        {
            "dataset": ["a", "a", "a", "a", "a", "b"],
            "model": [0, 0, 0, 1, 1, 2],
            "epoch": [1, 2, 2, 1, 2, 2],
            "prune_ratio": [0.0, 0.0, 0.9, 0.0, 0.0, 0.0],
            # model 0 ends at 0.9 (its pruned variant at 0.1 does not count), model 1 recovers from 0.2 to 0.6
            "test_accuracy": [0.3, 0.9, 0.1, 0.2, 0.6, 0.4],
        }
    )
    summary = zoo_summary(metadata)
    assert summary.to_dicts() == [
        {
            "dataset": "a",
            "models": 2,
            "rows": 5,
            "pruned": 1,
            "acc_min": 0.6,
            "acc_median": 0.75,
            "acc_max": 0.9,
            "models_below_0.5": 0,
        },
        {
            "dataset": "b",
            "models": 1,
            "rows": 1,
            "pruned": 0,
            "acc_min": 0.4,
            "acc_median": 0.4,
            "acc_max": 0.4,
            "models_below_0.5": 1,
        },
    ]
