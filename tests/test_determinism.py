"""Seeded work repeats exactly: torch's deterministic algorithms are on while the learned stages run."""

from __future__ import annotations

import pytest
import torch

from graphspace.determinism import deterministic
from graphspace.learn.stage import learn_stage
from graphspace.probing.stage import probe_stage
from graphspace.sample.stage import sample_targets


def test_accumulating_writes_repeat_exactly_with_two_threads() -> None:
    # index_put_ with accumulate is one of the ops whose threaded CPU version adds in a varying order
    generator = torch.Generator().manual_seed(0)
    values, index = (
        torch.randn(46_000, 64, generator=generator),
        torch.randint(0, 3_200, (46_000,), generator=generator),
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with deterministic():
            runs = [torch.zeros(3_200, 64).index_put_((index,), values, accumulate=True) for _ in range(4)]
    finally:
        torch.set_num_threads(threads)
    assert all(torch.equal(runs[0], run) for run in runs[1:])


def test_the_previous_setting_comes_back_after_the_block_even_when_it_fails() -> None:
    assert not torch.are_deterministic_algorithms_enabled()
    with pytest.raises(ValueError), deterministic():
        assert torch.are_deterministic_algorithms_enabled()
        raise ValueError
    assert not torch.are_deterministic_algorithms_enabled()


class _Stop(Exception):
    pass


class _Probe:
    """Stands in for a store: records whether deterministic algorithms are on at the first touch, then stops."""

    def __init__(self) -> None:
        self.seen: list[bool] = []

    def __getattr__(self, name: str) -> object:
        self.seen.append(torch.are_deterministic_algorithms_enabled())
        raise _Stop


def test_the_learned_stages_run_with_deterministic_algorithms_on() -> None:
    calls = [
        lambda store: learn_stage(store, None, {}),
        lambda store: probe_stage(store, None),
        lambda store: sample_targets(store, {}, [], 1, 0),
    ]
    for call in calls:
        store = _Probe()
        with pytest.raises(_Stop):
            call(store)
        assert store.seen == [True]
    assert not torch.are_deterministic_algorithms_enabled()
