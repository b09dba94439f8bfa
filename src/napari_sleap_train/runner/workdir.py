"""The runner's scratch folders (``<tmp>/napari-sleap-train-*``: ``job.json``, ``engine.log``).

Each run gets one; it is removed when the run ends unless the run failed (its
log is what explains the failure, and the message names it). Folders a run
could not remove (napari quit first, the machine went down) are removed by a
later run once they are stale: older than :data:`STALE_SECONDS` and their
``engine.pid`` names no live process.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

PREFIX = "napari-sleap-train-"
PID_FILE = "engine.pid"
#: scratch folders untouched for this long, with no live engine, are removed
STALE_SECONDS = 24 * 3600.0


def make_work_dir() -> Path:
    """A new scratch folder in the system temp dir (stale ones are cleaned first)."""
    clean_stale_work_dirs()
    return Path(tempfile.mkdtemp(prefix=PREFIX))


def write_pid(work_dir: Path, pid: int) -> None:
    try:
        (work_dir / PID_FILE).write_text(f"{pid}\n")
    except OSError:
        pass  # only used to spare a live run from the stale cleanup


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    except OSError:
        return False
    return True


def _last_change(folder: Path) -> float:
    times = [folder.stat().st_mtime]
    for child in folder.iterdir():
        try:
            times.append(child.stat().st_mtime)
        except OSError:
            pass
    return max(times)


def is_stale(folder: Path, now: float | None = None, max_age: float = STALE_SECONDS) -> bool:
    """Older than ``max_age`` seconds and no live engine process recorded in it."""
    now = time.time() if now is None else now
    try:
        if now - _last_change(folder) < max_age:
            return False
        pid_text = (folder / PID_FILE).read_text().strip() if (folder / PID_FILE).exists() else ""
    except OSError:
        return False
    return not (pid_text.isdigit() and _pid_alive(int(pid_text)))


def clean_stale_work_dirs(root: str | Path | None = None, max_age: float = STALE_SECONDS) -> list[Path]:
    """Remove stale scratch folders in ``root`` (default: the system temp dir); return them."""
    root = Path(root or tempfile.gettempdir())
    removed = []
    try:
        candidates = [p for p in root.glob(PREFIX + "*") if p.is_dir() and not p.is_symlink()]
    except OSError:
        return removed
    now = time.time()
    for folder in candidates:
        if is_stale(folder, now, max_age):
            shutil.rmtree(folder, ignore_errors=True)
            if not folder.exists():
                removed.append(folder)
    return removed


def remove_work_dir(folder: Path | None) -> None:
    """Remove a finished run's scratch folder (never raises)."""
    if folder is not None and folder.name.startswith(PREFIX):
        shutil.rmtree(folder, ignore_errors=True)
