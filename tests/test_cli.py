"""The command line: run, info, spec, help text, and errors for stores and data that do not fit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import graphspace
from graphspace.cli import main
from graphspace.report import sections
from tests.conftest import SPECS


def test_run_then_info_on_the_tiny_spec(tmp_path: Path) -> None:
    store = tmp_path / "tiny.zarr"
    runner = CliRunner()
    result = runner.invoke(main, ["run", str(SPECS / "tiny.yaml"), "--store", str(store)])
    assert result.exit_code == 0, result.output
    assert "zoo by dataset" in result.output and "digits" in result.output
    assert f"report: {tmp_path / 'tiny.report' / 'report.md'}" in result.output
    log = result.stderr.splitlines()  # not a terminal: progress comes as plain lines
    assert log[0] == "zoo: 0/8 models, 0 s" and "graphs: 32/32 checkpoints" in result.stderr
    assert any(line.startswith("learn main: ") and "steps" in line for line in log)
    result = runner.invoke(main, ["info", str(store)])
    assert result.exit_code == 0, result.output
    assert "8 of 8 models, 32 of 32 rows" in result.output
    assert "32 of 32 rows have their canonical graph" in result.output
    for hyperparameter in ("init", "activation", "dropout", "weight_decay", "lr"):
        assert f"test accuracy by {hyperparameter}" in result.output
    assert "recipe_gbt" in result.output and "None" not in result.output  # cells without a fit are blank


def test_info_json_holds_the_counts_and_every_table_of_the_store(tiny_store: graphspace.Store) -> None:
    result = CliRunner().invoke(main, ["info", str(tiny_store.path), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["models"], summary["rows"], summary["graphed_rows"]) == (8, 32, 32)
    assert summary["stages"] == ["learn", "probe", "sample"]
    assert set(summary["tables"]) == {s.key for s in sections(tiny_store)}
    probes = tiny_store.probes()
    assert [row["target"] for row in summary["tables"]["probes"]] == probes["target"].to_list()
    shown = [row["embedding_linear"] for row in summary["tables"]["probes"]]
    expected = probes["embedding_linear"].fill_nan(None).to_list()
    assert shown == expected  # NaN (an undefined tau) becomes null: the output is strict JSON


def test_report_command_regenerates_the_report(tiny_store: graphspace.Store, tmp_path: Path) -> None:
    store = shutil.copytree(tiny_store.path, tmp_path / "tiny.zarr")
    result = CliRunner().invoke(main, ["report", str(store), "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(tmp_path / "tiny.report" / "report.md")
    assert "## Sampling models for a target" in (tmp_path / "tiny.report" / "report.md").read_text()


def test_export_saves_checkpoints_that_load_back_as_the_same_models(
    tiny_store: graphspace.Store, tmp_path: Path
) -> None:
    result = CliRunner().invoke(main, ["export", str(tiny_store.path), "--ids", "3,10-11", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    inputs = torch.randn(5, 1, 8, 8)
    for i in (3, 10, 11):
        model = graphspace.load_model(tmp_path / f"model_{i}.safetensors")
        torch.testing.assert_close(model(inputs), tiny_store.model(i)(inputs))
        saved = json.loads((tmp_path / f"model_{i}.json").read_text())
        assert saved["id"] == i and saved["test_accuracy"] == tiny_store.metadata()["test_accuracy"][i]


def test_export_into_a_file_or_with_dots_in_a_model_s_name(tiny_store: graphspace.Store, tmp_path: Path) -> None:
    taken = tmp_path / "models"
    taken.write_text("mine")
    result = CliRunner().invoke(main, ["export", str(tiny_store.path), "--ids", "3", "--out", str(taken)])
    assert result.exit_code == 2 and "it is a file; give a folder path" in result.output
    assert "Traceback" not in result.output and taken.read_text() == "mine"
    blueprint = tiny_store.blueprint(tiny_store.metadata()["architecture"][3])
    saved = graphspace.save_model(tiny_store.model(3), blueprint, "relu", tmp_path / "run_v1.2")  # not a suffix
    assert saved.name == "run_v1.2.safetensors" and (tmp_path / "run_v1.2.json").is_file()
    assert isinstance(graphspace.load_model(tmp_path / "run_v1.2.json"), torch.nn.Sequential)


@pytest.mark.parametrize(
    ("ids", "message"),
    [("3,999", "no checkpoint with id 999; its ids are 0..31"), ("3-a", "comma-separated"), ("5-2", "runs backwards")],
)
def test_export_of_unknown_ids_writes_nothing(
    tiny_store: graphspace.Store, tmp_path: Path, ids: str, message: str
) -> None:
    out = tmp_path / "models"
    result = CliRunner().invoke(main, ["export", str(tiny_store.path), "--ids", ids, "--out", str(out)])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.parametrize("fresh", [[], ["--fresh"]])
def test_a_run_into_a_folder_that_is_not_a_store_leaves_it_alone(tmp_path: Path, fresh: list[str]) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    result = CliRunner().invoke(main, ["run", str(SPECS / "tiny.yaml"), "--store", str(folder), "--quiet", *fresh])
    assert result.exit_code == 2 and "is not a graphspace store" in result.output and "Traceback" not in result.output
    assert [p.name for p in folder.iterdir()] == ["notes.txt"] and (folder / "notes.txt").read_text() == "mine"


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
