"""Finding dataset files on disk and downloading them when they are missing.

Search order for a dataset ``name``: ``$CLASSICNETS_DATA/<name>``, ``~/.cache/classicnets/<name>``,
then any extra system folders the dataset names (Debian's ``/usr/share/datasets/fashion-mnist``).
A folder the user names (``--data-dir DIR``) replaces that search: ``DIR`` and ``DIR/<name>``
only, so a run never reads its data from somewhere else than it was told. A directory counts
only if it holds every required file. Downloads go to ``DIR/<name>`` or the cache directory,
check the md5 and are written atomically (``.part`` then rename), so an interrupted download
never leaves a bad file.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import CorruptFileError, DatasetNotFoundError


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: its name, md5 and the official URLs to fetch it from."""

    filename: str
    md5: str
    urls: tuple[str, ...]


def cache_dir() -> Path:
    """Where downloaded and decoded datasets live (``$CLASSICNETS_CACHE`` or
    ``~/.cache/classicnets``)."""
    return Path(os.environ.get("CLASSICNETS_CACHE", Path.home() / ".cache" / "classicnets"))


def candidate_dirs(
    name: str, root: str | os.PathLike | None = None, extra: Sequence[str] = ()
) -> list[Path]:
    """The folders searched for dataset ``name``, in order (only ``root`` when given)."""
    if root is not None:
        root = Path(root).expanduser()
        return [root, root / name]
    dirs: list[Path] = []
    env = os.environ.get("CLASSICNETS_DATA")
    if env:
        dirs.append(Path(env).expanduser() / name)
    dirs.append(cache_dir() / name)
    dirs += [Path(p) for p in extra]
    return dirs


def download_dir(name: str, root: str | os.PathLike | None = None) -> Path:
    """Where a missing dataset is downloaded to: ``root/<name>``, else the cache."""
    return Path(root).expanduser() / name if root is not None else cache_dir() / name


def md5sum(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def find_files(
    name: str,
    files: Sequence[RemoteFile],
    root: str | os.PathLike | None = None,
    extra: Sequence[str] = (),
    download: bool = True,
) -> dict[str, Path]:
    """Locate every file of a dataset, downloading into the cache when none of the folders
    has them all.

    Returns:
        A mapping from each file name to its path.

    Raises:
        DatasetNotFoundError: the files are nowhere and could not be downloaded; the message
            names the folders searched, the files needed and ``--data-dir``.
    """
    searched = candidate_dirs(name, root, extra)
    for folder in searched:
        if all((folder / f.filename).is_file() for f in files):
            return {f.filename: folder / f.filename for f in files}
    if download:
        target = download_dir(name, root)
        failure = None
        try:
            return {f.filename: fetch(f, target) for f in files}
        except (urllib.error.URLError, OSError, TimeoutError) as err:
            failure = getattr(err, "reason", err)
        where = ", ".join(str(d) for d in dict.fromkeys(searched))
        needed = ", ".join(f.filename for f in files)
        raise DatasetNotFoundError(
            f"Dataset '{name}' was not found and could not be downloaded ({failure}); looked in "
            f"{where} for {needed}; put these files in a folder and pass it with --data-dir "
            f"(or set CLASSICNETS_DATA)."
        )
    raise DatasetNotFoundError(f"Dataset '{name}' was not found in {searched}.")


def fetch(remote: RemoteFile, folder: Path, timeout: float = 20.0) -> Path:
    """Download ``remote`` into ``folder`` (trying each official URL), check its md5, and
    move it into place atomically. Resumes a partial ``.part`` file when the server allows."""
    from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

    final = folder / remote.filename
    if final.is_file() and md5sum(final) == remote.md5:
        return final
    part = final.with_name(final.name + ".part")
    last_error: BaseException | None = None
    for url in remote.urls:
        try:
            have = part.stat().st_size if part.exists() else 0
            request = urllib.request.Request(
                url, headers={"Range": f"bytes={have}-"} if have else {}
            )
            with urllib.request.urlopen(request, timeout=timeout) as response:
                folder.mkdir(parents=True, exist_ok=True)  # only once the server answers
                resumed = response.status == 206
                total = int(response.headers.get("Content-Length") or 0) + (have if resumed else 0)
                with (
                    open(part, "ab" if resumed else "wb") as out,
                    Progress(
                        *Progress.get_default_columns(),
                        DownloadColumn(),
                        TransferSpeedColumn(),
                        transient=True,
                    ) as progress,
                ):
                    task = progress.add_task(
                        remote.filename, total=total or None, completed=have if resumed else 0
                    )
                    while block := response.read(1 << 16):
                        out.write(block)
                        progress.advance(task, len(block))
            actual = md5sum(part)
            if actual != remote.md5:
                part.unlink()
                raise CorruptFileError(
                    f"Downloaded {remote.filename} from {url} has md5 {actual}, expected "
                    f"{remote.md5}; the file was discarded, try again later."
                )
            os.replace(part, final)
            return final
        except (urllib.error.URLError, OSError, TimeoutError) as err:
            last_error = err
    assert last_error is not None
    raise last_error
