"""Shared fixtures: the tiny spec, and one store made from it for the whole session."""

from __future__ import annotations

from pathlib import Path

import pytest

import graphspace

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory: pytest.TempPathFactory) -> graphspace.Store:
    """The store of a full run of specs/tiny.yaml."""
    path = tmp_path_factory.mktemp("stores") / "tiny.zarr"
    return graphspace.run(SPECS / "tiny.yaml", path, device="cpu")  # a spec file's path does for a Spec
