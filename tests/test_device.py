"""Where training runs: the CPU by default without a GPU, a GPU when asked; the same work either way, and stores
that read the same whatever trained them. The GPU tests run where torch sees one (they are skipped in CI)."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner

import graphspace
from graphspace.cli import main
from graphspace.device import CPU, DeviceError, moved, resolve_device
from graphspace.zoo.architecture import Conv
from graphspace.zoo.population import _per_model_conv

ROOT = Path(__file__).resolve().parents[1]
GPU = torch.cuda.is_available()
needs_gpu = pytest.mark.skipif(not GPU, reason="torch sees no CUDA GPU here")
without_gpu = pytest.mark.skipif(GPU, reason="a CUDA GPU is here")


@without_gpu
def test_auto_is_the_cpu_where_there_is_no_gpu() -> None:
    assert resolve_device("auto") == CPU
    assert resolve_device("cpu") == CPU


@pytest.mark.parametrize("name", ["banana", "mps", "cuda:99"] + ([] if GPU else ["cuda", "cuda:0"]))
def test_a_device_that_is_not_there_is_refused_with_what_is_allowed(name: str) -> None:
    with pytest.raises(DeviceError, match=f"device '{name}'.*(auto|cuda:0)"):
        resolve_device(name)


@without_gpu
def test_run_on_a_missing_gpu_stops_before_writing_a_store(tmp_path: Path) -> None:
    store = tmp_path / "tiny.zarr"
    result = CliRunner().invoke(main, ["run", str(ROOT / "specs/tiny.yaml"), "--store", str(store), "--device", "cuda"])
    assert result.exit_code == 2
    assert "device 'cuda'" in result.output and "--device cpu" in result.output
    assert "Traceback" not in result.output
    assert not store.exists()


def test_moved_reaches_tensors_inside_containers_and_dataclasses() -> None:
    @dataclasses.dataclass(frozen=True)
    class Box:
        label: str
        values: list[torch.Tensor]

    box = Box("x", [torch.ones(2, dtype=torch.float64)])
    out = moved({"a": (box, torch.zeros(1)), "b": 3}, torch.device("meta"))
    assert out["b"] == 3
    assert out["a"][0].label == "x"
    assert out["a"][0].values[0].device.type == "meta" and out["a"][0].values[0].dtype == torch.float64
    assert out["a"][1].device.type == "meta"
    assert box.values[0].device == CPU  # the original is untouched


@pytest.mark.parametrize(("stride", "padding"), [(1, 0), (2, 1)])
def test_the_gpu_formulation_of_later_convs_is_the_grouped_convolution(stride: int, padding: int) -> None:
    models, channels, out = 3, 4, 5
    generator = torch.Generator().manual_seed(0)
    h = torch.randn(2, models * channels, 9, 8, generator=generator, dtype=torch.float64)
    weight = torch.randn(models, out, channels, 3, 3, generator=generator, dtype=torch.float64)
    bias = torch.randn(models, out, generator=generator, dtype=torch.float64)
    conv = Conv(in_channels=channels, out_channels=out, kernel=3, stride=stride, padding=padding, pool=1)
    grouped = F.conv2d(h, weight.flatten(0, 1), bias.reshape(-1), stride, padding, groups=models)
    torch.testing.assert_close(_per_model_conv(h, weight, bias, conv), grouped)


@needs_gpu
def test_a_run_on_the_gpu_trains_the_same_zoo_and_weight_space(tiny_store: graphspace.Store, tmp_path: Path) -> None:
    gpu = graphspace.run(ROOT / "specs/tiny.yaml", tmp_path / "gpu.zarr", device="cuda")
    cpu_rows, gpu_rows = tiny_store.metadata(), gpu.metadata()
    assert gpu_rows["id"].to_list() == cpu_rows["id"].to_list()
    undropped = (cpu_rows["dropout"] == 0).to_numpy()  # dropout masks come from the GPU's own generators
    difference = np.abs(gpu_rows["test_accuracy"].to_numpy() - cpu_rows["test_accuracy"].to_numpy())[undropped]
    assert difference.max() <= 0.01
    assert gpu.learned() and gpu.probed() and gpu.probes().height > 0
    checkpoint = torch.load(gpu.path / "learn" / "main.pt", weights_only=False)  # no map_location needed
    assert all(t.device == CPU for t in checkpoint["model"].values())


@needs_gpu
def test_the_weight_space_trains_on_the_gpu_as_on_the_cpu(tiny_store: graphspace.Store, tmp_path: Path) -> None:
    histories = {}
    for device in ("cpu", "cuda"):
        path = tmp_path / f"{device}.zarr"
        shutil.copytree(tiny_store.path, path)
        for stage in ("learn", "probe", "samples"):
            shutil.rmtree(path / stage, ignore_errors=True)
        store = graphspace.run(ROOT / "specs/tiny.yaml", path, device=device)
        histories[device] = pl.DataFrame(torch.load(path / "learn" / "main.pt", weights_only=False)["state"]["history"])
        assert store.learned()
    np.testing.assert_allclose(histories["cuda"].to_numpy(), histories["cpu"].to_numpy(), rtol=1e-3, atol=1e-5)
