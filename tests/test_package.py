"""The package's layout: every module is reachable under its dotted name; public names load on first use."""

from __future__ import annotations

import ast
import functools
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import graphspace

ERRORS = ["DatasetError", "GraphError", "GraphspaceError", "SpecError", "StoreError"]


def test_no_public_name_hides_a_module_of_the_same_dotted_name() -> None:
    # `import graphspace.a.b as b` looks `a` up as an attribute of graphspace: a function named like a subpackage
    # (as `graphspace.probe` once was) would break it
    names = [m.name for m in pkgutil.walk_packages(graphspace.__path__, "graphspace.")]
    assert "graphspace.probing.supervised" in names
    for name in names:
        importlib.import_module(name)
        assert functools.reduce(getattr, name.split(".")[1:], graphspace) is sys.modules[name], name


def test_the_public_names_are_the_documented_ones_and_each_is_its_module_s_object() -> None:
    lazy = graphspace._LAZY
    assert sorted(graphspace.__all__) == sorted([*lazy, *ERRORS])
    for name, module in lazy.items():
        assert getattr(graphspace, name) is getattr(importlib.import_module(module), name), name
    assert "run" in dir(graphspace)


def test_the_names_for_type_checkers_are_the_lazily_imported_ones() -> None:
    tree = ast.parse(Path(graphspace.__file__).read_text())
    guarded = next(node for node in tree.body if isinstance(node, ast.If))  # `if TYPE_CHECKING:`
    typed = {alias.name: node.module for node in guarded.body for alias in node.names}
    assert typed == graphspace._LAZY


def test_importing_graphspace_and_asking_the_cli_for_help_leave_torch_unloaded() -> None:
    code = "import sys, graphspace.cli; print(sorted({'torch', 'torch_geometric', 'zarr'} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_python_dash_m_graphspace_is_the_command_line() -> None:
    shown = subprocess.run([sys.executable, "-m", "graphspace", "--help"], capture_output=True, text=True, check=True)
    assert shown.stdout.startswith("Usage: graphspace [OPTIONS] COMMAND") and "spec-reference" in shown.stdout
