"""Conditional sampling of new weights for a target accuracy, evaluated for real, against the baselines."""

from graphspace.sample.stage import (
    DEFAULT,
    METHODS,
    Samples,
    alignment,
    query,
    sample_stage,
    sample_targets,
    summarize_samples,
)

__all__ = ["DEFAULT", "METHODS", "Samples", "alignment", "query", "sample_stage", "sample_targets", "summarize_samples"]
