"""Property prediction from weights: linear probes on the frozen embeddings against the standard baselines."""

from graphspace.probing.stage import METHODS, probe, probe_stage, probe_table
from graphspace.probing.targets import ProbeTarget, probe_targets

__all__ = ["METHODS", "ProbeTarget", "probe", "probe_stage", "probe_table", "probe_targets"]
