"""Loading the datasets a spec declares."""

from __future__ import annotations

from collections.abc import Sequence

from graphspace.data.dataset import Dataset, RawData
from graphspace.data.derived import derive
from graphspace.data.downloaded import load_downloaded
from graphspace.data.embedded import load_embedded
from graphspace.errors import DatasetError
from graphspace.spec import DatasetSpec, DerivedDataset, DownloadedDataset, EmbeddedDataset


def load_datasets(specs: Sequence[DatasetSpec]) -> dict[str, Dataset]:
    """Load every declared dataset once, in order (derived ones from the already loaded base).

    Args:
        specs: The declared datasets; a derived one must come after its base.

    Returns:
        The datasets by name, in declaration order, each normalized with its own training statistics.

    Raises:
        DatasetError: A dataset cannot be found, downloaded, read or derived, or a name is declared twice.
    """
    raw: dict[str, RawData] = {}
    for spec in specs:
        if spec.name in raw:
            raise DatasetError(f"Dataset '{spec.name}' is declared twice.")
        match spec:
            case EmbeddedDataset():
                raw[spec.name] = load_embedded(spec.name)
            case DownloadedDataset():
                raw[spec.name] = load_downloaded(spec)
            case DerivedDataset() if spec.base in raw:
                raw[spec.name] = derive(raw[spec.base], spec)
            case DerivedDataset():
                raise DatasetError(
                    f"Derived dataset '{spec.name}' has base '{spec.base}', which is not declared before it "
                    f"(declared: {', '.join(raw) or 'none'})."
                )
    return {name: data.normalized(name) for name, data in raw.items()}
