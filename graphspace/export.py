"""Models as files: safetensors weights plus a JSON of the architecture, read back by `load_model`."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

import polars as pl
from safetensors.torch import load_file, save_file
from torch import nn

from graphspace.errors import StoreError
from graphspace.store import Store, blueprint_from_dict
from graphspace.zoo.architecture import Blueprint


def save_model(
    model: nn.Module, blueprint: Blueprint, activation: str, path: str | Path, info: dict | None = None
) -> Path:
    """Write `path`.safetensors (the state dict) and `path`.json (blueprint, activation, and `info`); returns the
    safetensors path."""
    weights, description_path = _files(path)
    output_folder(weights.parent)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(weights))
    description = {"blueprint": dataclasses.asdict(blueprint), "activation": activation, **(info or {})}
    description_path.write_text(json.dumps(description, indent=2))
    return weights


def load_model(path: str | Path) -> nn.Module:
    """The runnable model (eval mode) saved by `save_model` (give the .safetensors or the .json path)."""
    weights, description_path = _files(path)
    if not description_path.is_file() or not weights.is_file():
        raise StoreError(f"load_model: {weights} and its architecture file {description_path} must both exist.")
    description = json.loads(description_path.read_text())
    model = blueprint_from_dict(description["blueprint"]).build(description["activation"], 0.0)
    model.load_state_dict(load_file(str(weights)))
    return model.eval()


def export_models(store: Store, ids: Sequence[int], out: str | Path) -> list[Path]:
    """Save checkpoints `ids` of a store as `out/model_<id>.safetensors` plus `.json` (architecture, activation
    and the checkpoint's metadata row); returns the safetensors paths. Every id is checked before anything is
    written."""
    store.check_ids(ids)
    output_folder(out)
    rows = store.metadata().filter(pl.col("id").is_in(list(ids))).iter_rows(named=True)
    return [
        save_model(
            store.model(row["id"]),
            store.blueprint(row["architecture"]),
            row["activation"],
            Path(out) / f"model_{row['id']}",
            row,
        )
        for row in rows
    ]


def output_folder(out: str | Path) -> Path:
    """`out`, created if missing, as a folder for model files; a StoreError saying why when it cannot be one."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise StoreError(f"Cannot write model files into {out}: it is a file; give a folder path.")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:  # a file in the way, no permission
        raise StoreError(f"Cannot write model files into {out}: {error.strerror}; give a folder path.") from None
    return out


def _files(path: str | Path) -> tuple[Path, Path]:
    """The .safetensors and .json paths of a model saved as `path` (with or without either suffix; any other dot
    in the name is part of it)."""
    path = Path(path)
    if path.suffix in (".safetensors", ".json"):
        path = path.with_suffix("")
    return path.parent / f"{path.name}.safetensors", path.parent / f"{path.name}.json"
