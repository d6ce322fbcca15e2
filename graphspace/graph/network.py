"""The structure of an `nn.Sequential` without its weights: what `from_graph` rebuilds, and its weight layers.

A `Network` lists the modules with their constructor arguments (JSON values), so it round-trips through JSON
and rebuilds the same torch model. `Network.layers()` reads off the weight layers (Linear, Conv2d) that
become the graph's edges, with the neuron counts, the shape of the weight each edge carries, and which
symmetries the neurons between two weight layers have.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from graphspace.errors import GraphError

# Constructor arguments read off each supported module (they are its attributes of the same name).
MODULE_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "Linear": ("in_features", "out_features"),
    "Conv2d": ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "padding_mode"),
    "MaxPool2d": ("kernel_size", "stride", "padding", "dilation", "ceil_mode"),
    "AvgPool2d": ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad"),
    "AdaptiveAvgPool2d": ("output_size",),
    "Flatten": ("start_dim", "end_dim"),
    "Dropout": ("p",),
    "ReLU": (),
    "LeakyReLU": ("negative_slope",),
    "Tanh": (),
    "Sigmoid": (),
    "GELU": ("approximate",),
    "SiLU": (),
    "ELU": ("alpha",),
    "Identity": (),
}

# The hidden-neuron symmetries each module between two weight layers keeps (neuron permutations are kept by
# all of them). "scale": multiplying a neuron by a > 0 commutes with the module; "sign": negating it does.
KEEPS: dict[str, frozenset[str]] = {
    "ReLU": frozenset({"scale"}),
    "LeakyReLU": frozenset({"scale"}),
    "MaxPool2d": frozenset({"scale"}),
    "Tanh": frozenset({"sign"}),
    "AvgPool2d": frozenset({"scale", "sign"}),
    "AdaptiveAvgPool2d": frozenset({"scale", "sign"}),
    "Flatten": frozenset({"scale", "sign"}),
    "Dropout": frozenset({"scale", "sign"}),
    "Identity": frozenset({"scale", "sign"}),
}

EDGE_KINDS = ("linear", "conv", "flatten")  # edge_kind codes: a Linear weight, a Conv2d kernel, conv -> linear


@dataclass(frozen=True)
class Module:
    """One module of the sequence: its class name and constructor arguments."""

    kind: str
    arguments: tuple[tuple[str, Any], ...] = ()

    def build(self) -> nn.Module:
        """A new torch module (weights freshly initialized)."""
        return getattr(nn, self.kind)(**dict(self.arguments))


@dataclass(frozen=True)
class Layer:
    """A weight layer: edges from `inputs` neurons to `outputs` neurons, each edge carrying a (height, width)
    grid of weights (1x1 for Linear, the kernel for Conv2d, the feature map for a flatten into Linear)."""

    module: int  # index of the Linear/Conv2d in the sequence (its state_dict prefix)
    kind: str  # one of EDGE_KINDS
    inputs: int
    outputs: int
    grid: tuple[int, int]
    bias: bool
    symmetries: frozenset[str]  # of the output neurons; empty for the output layer

    @property
    def grid_size(self) -> int:
        """Weights per edge."""
        return self.grid[0] * self.grid[1]


@dataclass(frozen=True)
class Network:
    """The structure of an `nn.Sequential`: its modules and, where known, the input shape of one example."""

    modules: tuple[Module, ...]
    input_shape: tuple[int, ...] | None = None

    def __repr__(self) -> str:
        return f"Network({' > '.join(m.kind for m in self.modules)}, input_shape={self.input_shape})"

    @classmethod
    def of(cls, model: nn.Module, input_shape: tuple[int, ...] | None = None) -> Network:
        """Read the structure of `model`.

        Raises:
            GraphError: `model` is not an `nn.Sequential` of supported modules.
        """
        if not isinstance(model, nn.Sequential):
            raise GraphError(
                f"to_graph takes an nn.Sequential, got {type(model).__name__}; supported modules inside it: "
                f"{', '.join(MODULE_ARGUMENTS)}."
            )
        modules = []
        for index, module in enumerate(model):
            kind = type(module).__name__
            if kind not in MODULE_ARGUMENTS or type(module) is not getattr(nn, kind):
                raise GraphError(
                    f"Module {index} of the model ({kind}({module.extra_repr()})) is not supported by the "
                    f"neuron-edge graph; "
                    f"supported: {', '.join(MODULE_ARGUMENTS)}, in an nn.Sequential (no residual blocks, "
                    f"normalization layers or custom modules)."
                )
            if kind == "Conv2d" and module.groups != 1:
                raise GraphError(f"Module {index} of the model ({module!r}) is a grouped conv; only groups=1.")
            arguments = {name: _json_value(getattr(module, name)) for name in MODULE_ARGUMENTS[kind]}
            if kind in ("Linear", "Conv2d"):
                arguments["bias"] = module.bias is not None
            modules.append(Module(kind, tuple(arguments.items())))
        network = cls(tuple(modules), tuple(input_shape) if input_shape is not None else None)
        network.layers()  # validates the sequence
        return network

    def build(self) -> nn.Sequential:
        """A new torch model of this structure, in eval mode (weights freshly initialized)."""
        return nn.Sequential(*(module.build() for module in self.modules)).eval()

    def to_json(self) -> str:
        """The structure as JSON (read back by `Network.from_json`)."""
        modules = [{"kind": m.kind, **dict(m.arguments)} for m in self.modules]
        return json.dumps({"input_shape": self.input_shape, "modules": modules})

    @classmethod
    def from_json(cls, text: str) -> Network:
        """The structure written by `to_json`."""
        data = json.loads(text)
        modules = tuple(
            Module(m.pop("kind"), tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in m.items()))
            for m in data["modules"]
        )
        shape = data["input_shape"]
        return cls(modules, tuple(shape) if shape is not None else None)

    def layers(self) -> tuple[Layer, ...]:
        """The weight layers in order, with what the modules between them allow.

        Raises:
            GraphError: no weight layer, or a Linear after a conv whose feature map shape cannot be known.
        """
        return _layers(self)


@functools.cache
def _layers(network: Network) -> tuple[Layer, ...]:
    shapes = _feature_map_shapes(network)
    found: list[dict[str, Any]] = []
    channels = None  # channels of the current feature map, None when the data is a vector
    for index, module in enumerate(network.modules):
        arguments = dict(module.arguments)
        if module.kind == "Conv2d":
            kernel = _pair(arguments["kernel_size"])
            layer = {"module": index, "kind": "conv", "inputs": arguments["in_channels"], "grid": kernel}
            found.append(layer | {"outputs": arguments["out_channels"], "bias": arguments["bias"]})
            channels = arguments["out_channels"]
        elif module.kind == "Linear":
            inputs, outputs = arguments["in_features"], arguments["out_features"]
            if channels is None:
                layer = {"module": index, "kind": "linear", "inputs": inputs, "grid": (1, 1)}
            else:
                grid = shapes.get(index) or _square_map(index, inputs, channels)
                layer = {"module": index, "kind": "flatten", "inputs": channels, "grid": grid}
            found.append(layer | {"outputs": outputs, "bias": arguments["bias"]})
            channels = None
    if not found:
        raise GraphError("The model has no Linear or Conv2d layer, so its neuron-edge graph would have no edges.")
    layers = []
    for i, layer in enumerate(found):
        if i + 1 < len(found):
            between = network.modules[layer["module"] + 1 : found[i + 1]["module"]]
            keeps = frozenset({"scale", "sign"})
            for module in between:
                keeps &= KEEPS.get(module.kind, frozenset())
        else:
            keeps = frozenset()
        layers.append(Layer(symmetries=keeps, **layer))
    return tuple(layers)


def _feature_map_shapes(network: Network) -> dict[int, tuple[int, int]]:
    """(height, width) of the feature map that each Linear after a conv flattens, when the input shape is known."""
    if network.input_shape is None or len(network.input_shape) != 3:
        return {}
    model = nn.Sequential(*(m.build() for m in network.modules)).to("meta")
    shapes: dict[int, tuple[int, int]] = {}
    h = torch.empty(1, *network.input_shape, device="meta")
    spatial = None  # the feature map's (height, width) once a conv has made one
    for index, module in enumerate(model):
        if spatial is not None and h.dim() == 4:
            spatial = tuple(h.shape[2:])
        if isinstance(module, nn.Linear) and spatial is not None:
            shapes[index] = spatial
            spatial = None
        if isinstance(module, nn.Conv2d):
            spatial = ()
        try:
            h = module(h)
        except RuntimeError as error:
            raise GraphError(
                f"The model does not run on inputs of shape {network.input_shape}: module {index} "
                f"({module!r}) fails with: {error}"
            ) from None
    return shapes


def _square_map(index: int, features: int, channels: int) -> tuple[int, int]:
    side = math.isqrt(features // channels)
    if features % channels or side * side != features // channels:
        raise GraphError(
            f"Module {index} (Linear with {features} inputs) follows a conv with {channels} channels; its feature "
            f"map is not square, so pass input_shape to to_graph to give its height and width."
        )
    return (side, side)


def _pair(value: int | tuple[int, ...]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _json_value(value: Any) -> Any:
    return tuple(value) if isinstance(value, (tuple, list)) else value
