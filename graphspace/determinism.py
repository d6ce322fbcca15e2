"""Seeded work that repeats exactly from run to run (with the same number of torch threads)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def deterministic() -> Iterator[None]:
    """Within the block (or the decorated function), torch uses its deterministic algorithms, warning where an op
    has none. With several CPU threads some accumulating writes otherwise add in an order that varies, and a
    seeded training run drifts from one run to the next (on the mnist spec, first-epoch losses differed in the
    7th digit and the final figures by about a point). The previous setting is restored after."""
    enabled = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(enabled, warn_only=warn_only)
