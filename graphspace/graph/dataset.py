"""A torch-geometric `Dataset` view of a store's graphs that reads each graph from disk when asked for it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import polars as pl
import torch
from torch_geometric.data import Data, Dataset

from graphspace.errors import StoreError

if TYPE_CHECKING:
    from graphspace.store import Store


class GraphDataset(Dataset):
    """The graphs of a store's checkpoints, streamed from disk: only the chosen metadata columns are held in
    memory, so memory stays flat however large the zoo is.

    Each item is `store.graph(id)` with `y`, a (1, len(targets)) float tensor of the metadata columns named in
    `targets`. A string column (e.g. `init`) becomes the index of its value in `categories[column]`, the
    column's sorted distinct values.

    Args:
        store: the store to read.
        ids: the checkpoints, in order (default: every one).
        targets: metadata columns that make up `y` (one column may be named alone).
        transform: applied to each graph as it is read (torch-geometric's convention).

    Example:
        >>> loader = torch_geometric.loader.DataLoader(GraphDataset(store, targets=["test_accuracy"]), 32)
    """

    def __init__(
        self,
        store: Store,
        ids: Sequence[int] | None = None,
        targets: str | Sequence[str] = ("test_accuracy",),
        transform: Callable[[Data], Data] | None = None,
    ) -> None:
        super().__init__(root=None, transform=transform)
        targets = [targets] if isinstance(targets, str) else list(targets)
        metadata = store.metadata()
        unknown = [name for name in targets if name not in metadata.columns]
        if unknown:
            raise StoreError(
                f"GraphDataset: {', '.join(unknown)} is not a metadata column of store {store.path}; "
                f"columns: {', '.join(metadata.columns)}."
            )
        self.store = store
        self.ids = list(ids) if ids is not None else metadata["id"].to_list()
        store.check_ids(self.ids)
        frame = metadata[self.ids].select(targets) if self.ids else metadata.clear().select(targets)
        self.categories: dict[str, list[str]] = {}
        columns = []
        for name in targets:
            column = frame[name]
            if column.dtype == pl.String:
                self.categories[name] = sorted(metadata[name].drop_nulls().unique().to_list())
                column = column.cast(pl.Enum(self.categories[name])).to_physical()
            columns.append(column.cast(pl.Float32).fill_null(float("nan")).to_torch())
        self.targets = targets
        self.y = torch.stack(columns, dim=1) if columns else torch.zeros(len(self.ids), 0)  # (len, targets)

    def len(self) -> int:
        """Number of graphs."""
        return len(self.ids)

    def get(self, idx: int) -> Data:
        """The graph of the idx-th checkpoint, read from the store, with its targets as `y`."""
        data = self.store.graph(self.ids[idx])
        data.y = self.y[idx][None]
        return data
