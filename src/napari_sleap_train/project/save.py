"""Write labels to a ``.slp`` atomically, never leaving a partial file or a broken HDF5 handle.

HDF5 does not survive running out of space in the middle of a file: when a write
fails while h5py creates or closes the file, the library keeps a half-closed file
that crashes the process at exit (a segfault, exit code 139), and the error
napari shows is a chain of HDF5 messages. So the file is first written by
sleap-io into a staging folder in memory-backed temp space (``/dev/shm`` when it
has room, else the system temp folder), then copied with plain Python I/O to a
temporary name beside the target, flushed to disk and renamed over it. A full or
read-only disk then fails in the copy, as a plain :class:`OSError` with the
reason, and leaves neither a partial file nor an HDF5 handle behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

import sleap_io as sio

from napari_sleap_train.outputs import describe_os_error, write_errno
from napari_sleap_train.project.errors import SleapFileError

#: Free space a memory-backed staging folder must have to be used.
STAGING_MIN_FREE = 1024**3


def staging_dir() -> Path:
    """Where sleap-io writes before the copy: ``/dev/shm`` with room to spare, else the temp folder."""
    shm = Path("/dev/shm")
    try:
        if shm.is_dir() and os.access(shm, os.W_OK) and shutil.disk_usage(shm).free > STAGING_MIN_FREE:
            return shm
    except OSError:
        pass
    return Path(tempfile.gettempdir())


def check_target(target: Path, overwrite: bool) -> None:
    """Refuse, in plain words, a target that cannot or must not be written."""
    if not target.name.lower().endswith(".slp"):
        raise SleapFileError(f"SLEAP projects are saved as .slp files; got {target.name}.")
    if target.exists() and not overwrite:
        raise SleapFileError(f"{target} already exists; choose a new file name.")
    if not target.parent.is_dir():
        raise SleapFileError(f"The folder {target.parent} does not exist.")


def _reason(exc: BaseException) -> str:
    """The cause in plain words, on one line (HDF5's messages span several, with buffer addresses)."""
    detail = " ".join(str(getattr(exc, "strerror", None) or exc).split())
    if len(detail) > 160:
        detail = detail[:157] + "..."
    if write_errno(exc) is not None:
        return f"{describe_os_error(exc)} ({detail})"
    return f"{type(exc).__name__}: {detail}"


def write_labels(
    labels: sio.Labels,
    target: Path,
    embed: list[tuple[sio.Video, int]] | bool,
    progress: Callable[[int, int, str], None] | None = None,
) -> Path:
    """Write ``labels`` to ``target`` (already checked with :func:`check_target`), atomically.

    ``progress(done, total, phase)`` hears of the frames being embedded (the long part of
    saving a ``.pkg.slp``).

    Raises
    ------
    SleapFileError
        Writing failed; the message says why (full disk, read-only folder, ...).
        ``target`` is unchanged and no temporary file is left.
    """
    tag = uuid.uuid4().hex[:8]
    staged = staging_dir() / f"napari-sleap-train-{tag}-{target.name}"
    tmp = target.with_name(f".{target.name}.{tag}.tmp.slp")
    try:
        try:
            callback = None
            if progress is not None:

                def callback(done: int, total: int, phase: str) -> bool:
                    progress(done, total, phase)
                    return True  # go on

            labels.save(staged.as_posix(), embed=embed, verbose=False, progress_callback=callback)
        except Exception as exc:  # sleap-io / h5py raise many kinds
            raise SleapFileError(f"Saving {target.name} failed while writing it: {_reason(exc)}") from exc
        try:
            with open(staged, "rb") as src, open(tmp, "xb") as dst:
                shutil.copyfileobj(src, dst, 4 * 1024**2)
                dst.flush()
                os.fsync(dst.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            raise SleapFileError(
                f"Saving {target.name} in {target.parent} failed: {_reason(exc)}. "
                "Nothing was written there; choose another folder or free some space."
            ) from exc
    finally:
        for leftover in (staged, tmp):
            try:
                leftover.unlink(missing_ok=True)
            except OSError:
                pass
    return target
