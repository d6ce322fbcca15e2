"""The command line of the benchmarks that read a store: `[STORE] [NAME ...]`, with `--help` from the script's
docstring and a one-line error (not a traceback) for a store that is not there or a name that is not allowed."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Collection

import graphspace
from graphspace.errors import GraphspaceError


def store_and_names(
    doc: str | None, names: str | None = None, allowed: Callable[[graphspace.Store], Collection[str]] | None = None
) -> tuple[graphspace.Store, list[str]]:
    """The store named on the command line (default store/mnist.zarr) and, when the script takes `names` (their
    help text), the names after it, each one of `allowed(store)`."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "store", nargs="?", default="store/mnist.zarr", metavar="STORE", help="the store (default: store/mnist.zarr)"
    )
    if names:
        parser.add_argument("names", nargs="*", metavar="NAME", help=names)
    arguments = parser.parse_args()
    try:
        store = graphspace.open_store(arguments.store)
    except GraphspaceError as error:
        parser.error(str(error))
    given = getattr(arguments, "names", [])
    if allowed is not None and (unknown := [n for n in given if n not in allowed(store)]):
        parser.error(f"unknown {', '.join(unknown)}; allowed: {', '.join(allowed(store))}")
    return store, given
