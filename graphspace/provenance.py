"""What a stage ran with: package versions, threads, BLAS, device and machine, recorded with everything the store
commits, so that a figure that differs between two stores can be traced to what differed between their runs (the
same seeds give the same zoo only with the same packages on the same kind of CPU)."""

from __future__ import annotations

import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import polars as pl
import torch
from threadpoolctl import threadpool_info

PACKAGES = ("graphspace", "torch", "torch_geometric", "numpy", "scipy", "scikit-learn", "polars", "zarr", "pydantic")
# Fields that say where a commit ran rather than with what: two stages of one run differ in them by design.
PLACEMENT = ("device",)


def environment(device: torch.device) -> dict[str, str]:
    """The environment of this process for work on `device`: Python and package versions, torch's CPU threads,
    the BLAS libraries of numpy and scipy (version, CPU kernel, threads), the device (with the GPU's name), the CPU,
    the CPUs this process may use, and the platform. Every value is a string."""
    found = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    found["torch threads"] = str(torch.get_num_threads())
    found |= blas_libraries()
    found["device"] = f"cuda ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else device.type
    found["cpu"] = _cpu_name()
    found["cpus"] = str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())
    found["platform"] = platform.platform()
    return found


def blas_libraries() -> dict[str, str]:
    """Each BLAS library loaded in this process, numpy's and scipy's at least, by the package that ships it
    ("blas (numpy)": its name, version, CPU kernel and threads)."""
    import scipy.linalg  # noqa: F401  (loads scipy's own BLAS, so that the record does not depend on import order)

    found = {}
    for lib in threadpool_info():
        if lib["user_api"] == "blas":
            folders = Path(lib["filepath"]).parts[:-1]  # .../numpy.libs/x.so -> numpy; .../torch/lib/x.so -> torch
            owner = next(f.removesuffix(".libs") for f in reversed(folders) if f not in ("lib", "lib64"))
            kernel = lib.get("architecture") or "unknown kernel"
            threads = lib["num_threads"]
            found[f"blas ({owner})"] = f"{lib['internal_api']} {lib['version']} ({kernel}, {threads} threads)"
    return dict(sorted(found.items()))


def _cpu_name() -> str:
    """The CPU's model name (Linux: /proc/cpuinfo), else what `platform` knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or platform.machine()


def environment_table(recorded: pl.DataFrame, current: dict[str, str]) -> pl.DataFrame:
    """The environments a store's commits were made in, beside `current`: one row per field, one column per
    distinct environment, named by the stages that committed in it ("zoo, graphs, learn", or "zoo (populations 0-3)"
    when only some populations were), and `this process` last.

    Args:
        recorded: `Store.environments()`: one row per commit (stage, population, then one column per field).
    """
    fields = list(dict.fromkeys([*current, *recorded.columns[2:]]))
    recorded = recorded.with_columns(pl.lit(None, pl.String).alias(f) for f in fields if f not in recorded.columns)
    populations = dict(recorded.group_by("stage").agg(pl.col("population").drop_nulls().n_unique()).iter_rows())
    columns: dict[str, list[str | None]] = {"field": fields}
    for row in recorded.group_by(fields, maintain_order=True).agg("stage", "population").iter_rows(named=True):
        columns[_stages_label(row["stage"], row["population"], populations)] = [row[f] for f in fields]
    columns["this process"] = [current.get(f) for f in fields]
    return pl.DataFrame(columns)


def _stages_label(stages: list[str], populations: list[int | None], totals: dict[str, int]) -> str:
    """The stages of one environment's commits, in order: "zoo, graphs", or "zoo (populations 0-3)" for a stage
    of which only some populations (of `totals[stage]`) were committed in it."""
    labels = []
    for stage in dict.fromkeys(stages):
        mine = sorted({p for s, p in zip(stages, populations, strict=True) if s == stage and p is not None})
        if mine and len(mine) < totals[stage]:
            stage += f" (population {mine[0]})" if len(mine) == 1 else f" (populations {_ranges(mine)})"
        labels.append(stage)
    return ", ".join(labels)


def differences(recorded: pl.DataFrame, current: dict[str, str]) -> list[str]:
    """What differs between `current` and the environments the store's commits were made in, one "field: here
    (store: values)" line per field, placement fields (the device) left out."""
    lines = []
    for field, here in current.items():
        if field in PLACEMENT or field not in recorded.columns:
            continue
        stored = sorted(set(recorded[field].drop_nulls()) - {here})
        if stored:
            lines.append(f"{field}: {here} (store: {', '.join(stored)})")
    return lines


def _ranges(numbers: list[int]) -> str:
    """[0, 1, 2, 5] as "0-2, 5"."""
    spans: list[list[int]] = []
    for n in sorted(numbers):
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)
