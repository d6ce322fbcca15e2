"""Resolved architectures: a spec's architecture fitted to a dataset's input shape and class count."""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

from torch import nn

from graphspace.errors import SpecError
from graphspace.spec import CNNArchitecture, MLPArchitecture


@dataclass(frozen=True)
class Conv:
    """One conv layer, followed by pooling (window = stride = `pool`; 1 means none)."""

    in_channels: int
    out_channels: int
    kernel: int
    stride: int
    padding: int
    pool: int


@dataclass(frozen=True)
class Dense:
    """One linear layer."""

    in_features: int
    out_features: int


@dataclass(frozen=True)
class Blueprint:
    """An architecture with every shape known: convs, head, then dense layers (the last one is the output).

    Built by `blueprint()`. Models built from one blueprint share their parameter layout, so a population
    stacks them and a store keeps them in one array.
    """

    input_shape: tuple[int, ...]
    convs: tuple[Conv, ...]
    pool_kind: str
    head: str  # "flatten" or "global_avg" (convs only)
    dense: tuple[Dense, ...]
    conv_output: tuple[int, int, int]  # (C, H, W) of the last conv stage; (0, 0, 0) without convs

    @property
    def key(self) -> str:
        """A short name, unique per layout, e.g. `cnn_1x28x28_8-6-4_20-10`."""
        shape = "x".join(map(str, self.input_shape))
        widths = "-".join(str(layer.out_features) for layer in self.dense)
        if not self.convs:
            return f"mlp_{shape}_{widths}"
        channels = "-".join(str(conv.out_channels) for conv in self.convs)
        return f"cnn_{shape}_{channels}_{widths}"

    def build(self, activation: str, dropout: float) -> nn.Sequential:
        """The torch model: conv -> pool -> activation -> dropout per conv, head, linear -> activation ->
        dropout per hidden layer, linear output. Module indices (and so state_dict keys) do not depend on
        the activation or dropout."""
        layers: list[nn.Module] = []
        for conv in self.convs:
            layers.append(nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel, conv.stride, conv.padding))
            if conv.pool > 1:
                pool = nn.MaxPool2d if self.pool_kind == "max" else nn.AvgPool2d
                layers.append(pool(conv.pool))
            layers += [activation_module(activation), nn.Dropout(dropout)]
        if self.convs and self.head == "global_avg":
            layers.append(nn.AdaptiveAvgPool2d(1))
        if len(self.input_shape) > 1:
            layers.append(nn.Flatten())
        for i, dense in enumerate(self.dense):
            layers.append(nn.Linear(dense.in_features, dense.out_features))
            if i < len(self.dense) - 1:
                layers += [activation_module(activation), nn.Dropout(dropout)]
        return nn.Sequential(*layers)

    def parameter_shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        """(state_dict name, shape) of every parameter, in state_dict order."""
        return list(_parameter_shapes(self))

    @property
    def num_parameters(self) -> int:
        """Parameters per model."""
        return sum(math.prod(shape) for _, shape in self.parameter_shapes())

    def forward_flops(self) -> int:
        """Multiply-adds x 2 of one forward pass on one input (convs and linear layers only)."""
        flops, (height, width) = 0, self.input_shape[-2:] if self.convs else (0, 0)
        for conv in self.convs:
            height, width = conv_output_size(height, conv), conv_output_size(width, conv)
            flops += 2 * conv.out_channels * height * width * conv.in_channels * conv.kernel**2
            height, width = height // conv.pool, width // conv.pool
        return flops + sum(2 * d.in_features * d.out_features for d in self.dense)


ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.01),
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
}


@functools.cache
def _parameter_shapes(blueprint: Blueprint) -> tuple[tuple[str, tuple[int, ...]], ...]:
    model = blueprint.build("relu", 0.0)
    return tuple((name, tuple(p.shape)) for name, p in model.named_parameters())


def activation_module(name: str) -> nn.Module:
    """The torch module of an activation name of the spec."""
    return ACTIVATIONS[name]()


def conv_output_size(size: int, conv: Conv) -> int:
    """Height (or width) of a conv's output, before pooling, for an input of that size."""
    return (size + 2 * conv.padding - conv.kernel) // conv.stride + 1


def blueprint(spec: MLPArchitecture | CNNArchitecture, input_shape: tuple[int, ...], num_classes: int) -> Blueprint:
    """Fit an architecture spec to a dataset.

    Raises:
        SpecError: the architecture does not fit the input (a CNN on vectors, a feature map that shrinks
            to nothing).
    """
    if isinstance(spec, MLPArchitecture):
        widths = [math.prod(input_shape), *spec.hidden, num_classes]
        dense = tuple(Dense(a, b) for a, b in itertools.pairwise(widths))
        return Blueprint(tuple(input_shape), (), "max", "flatten", dense, (0, 0, 0))
    if len(input_shape) != 3:
        raise SpecError(
            f"zoo.architecture: a cnn needs image inputs (channels, height, width), but the dataset's inputs "
            f"have shape {tuple(input_shape)}; use kind: mlp for vector datasets such as mnist1d."
        )
    channels, height, width = input_shape
    convs = []
    parts = zip(spec.channels, *(spec.per_layer(f) for f in ("kernel", "stride", "padding", "pool")), strict=True)
    for i, (out_channels, kernel, stride, padding, pool) in enumerate(parts):
        conv = Conv(channels, out_channels, kernel, stride, padding, pool)
        height, width = conv_output_size(height, conv) // pool, conv_output_size(width, conv) // pool
        if height < 1 or width < 1:
            raise SpecError(
                f"zoo.architecture: conv layer {i} (kernel {kernel}, stride {stride}, padding {padding}, "
                f"pool {pool}) leaves no spatial extent on inputs of shape {tuple(input_shape)}; use smaller "
                f"kernels or pooling, more padding, or fewer conv layers."
            )
        convs.append(conv)
        channels = out_channels
    features = channels if spec.head == "global_avg" else channels * height * width
    widths = [features, *spec.hidden, num_classes]
    dense = tuple(Dense(a, b) for a, b in itertools.pairwise(widths))
    return Blueprint(tuple(input_shape), tuple(convs), spec.pool_kind, spec.head, dense, (channels, height, width))
