"""Architectures, initializers, the zoo plan, pruning and the population forward pass."""

from __future__ import annotations

import pytest
import torch

from graphspace import SpecError
from graphspace.spec import CNNArchitecture, MLPArchitecture, Spec
from graphspace.zoo.architecture import blueprint
from graphspace.zoo.initializers import initialize
from graphspace.zoo.plan import plan_models, plan_populations
from graphspace.zoo.population import forward, stack_parameters
from graphspace.zoo.pruning import prune_magnitude


def test_default_cnn_is_the_classic_zoo_cnn() -> None:
    bp = blueprint(CNNArchitecture(kind="cnn"), (1, 28, 28), 10)
    assert [c.out_channels for c in bp.convs] == [8, 6, 4]
    assert bp.num_parameters == 2464 and bp.conv_output == (4, 3, 3)
    assert [(d.in_features, d.out_features) for d in bp.dense] == [(36, 20), (20, 10)]


def test_mlp_layers_follow_the_input_and_classes() -> None:
    bp = blueprint(MLPArchitecture(kind="mlp", hidden=[3]), (4,), 2)
    assert bp.num_parameters == 4 * 3 + 3 + 3 * 2 + 2 and bp.key == "mlp_4_3-2"


def test_a_conv_stack_that_shrinks_to_nothing_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match=r"conv layer 1 .* leaves no spatial extent"):
        blueprint(CNNArchitecture(kind="cnn"), (1, 8, 8), 10)


@pytest.mark.parametrize("name", ["normal", "glorot", "orthogonal", "he_normal", "truncated_normal"])
def test_initializers_are_seeded_and_zero_the_biases(name: str) -> None:
    bp = blueprint(CNNArchitecture(kind="cnn"), (1, 28, 28), 10)
    first, second = bp.build("relu", 0.0), bp.build("relu", 0.0)
    initialize(first, name, 0.05, torch.Generator().manual_seed(1))
    initialize(second, name, 0.05, torch.Generator().manual_seed(1))
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert all(torch.count_nonzero(p) == 0 for n, p in first.named_parameters() if n.endswith("bias"))
    if name == "truncated_normal":
        assert first[0].weight.abs().max() <= 0.1


def test_orthogonal_init_has_orthonormal_rows() -> None:
    model = blueprint(MLPArchitecture(kind="mlp", hidden=[16]), (64,), 10).build("relu", 0.0)
    initialize(model, "orthogonal", 0.05, torch.Generator().manual_seed(0))
    weight = model[0].weight.detach()
    torch.testing.assert_close(weight @ weight.T, torch.eye(16), atol=1e-5, rtol=0)


def _spec(**zoo: object) -> Spec:
    return Spec.model_validate({"name": "plan", "datasets": [{"name": "digits"}], "zoo": zoo})


def test_random_plan_is_deterministic_and_draws_within_ranges() -> None:
    spec = _spec(size=50, vary={"init": ["normal", "glorot"], "lr": {"log_uniform": [1e-4, 1e-2]}})
    models = plan_models(spec)
    assert models == plan_models(spec)
    assert {m.init for m in models} == {"normal", "glorot"}
    assert all(1e-4 <= m.lr <= 1e-2 for m in models)
    assert len({m.seed for m in models}) == 50 and {m.data_seed for m in models} == {0}
    assert plan_models(_spec(size=50, vary={"init": ["normal", "glorot"]}))[0].seed == models[0].seed


def test_grid_plan_cycles_through_every_combination() -> None:
    models = plan_models(_spec(size=8, sampling="grid", vary={"activation": ["relu", "tanh"], "dropout": [0.0, 0.5]}))
    combos = [(m.activation, m.dropout) for m in models]
    assert combos[:4] == [("relu", 0.0), ("relu", 0.5), ("tanh", 0.0), ("tanh", 0.5)] and combos[4:] == combos[:4]
    assert models[0].seed != models[4].seed


def test_grid_with_a_distribution_is_rejected() -> None:
    with pytest.raises(ValueError, match="grid needs lists"):
        _spec(sampling="grid", vary={"lr": {"uniform": [0.001, 0.01]}})


def test_populations_share_what_batches_need_and_respect_the_size_limit() -> None:
    models = plan_models(_spec(size=30, vary={"activation": ["relu", "tanh"], "batch_size": [16, 32]}))
    populations = plan_populations(models, max_size=5)
    assert sorted(i for p in populations for i in p.members) == list(range(30))
    for population in populations:
        assert len(population.members) <= 5
        hypers = population.hypers(models)
        assert len({(h.activation, h.batch_size, h.data_seed, h.dataset) for h in hypers}) == 1


def test_magnitude_pruning_zeroes_the_smallest_weights_of_each_layer_and_keeps_biases() -> None:
    bp = blueprint(MLPArchitecture(kind="mlp", hidden=[5]), (8,), 3)
    params = [torch.randn(2, *shape) for _, shape in bp.parameter_shapes()]
    pruned = prune_magnitude(bp, params, 0.5)
    for (name, _shape), before, after in zip(bp.parameter_shapes(), params, pruned, strict=True):
        if name.endswith("bias"):
            assert torch.equal(before, after)
            continue
        for m in range(2):
            zeroed = after[m] == 0
            assert int(zeroed.sum()) == round(0.5 * before[m].numel())
            assert before[m][zeroed].abs().max() <= before[m][~zeroed].abs().min()


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "tanh", "sigmoid", "gelu"])
def test_population_forward_equals_each_model(activation: str) -> None:
    bp = blueprint(CNNArchitecture(kind="cnn"), (1, 28, 28), 10)
    models = [bp.build(activation, 0.0) for _ in range(3)]
    for seed, model in enumerate(models):
        initialize(model, "he_normal", 0.05, torch.Generator().manual_seed(seed))
    x = torch.randn(6, 1, 28, 28)
    expected = torch.stack([model(x) for model in models])
    torch.testing.assert_close(forward(bp, stack_parameters(models), x, activation), expected, atol=1e-5, rtol=1e-5)
