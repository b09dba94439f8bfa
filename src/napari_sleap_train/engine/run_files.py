"""Files of a run folder, written so that a killed process or a full disk never leaves a broken one.

Every file is written under a temporary name in the same folder and renamed
over its final name when complete (``os.replace`` is atomic on one file
system). A run folder left behind by ``kill -9`` or ``ENOSPC`` therefore holds
either the previous good version of a file or none of it, never a truncated
one: the configs are written when the run starts, so the folder is usable up
to its last good checkpoint. Temporary names are hidden (``.best_model.keras.<tag>.tmp.keras``) and
nothing reads them (Keras wants ``.keras`` files to end in ``.keras``, so the
suffix is kept).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from napari_sleap_train.outputs import atomic_output


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path``, on failure it is removed.

    :func:`napari_sleap_train.outputs.atomic_output` with replacing allowed: a run
    file (the best model, the log) is rewritten many times in one run, and a
    full disk is reported in plain words.
    """
    with atomic_output(path, overwrite=True) as tmp:
        yield tmp


def write_atomically(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` and move ``tmp`` over ``path``; return ``path``."""
    with atomic_path(path) as tmp:
        write(tmp)
    return Path(path)


def save_model(model, path: str | Path) -> Path:
    """``model.save`` to a temporary ``.keras`` file, then rename it to ``path``."""
    return write_atomically(path, lambda tmp: model.save(tmp))


def copy_file(src: str | Path, dst: str | Path) -> Path:
    """Copy ``src`` to ``dst`` atomically (a snapshot of the best model)."""
    return write_atomically(dst, lambda tmp: shutil.copyfile(src, tmp))


def write_text(path: str | Path, text: str) -> Path:
    """Write a text file atomically."""
    return write_atomically(path, lambda tmp: Path(tmp).write_text(text))


def remove_leftover_temporaries(run_dir: str | Path) -> list[Path]:
    """Remove the hidden temporary files of writes that never finished (a killed engine).

    Called before a run folder is trained in again (resume); returns what was removed.
    """
    removed = []
    for path in Path(run_dir).glob(".*.tmp.*"):
        try:
            path.unlink()
            removed.append(path)
        except OSError:
            pass
    return removed
