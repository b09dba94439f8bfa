"""Output files: check where they go before work starts, write them atomically.

Standard library only, so the CLI, the engine child and the napari side can all
use it. Every file the plugin writes for the user (predictions, metrics, ...)
goes through :func:`atomic_output`: it is written under a hidden temporary
name in the target's own folder and renamed onto the target only once it is
complete, so a full disk or a crash never leaves a truncated file behind
(nor one that blocks a retry with "exists already").
"""

from __future__ import annotations

import errno
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class OutputError(Exception):
    """An output file or folder cannot be written; the message says why in plain words.

    Deliberately not a ``ValueError``/``OSError``: callers that swallow those
    (napari's writer lookup) must not hide it.
    """


_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EFBIG: "the file is larger than this disk or a file-size limit allows",
    errno.EROFS: "the disk is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOTDIR: "part of the path is a file, not a folder",
    errno.ENOENT: "the folder does not exist",
    errno.EISDIR: "it is a folder",
}


def write_errno(exc: BaseException) -> int | None:
    """The ``errno`` behind a failed write, also when a library wrapped it.

    HDF5 (h5py, so every ``.slp``) reports a full disk on flush as a
    ``RuntimeError`` whose text holds ``errno = 28``.
    """
    seen = 0
    while exc is not None and seen < 8:
        code = getattr(exc, "errno", None)
        if isinstance(code, int):
            return code
        found = re.search(r"errno = (\d+)", str(exc))
        if found:
            return int(found.group(1))
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


def describe_os_error(exc: BaseException) -> str:
    """Plain words for why a write failed (``"the disk is full"``, ...)."""
    code = write_errno(exc)
    if code in _REASONS:
        return _REASONS[code]
    text = getattr(exc, "strerror", None) or str(exc)
    return text or type(exc).__name__


def _existing_ancestor(folder: Path) -> Path:
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _check_not_a_file(folder: Path) -> None:
    """Raise when ``folder`` or the closest existing folder above it is a file."""
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder} is a file, not a folder.")
    base = _existing_ancestor(folder)
    if not base.is_dir():
        raise OutputError(f"{folder} cannot be created: {base} is a file, not a folder.")


def check_output_folder(folder: str | Path) -> Path:
    """Make sure files can be created in ``folder`` (or where it would be created).

    Nothing is left behind: a missing folder is not created; the closest
    existing folder above it is probed with a temporary file instead (a
    permission check alone misses read-only disks and is always true for root).

    Returns
    -------
    Path
        ``folder``, absolute.

    Raises
    ------
    OutputError
        The folder is a file, lies under a file, or cannot be written.
    """
    folder = Path(folder).expanduser().absolute()
    _check_not_a_file(folder)
    base = _existing_ancestor(folder)
    probe = base / f".napari-sleap-train-write-test.{uuid.uuid4().hex[:8]}"
    try:
        probe.touch(exist_ok=False)
    except OSError as exc:
        raise OutputError(f"Cannot write into {base}: {describe_os_error(exc)}.") from exc
    else:
        probe.unlink()
    return folder


def check_output_file(path: str | Path, overwrite: bool = False) -> Path:
    """Check that ``path`` can be written before any work starts.

    Parameters
    ----------
    path
        The file to write.
    overwrite
        Whether an existing file may be replaced.

    Returns
    -------
    Path
        ``path``, absolute.

    Raises
    ------
    OutputError
        ``path`` is a folder, exists (and ``overwrite`` is False), or its folder
        cannot be written.
    """
    path = Path(path).expanduser().absolute()
    if path.is_dir():
        raise OutputError(f"{path} is a folder; give a file name.")
    if path.exists() and not overwrite:
        raise OutputError(f"{path} exists already; choose a new file name.")
    check_output_folder(path.parent)
    return path


def temporary_name(path: Path) -> Path:
    """Hidden name next to ``path`` with the same suffix (``.out.slp.1a2b3c4d.tmp.slp``)."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp{path.suffix}")


@contextmanager
def atomic_output(path: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write; on success it becomes ``path``.

    The temporary file is in ``path``'s folder (created if needed), so the final
    rename is atomic. If the body raises, the temporary file is removed and
    ``path`` is untouched.

    Parameters
    ----------
    path
        The final file.
    overwrite
        Whether an existing ``path`` may be replaced. Without it, a file that
        appeared meanwhile is never replaced.

    Raises
    ------
    OutputError
        Writing or renaming failed for a reason of the disk (an ``OSError``, or
        a library error that carries an ``errno``: full, read-only, ...), or
        ``path`` exists and ``overwrite`` is False. Other exceptions from the
        body pass through unchanged (after the clean-up).
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputError(f"{path} exists already; choose a new file name.")
    _check_not_a_file(path.parent.absolute())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"Could not create the folder {path.parent}: {describe_os_error(exc)}.") from exc
    tmp = temporary_name(path)
    try:
        yield tmp
        _fsync(tmp)
        _publish(tmp, path, overwrite)
    except OutputError:
        raise
    except Exception as exc:
        if not isinstance(exc, OSError) and write_errno(exc) is None:
            raise  # not the disk: the caller's own error
        raise OutputError(f"Could not write {path}: {describe_os_error(exc)}. Nothing was written.") from exc
    finally:
        try:
            tmp.unlink()
        except OSError:  # gone already, or best effort: the real error is on its way
            pass


def _fsync(path: Path) -> None:
    """Flush the file to the disk, so a rename never publishes data still in a cache."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(tmp: Path, path: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)  # fails if path exists: never replaces a file that appeared meanwhile
    except FileExistsError:
        raise OutputError(f"{path} exists already; choose a new file name.") from None
    except OSError:  # no hard links on this file system (e.g. FAT, some network disks)
        if path.exists():
            raise OutputError(f"{path} exists already; choose a new file name.") from None
        os.replace(tmp, path)


def write_text(path: str | Path, text: str, overwrite: bool = True) -> Path:
    """Write a text file atomically (see :func:`atomic_output`); returns ``path``."""
    path = Path(path)
    with atomic_output(path, overwrite=overwrite) as tmp:
        tmp.write_text(text)
    return path


__all__ = [
    "OutputError",
    "atomic_output",
    "check_output_file",
    "check_output_folder",
    "describe_os_error",
    "temporary_name",
    "write_errno",
    "write_text",
]
