"""Where the heavy work runs: zoo training, the weight space's training and the supervised probe reference go to
a GPU when asked (or, with "auto", when torch sees one); everything they hand back, and everything else, is on
the CPU, so stores, checkpoints and results read the same whatever trained them."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import torch

from graphspace.errors import GraphspaceError

DEVICES = "auto (a GPU when torch sees one, else the CPU), cpu, cuda or cuda:N"
CPU = torch.device("cpu")

T = TypeVar("T")


class DeviceError(GraphspaceError):
    """A device that is not there, or a name that is no device."""


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """The torch device that `name` (see DEVICES) stands for on this machine.

    Raises:
        DeviceError: an unknown name, or a GPU that torch does not see.
    """
    if isinstance(name, torch.device):
        name = str(name)
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError:
        raise DeviceError(f"device {name!r} is not a device; allowed: {DEVICES}.") from None
    if device.type not in ("cpu", "cuda"):
        raise DeviceError(f"device {name!r}: graphspace runs on {DEVICES}.")
    if device.type == "cuda":
        count = torch.cuda.device_count()  # 0 for a CPU build of torch, or without a driver
        if count == 0:
            raise DeviceError(
                f"device {name!r}: torch {torch.__version__} sees no CUDA GPU on this machine (a CPU build of "
                f"torch, or no driver); use --device cpu (or auto)."
            )
        if (device.index or 0) >= count:
            raise DeviceError(f"device {name!r}: this machine has {count} CUDA GPU(s), cuda:0 to cuda:{count - 1}.")
        # cuBLAS repeats its results run to run only with a fixed workspace (read when CUDA starts)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    return device


@contextmanager
def placed(device: torch.device) -> Iterator[None]:
    """Within the block, tensors that torch creates without a device are created on `device` (nothing changes
    for the CPU). Seeded generators stay on the CPU: draws from them name the CPU (`device=CPU`)."""
    if device.type == "cpu":
        yield
        return
    with torch.device(device):
        yield


def moved(value: T, device: torch.device) -> T:
    """`value` with every tensor in it on `device`: tensors, and the tensors inside lists, tuples, dicts and
    dataclasses (copied with `dataclasses.replace`; other values are shared)."""
    return _moved(value, device)


def _moved(value: Any, device: torch.device) -> Any:
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a named tuple
        return type(value)(*(_moved(v, device) for v in value))
    if isinstance(value, list | tuple):
        return type(value)(_moved(v, device) for v in value)
    if isinstance(value, dict):
        return {k: _moved(v, device) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: _moved(getattr(value, f.name), device) for f in dataclasses.fields(value) if f.init}
        return dataclasses.replace(value, **fields)
    return value
