"""Saving onto a full or read-only disk: the user sees why, nothing partial is left, no crash at exit.

Each save runs in its own Python process (an HDF5 write that failed half-way used
to crash the process at exit, exit code 139). The full disk is a tiny tmpfs;
mounting one needs root (CAP_SYS_ADMIN), so the tests skip where that is refused.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

SAVE = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    from napari.components import ViewerModel
    from npe2 import PluginManager

    from napari_sleap_train.io.binding import find_project

    PluginManager.instance().discover()  # a ViewerModel without a window does not discover plugins
    source, folder = sys.argv[1], Path(sys.argv[2])
    viewer = ViewerModel()
    viewer.open(source, plugin="napari-sleap-train")
    project = find_project(viewer.layers)
    for what, save in (
        ("layers.save", lambda: viewer.layers.save(str(folder / "saved.slp"), plugin="napari-sleap-train")),
        ("snapshot", lambda: project.snapshot(folder / "snapshot.slp")),
        ("save", lambda: project.save(folder / "project.slp")),
    ):
        try:
            result = save()
        except Exception as exc:
            print(f"{what} FAILED {type(exc).__name__}: {exc}", flush=True)
        else:
            print(f"{what} RETURNED {result}", flush=True)
    """
)


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """Mount a 64 KiB tmpfs (skip where mounting is not allowed); yields a mount function.

    ``free_kib`` leaves only that much space free (the rest is a file named ``filler``).
    """
    mounted: list[Path] = []

    def mount(read_only: bool = False, free_kib: int = 64) -> Path:
        point = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
        point.mkdir()
        options = "size=64k" + (",ro" if read_only else "")
        proc = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True, text=True
        )
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip() or proc.returncode})")
        mounted.append(point)
        if free_kib < 64:  # fill it up: HDF5 then fails while creating the file (the crash at exit)
            (point / "filler").write_bytes(b"x" * (64 - free_kib) * 1024)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", str(point)], check=False)


def _save_into(folder: Path, source: Path, cwd: Path) -> tuple[int, dict[str, str]]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.run(
        [sys.executable, "-c", SAVE, str(source), str(folder)],
        capture_output=True, text=True, timeout=300, env=env, cwd=cwd,
    )  # fmt: skip
    lines = {line.split(" ", 1)[0]: line for line in proc.stdout.splitlines() if " " in line}
    assert set(lines) == {"layers.save", "snapshot", "save"}, proc.stdout + proc.stderr[-3000:]
    return proc.returncode, lines


@pytest.mark.parametrize("free_kib", [8, 64])
def test_full_disk_says_so_and_leaves_nothing(tiny_tmpfs, shared_data, tmp_path, free_kib):
    disk = tiny_tmpfs(free_kib=free_kib)
    before = sorted(p.name for p in disk.iterdir())
    rc, lines = _save_into(disk, shared_data / "fly" / "clip.slp", tmp_path)
    assert rc == 0  # 139 was HDF5 crashing at exit after the failed write
    for line in lines.values():
        assert "FAILED SleapFileError" in line, line  # not "[]" and "not a valid writer"
        assert "the disk is full" in line, line
    assert sorted(p.name for p in disk.iterdir()) == before  # no partial file, no temporary file


def test_read_only_folder_says_so(tiny_tmpfs, shared_data, tmp_path):
    disk = tiny_tmpfs(read_only=True)
    rc, lines = _save_into(disk, shared_data / "minimal" / "minimal_instance.slp", tmp_path)
    assert rc == 0
    for line in lines.values():
        assert "FAILED SleapFileError" in line and "read-only" in line, line
    assert list(disk.iterdir()) == []


def test_writer_errors_reach_the_user(make_napari_viewer, shared_data, tmp_path):
    """An error raised by the writer is not swallowed by napari's writer lookup."""
    from napari_sleap_train.project.errors import SleapFileError

    viewer = make_napari_viewer()
    viewer.open(str(shared_data / "minimal" / "minimal_instance.slp"), plugin="napari-sleap-train")
    with pytest.raises(SleapFileError, match="does not exist"):
        viewer.layers.save(str(tmp_path / "no" / "such" / "folder.slp"), plugin="napari-sleap-train")
