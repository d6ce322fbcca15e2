"""The command line of the benchmarks that read a store: `[STORE] [NAME ...]`, with `--help` from the script's
docstring and a one-line error (not a traceback) for a store that is not there or a name that is not allowed."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Collection

import graphspace
from graphspace.errors import GraphspaceError
from graphspace.probing.targets import probe_targets


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
    if allowed is not None:
        choices = allowed(store)
        if unknown := [n for n in given if n not in choices]:
            parser.error(f"unknown {', '.join(unknown)}; allowed: {', '.join(choices)}")
    return store, given


def probe_target_names(store: graphspace.Store) -> list[str]:
    """The probe targets of the store's spec, by name: the names the probe benchmarks take."""
    return [t.name for t in probe_targets(store.spec)]
