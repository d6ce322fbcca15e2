"""The command line: run, info, spec, help text, and errors for stores and data that do not fit."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import graphspace
from graphspace.cli import main
from tests.conftest import SPECS


def test_run_then_info_on_the_tiny_spec(tmp_path: Path) -> None:
    store = tmp_path / "tiny.zarr"
    runner = CliRunner()
    result = runner.invoke(main, ["run", str(SPECS / "tiny.yaml"), "--store", str(store)])
    assert result.exit_code == 0, result.output
    assert "zoo of tiny" in result.output and "digits" in result.output
    result = runner.invoke(main, ["info", str(store)])
    assert result.exit_code == 0, result.output
    assert "8 of 8 models, 32 of 32 rows" in result.output
    assert "32 of 32 rows have their canonical graph" in result.output
    for hyperparameter in ("init", "activation", "dropout", "weight_decay", "lr"):
        assert f"test accuracy by {hyperparameter}" in result.output


def test_info_without_a_store_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["info"])
    assert result.exit_code == 2 and "No store under store/" in result.output


def test_rerun_with_a_changed_spec_is_refused_unless_fresh(tmp_path: Path) -> None:
    store = tmp_path / "tiny.zarr"
    changed = tmp_path / "tiny.yaml"
    changed.write_text((SPECS / "tiny.yaml").read_text().replace("size: 8", "size: 4"))
    runner = CliRunner()
    assert runner.invoke(main, ["run", str(SPECS / "tiny.yaml"), "--store", str(store), "--quiet"]).exit_code == 0
    result = runner.invoke(main, ["run", str(changed), "--store", str(store), "--quiet"])
    assert result.exit_code == 2 and "different spec" in result.output and "zoo" in result.output
    assert graphspace.open_store(store).metadata()["model"].n_unique() == 8
    result = runner.invoke(main, ["run", str(changed), "--store", str(store), "--quiet", "--fresh"])
    assert result.exit_code == 0
    assert graphspace.open_store(store).metadata()["model"].n_unique() == 4


def test_a_cnn_on_vector_data_is_a_spec_error_before_any_store(tmp_path: Path) -> None:
    spec = tmp_path / "cnn1d.yaml"
    spec.write_text("name: cnn1d\ndatasets: [{name: mnist1d}]\nzoo: {architecture: {kind: cnn}, size: 2}\n")
    result = CliRunner().invoke(main, ["run", str(spec), "--store", str(tmp_path / "s.zarr")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "cnn1d.yaml" in result.output and "zoo.architecture" in result.output and "kind: mlp" in result.output
    assert not (tmp_path / "s.zarr").exists()


def test_missing_dataset_files_are_named_before_any_store(tmp_path: Path) -> None:
    spec = tmp_path / "fashion.yaml"
    spec.write_text(
        f"name: f\ndatasets: [{{name: fashion_mnist, source: download, root: {tmp_path / 'data'}, download: false}}]\n"
    )
    result = CliRunner().invoke(main, ["run", str(spec), "--store", str(tmp_path / "s.zarr")])
    assert result.exit_code == 2 and "fashion_mnist" in result.output and "train-images-idx3-ubyte" in result.output
    assert not (tmp_path / "s.zarr").exists()


@pytest.mark.parametrize("command", [[], ["run"], ["info"], ["spec"], ["spec-reference"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output and len(result.output.splitlines()) > 3


def test_spec_reference_in_docs_is_current() -> None:
    generated = CliRunner().invoke(main, ["spec-reference"]).output
    assert (SPECS.parent / "docs" / "spec.md").read_text() == generated
