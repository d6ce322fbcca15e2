"""A model trained inside a population is the same model trained alone."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from graphspace.data import Dataset
from graphspace.spec import CNNArchitecture, Hyper, MLPArchitecture
from graphspace.zoo.architecture import blueprint
from graphspace.zoo.initializers import initialize
from graphspace.zoo.training import train_population


def _toy_data(shape: tuple[int, ...], n: int = 40) -> Dataset:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(n, *shape, generator=generator)
    y = torch.randint(0, 10, (n,), generator=generator)
    return Dataset("toy", x, y, x[:8], y[:8], 10)


def _train_with_torch_optim(bp, hyper: Hyper, data: Dataset, epochs: int) -> dict[str, torch.Tensor]:
    """The reference: one nn.Module, torch.optim, the same init and batch order."""
    model = bp.build(hyper.activation, 0.0).double()
    initialize(model, hyper.init, hyper.init_std, torch.Generator().manual_seed(hyper.seed))
    if hyper.optimizer == "adam":
        optimizer = torch.optim.Adam(model.parameters(), hyper.lr, weight_decay=hyper.weight_decay)
    else:
        optimizer = torch.optim.SGD(model.parameters(), hyper.lr, hyper.momentum, weight_decay=hyper.weight_decay)
    order = torch.Generator().manual_seed(hyper.data_seed)
    for _ in range(epochs):
        for batch in torch.randperm(len(data.y_train), generator=order).split(hyper.batch_size):
            loss = F.cross_entropy(model(data.x_train[batch].double()), data.y_train[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.state_dict()


on_a_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="torch sees no CUDA GPU here")

ARCHITECTURES = {
    "zoo cnn": (
        CNNArchitecture(kind="cnn", channels=[4, 6, 2], kernel=[3, 3, 2], pool=[2, 2, 1]),
        (1, 14, 14),  # the 6-channel conv is computed with 2 channels of zero padding
    ),
    "avg-pooled strided cnn": (
        CNNArchitecture(
            kind="cnn",
            channels=[3, 2],
            kernel=[3],
            stride=[2, 1],
            padding=[1],
            pool=[1, 2],
            pool_kind="avg",
            head="global_avg",
            hidden=[5],
        ),
        (2, 11, 9),
    ),
    "mlp": (MLPArchitecture(kind="mlp", hidden=[6, 5]), (12,)),
}


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
@pytest.mark.parametrize("architecture", list(ARCHITECTURES))
@pytest.mark.parametrize("activation", ["relu", "gelu", "tanh"])
def test_population_matches_torch_optim_per_model(architecture: str, optimizer: str, activation: str) -> None:
    arch, shape = ARCHITECTURES[architecture]
    bp = blueprint(arch, shape, 10)
    data = _toy_data(shape)
    hypers = [
        Hyper(
            dataset="toy",
            init=init,
            lr=lr,
            weight_decay=decay,
            momentum=momentum,
            optimizer=optimizer,
            activation=activation,
            batch_size=16,
            seed=seed,
            data_seed=7,
        )
        for seed, (init, lr, decay, momentum) in enumerate(
            [("he_normal", 1e-2, 0.0, 0.9), ("glorot", 3e-3, 1e-3, 0.5), ("orthogonal", 3e-2, 1e-2, 0.0)]
        )
    ]
    trained = dict(train_population(bp, hypers, data, epochs=2, checkpoints=[2], dtype=torch.float64))[2]
    names = [name for name, _ in bp.parameter_shapes()]
    for m, hyper in enumerate(hypers):
        reference = _train_with_torch_optim(bp, hyper, data, epochs=2)
        for name, stacked in zip(names, trained, strict=True):
            torch.testing.assert_close(stacked[m], reference[name], rtol=1e-9, atol=1e-11)


def test_model_with_dropout_is_the_same_alone_and_in_any_population() -> None:
    bp = blueprint(CNNArchitecture(kind="cnn", channels=[4, 7], kernel=[3], pool=[2, 1], hidden=[8]), (1, 10, 10), 10)
    data = _toy_data((1, 10, 10))
    hypers = [
        Hyper(dataset="toy", dropout=rate, seed=seed, data_seed=1, batch_size=8, lr=1e-2)
        for seed, rate in enumerate([0.3, 0.0, 0.5, 0.1])
    ]
    together = dict(train_population(bp, hypers, data, 2, [2], dtype=torch.float64))[2]
    for m, hyper in enumerate(hypers):
        alone = dict(train_population(bp, [hyper], data, 2, [2], dtype=torch.float64))[2]
        for stacked, single in zip(together, alone, strict=True):
            torch.testing.assert_close(stacked[m], single[0], rtol=1e-9, atol=1e-11)


def test_shards_trained_side_by_side_equal_one_population() -> None:
    bp = blueprint(CNNArchitecture(kind="cnn", channels=[4, 6], kernel=[3], pool=[2, 1], hidden=[8]), (1, 10, 10), 10)
    data = _toy_data((1, 10, 10))
    hypers = [
        Hyper(dataset="toy", dropout=rate, seed=seed, data_seed=1, batch_size=8, lr=1e-2)
        for seed, rate in enumerate([0.3, 0.0, 0.5, 0.1, 0.0])
    ]
    threads = torch.get_num_threads()
    whole = dict(train_population(bp, hypers, data, 2, [0, 1, 2], dtype=torch.float64, shards=1))
    sharded = dict(train_population(bp, hypers, data, 2, [0, 1, 2], dtype=torch.float64, shards=3))
    assert torch.get_num_threads() == threads
    assert whole.keys() == sharded.keys() == {0, 1, 2}
    for epoch, params in whole.items():
        for stacked, joined in zip(params, sharded[epoch], strict=True):
            torch.testing.assert_close(joined, stacked, rtol=1e-9, atol=1e-11)


def test_dropout_changes_training() -> None:
    bp = blueprint(MLPArchitecture(kind="mlp", hidden=[8]), (12,), 10)
    data = _toy_data((12,))
    base = Hyper(dataset="toy", seed=3, data_seed=0, batch_size=8)
    plain = dict(train_population(bp, [base], data, 1, [1]))[1]
    dropped = dict(train_population(bp, [base.model_copy(update={"dropout": 0.5})], data, 1, [1]))[1]
    assert not torch.equal(plain[0], dropped[0])


def test_checkpoint_zero_is_the_initialization() -> None:
    bp = blueprint(MLPArchitecture(kind="mlp", hidden=[8]), (12,), 10)
    hyper = Hyper(dataset="toy", init="orthogonal", seed=5, data_seed=0)
    checkpoints = dict(train_population(bp, [hyper], _toy_data((12,)), 1, [0, 1]))
    model = bp.build("relu", 0.0)
    initialize(model, "orthogonal", 0.05, torch.Generator().manual_seed(5))
    torch.testing.assert_close(checkpoints[0][0][0], model[0].weight.detach(), rtol=0, atol=0)
    assert not torch.equal(checkpoints[0][0], checkpoints[1][0])


@on_a_gpu
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
@pytest.mark.parametrize("architecture", list(ARCHITECTURES))
def test_a_population_trained_on_the_gpu_is_the_one_trained_on_the_cpu(architecture: str, optimizer: str) -> None:
    arch, shape = ARCHITECTURES[architecture]
    bp, data = blueprint(arch, shape, 10), _toy_data(shape, 48)
    hypers = [
        Hyper(
            dataset="toy", init=init, lr=lr, optimizer=optimizer, activation="relu", seed=s, data_seed=3, batch_size=16
        )
        for s, (init, lr) in enumerate([("he_normal", 1e-2), ("glorot", 3e-3), ("orthogonal", 3e-2)])
    ]
    on_cpu = dict(train_population(bp, hypers, data, 2, [0, 2], dtype=torch.float64))
    on_gpu = dict(train_population(bp, hypers, data, 2, [0, 2], dtype=torch.float64, device=torch.device("cuda")))
    for epoch, params in on_cpu.items():
        for cpu, gpu in zip(params, on_gpu[epoch], strict=True):
            assert gpu.device.type == "cuda"
            torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-9, atol=1e-10 if epoch else 0.0)


@on_a_gpu
def test_a_model_with_dropout_is_the_same_alone_and_in_any_population_on_the_gpu() -> None:
    bp = blueprint(CNNArchitecture(kind="cnn", channels=[4, 7], kernel=[3], pool=[2, 1], hidden=[8]), (1, 10, 10), 10)
    data, gpu = _toy_data((1, 10, 10)), torch.device("cuda")
    hypers = [
        Hyper(dataset="toy", dropout=rate, seed=seed, data_seed=1, batch_size=8, lr=1e-2)
        for seed, rate in enumerate([0.3, 0.0, 0.5])
    ]
    together = dict(train_population(bp, hypers, data, 2, [2], dtype=torch.float64, device=gpu))[2]
    for m, hyper in enumerate(hypers):
        alone = dict(train_population(bp, [hyper], data, 2, [2], dtype=torch.float64, device=gpu))[2]
        for stacked, single in zip(together, alone, strict=True):
            torch.testing.assert_close(stacked[m], single[0], rtol=1e-9, atol=1e-11)
