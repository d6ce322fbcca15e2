"""Property prediction from weights: linear probes on the frozen embeddings against the standard baselines."""

from graphspace.probe.stage import METHODS, probe, probe_stage, probe_table
from graphspace.probe.targets import ProbeTarget, probe_targets

__all__ = ["METHODS", "ProbeTarget", "probe", "probe_stage", "probe_table", "probe_targets"]
