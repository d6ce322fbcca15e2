"""Fetching a dataset's files: used as they are when present, downloaded and checksummed when missing."""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from graphspace.errors import DatasetError


@dataclass(frozen=True)
class RemoteFile:
    """A file of a standard dataset at its canonical address."""

    name: str  # file name inside the dataset's folder
    url: str
    md5: str


def fetch(dataset: str, file: RemoteFile, folder: Path, *, download: bool) -> Path:
    """The path of `file` in `folder`, downloaded there first when missing.

    The download goes to a temporary file that is renamed only once its MD5 checksum matches, so a failed or
    corrupted download leaves nothing behind, not even the folders it made for the file.

    Raises:
        DatasetError: The file is missing and `download` is false, the download fails, or its checksum is wrong.
    """
    path = folder / file.name
    if path.exists():
        return path
    if not download:
        raise DatasetError(
            f"Dataset '{dataset}' needs the file {file.name}, which is not in {folder}, and download is "
            f"false. Fetch it from {file.url} into {folder}, or set download: true."
        )
    made = [p for p in (folder, *folder.parents) if not p.exists()]  # innermost first
    folder.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=folder, prefix=f".{file.name}.", suffix=".part")
    os.close(handle)
    partial = Path(name)
    try:
        digest = _download(file.url, partial)
        if digest != file.md5:
            raise DatasetError(
                f"The download of {file.name} (dataset '{dataset}') from {file.url} has MD5 {digest}, not the "
                f"expected {file.md5}, so it was not saved in {folder}. Try again, or fetch the file yourself "
                f"and put it in {folder}."
            )
        partial.replace(path)
    except (OSError, ValueError, http.client.HTTPException) as error:
        raise DatasetError(
            f"Could not download {file.name} (dataset '{dataset}') from {file.url} into {folder}: {error}. "
            f"Check the network connection, or fetch the file yourself and put it in {folder}."
        ) from error
    finally:
        partial.unlink(missing_ok=True)
        for made_folder in made:
            if any(made_folder.iterdir()):
                break
            made_folder.rmdir()
    return path


def _download(url: str, target: Path) -> str:
    """Copy `url` to `target`; return the MD5 hex digest of what was copied."""
    md5 = hashlib.md5()
    with urllib.request.urlopen(url, timeout=60) as response, target.open("wb") as out:
        while chunk := response.read(1 << 20):
            md5.update(chunk)
            out.write(chunk)
    return md5.hexdigest()
