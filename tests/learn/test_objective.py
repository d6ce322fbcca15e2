"""The loss terms: contrastive alignment, per-layer normalized reconstruction, behavioral distillation."""

from __future__ import annotations

import torch

from graphspace.learn.objective import behavior, info_nce, reconstruction


def test_info_nce_is_low_when_each_weight_embedding_matches_its_own_condition() -> None:
    z = torch.randn(16, 8, generator=torch.Generator().manual_seed(0))
    temperature = torch.tensor(3.0)
    matched, shuffled = info_nce(z, z, temperature), info_nce(z, z.roll(1, 0), temperature)
    assert matched < 0.1 < 2.0 < shuffled


def test_per_layer_normalization_makes_a_small_layer_count_as_much_as_a_large_one() -> None:
    group = torch.tensor([0] * 2 + [1] * 98)  # a layer of 2 biases and one of 98 weights
    scale = torch.ones(100)
    target = torch.zeros(1, 100)
    small_wrong = target.clone()
    small_wrong[0, :2] = 1.0
    large_wrong = target.clone()
    large_wrong[0, 2:] = 1.0
    assert reconstruction(small_wrong, target, group, scale) == reconstruction(large_wrong, target, group, scale) == 0.5
    plain = [reconstruction(x, target, group, scale, per_layer=False) for x in (small_wrong, large_wrong)]
    assert plain == [0.02, 0.98]


def test_behavior_is_zero_only_for_models_that_predict_alike() -> None:
    logits = torch.randn(4, 32, 10, generator=torch.Generator().manual_seed(1))
    assert behavior(logits, logits).abs() < 1e-6
    assert behavior(logits + 5.0, logits).abs() < 1e-5  # a shift of all logits changes no prediction
    assert behavior(logits.flip(-1), logits) > 0.5
