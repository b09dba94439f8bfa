"""Places where writing really fails on this machine, for output-file tests.

As root a ``chmod`` read-only folder still accepts writes, so the tests use
what fails for everyone: a path under a *file*, a read-only or a tiny tmpfs
(where mounting is allowed, else the test is skipped), and a file-size limit
(``RLIMIT_FSIZE``) in the child process standing in for a full disk (writes
past the limit fail with ``EFBIG``, as they fail with ``ENOSPC`` on a full disk).
"""

from __future__ import annotations

import contextlib
import os
import resource
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import napari_sleap_train


def under_a_file(tmp_path: Path) -> Path:
    """A folder path whose parent is a regular file (nothing can be created there)."""
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file")
    return blocker / "out"


@contextlib.contextmanager
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder on a read-only tmpfs (skips the test where mounting is not allowed)."""
    folder = tmp_path / "read_only"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


@contextlib.contextmanager
def small_disk(tmp_path: Path, size: str = "8k") -> Iterator[Path]:
    """A folder on a tiny tmpfs that fills up (skips the test where mounting is not allowed)."""
    folder = tmp_path / "small_disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def file_size_limit(nbytes: int):
    """``preexec_fn`` that caps the size of every file the process (and its children) write."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))

    return limit


def run_cli(*args: str, preexec_fn=None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``napari-sleap-train ARGS`` in a fresh process running the package this test imported."""
    env = dict(os.environ)
    src = str(Path(napari_sleap_train.__file__).resolve().parents[1])
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "napari_sleap_train.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
        preexec_fn=preexec_fn,
    )
