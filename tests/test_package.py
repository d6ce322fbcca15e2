"""The package's layout: every module is reachable under its dotted name."""

from __future__ import annotations

import functools
import importlib
import pkgutil
import sys

import graphspace


def test_no_public_name_hides_a_module_of_the_same_dotted_name() -> None:
    # `import graphspace.a.b as b` looks `a` up as an attribute of graphspace: a function named like a subpackage
    # (as `graphspace.probe` once was) would break it
    names = [m.name for m in pkgutil.walk_packages(graphspace.__path__, "graphspace.")]
    assert "graphspace.probing.supervised" in names
    for name in names:
        importlib.import_module(name)
        assert functools.reduce(getattr, name.split(".")[1:], graphspace) is sys.modules[name], name
