"""The README's examples run as written: its `graphspace` commands, then its Python blocks in order, in a folder
laid out like a checkout (specs/, store/tiny.zarr)."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import graphspace
from graphspace.cli import main
from tests.conftest import ROOT, SPECS

README = (ROOT / "README.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, flags=re.S | re.M)


def commands() -> list[str]:
    """The `graphspace` lines of the README's shell blocks, except the install commands."""
    lines = [
        line.split("  #")[0].strip()
        for block in blocks("bash")
        if "pip install" not in block
        for line in block.splitlines()
    ]
    return [line for line in lines if line]


@pytest.fixture
def checkout(tiny_store: graphspace.Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with the specs and a finished run of the tiny spec, as after the README's first command."""
    shutil.copytree(SPECS, tmp_path / "specs")
    shutil.copytree(tiny_store.path, tmp_path / "store" / "tiny.zarr")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_readme_has_examples_of_each_command() -> None:
    verbs = {shlex.split(line)[1] for line in commands()}
    assert {"run", "info", "report", "query", "export", "spec"} <= verbs


def test_the_readme_commands_run_as_written(checkout: Path) -> None:
    runner = CliRunner()
    for line in commands():
        program, *arguments = shlex.split(line)
        assert program == "graphspace", line
        result = runner.invoke(main, arguments)
        assert result.exit_code == 0, f"{line}\n{result.output}"
    assert (checkout / "store" / "tiny.report" / "report.md").is_file()
    assert len(list((checkout / "samples").glob("*.safetensors"))) == 4
    assert sorted(p.name for p in (checkout / "models").glob("*.safetensors")) == [
        f"model_{i}.safetensors" for i in (0, 4, 5, 6)
    ]


def test_the_readme_python_runs_as_written(checkout: Path) -> None:
    namespace: dict = {}
    for k, block in enumerate(blocks("python")):
        exec(compile(block, f"README.md python block {k}", "exec"), namespace)
    assert namespace["report"].resolve() == (checkout / "store" / "tiny.report" / "report.md").resolve()


def test_the_readme_shows_the_default_spec_as_it_is() -> None:
    shown = [yaml.safe_load(block) for block in blocks("yaml")]
    assert yaml.safe_load((SPECS / "mnist.yaml").read_text()) in shown
