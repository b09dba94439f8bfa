"""Shared fixtures: paths to the real SLEAP data (default ``../shared/data``).

``NAPARI_SLEAP_TRAIN_DATA`` points elsewhere. Where the folder is missing, the tests
that need it skip with one reason, except under CI (``CI`` set), where a missing data
folder is a broken set-up and fails them, so CI never passes by skipping.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio

ROOT = Path(__file__).resolve().parents[1]
DATA_ENV = "NAPARI_SLEAP_TRAIN_DATA"


def shared_data_folder() -> Path:
    """Where the real SLEAP projects are looked for."""
    return Path(os.environ.get(DATA_ENV) or ROOT.parent / "shared" / "data").resolve()


SHARED_DATA = shared_data_folder()


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder of real SLEAP projects (see its SOURCES.md)."""
    folder = shared_data_folder()
    if not folder.is_dir():
        reason = f"real SLEAP test data not found at {folder} (set {DATA_ENV} to its folder)"
        if _in_ci():
            pytest.fail(reason + "; CI needs it")
        pytest.skip(reason)
    return folder


@pytest.fixture
def isolated_copy(tmp_path):
    """Copy files into tmp_path/isolated/proj/ (no videos nearby unless copied too)."""

    def copy(*files: Path) -> list[Path]:
        dest = tmp_path / "isolated" / "proj"
        dest.mkdir(parents=True, exist_ok=True)
        return [Path(shutil.copy(f, dest / Path(f).name)) for f in files]

    return copy


@pytest.fixture
def two_video_project(shared_data, tmp_path):
    """A project with a grayscale and an RGB video, one labeled frame each."""
    skel = sio.Skeleton(["a", "b"], edges=[("a", "b")])
    gray = sio.Video.from_filename((shared_data / "minimal" / "centered_pair_low_quality.mp4").as_posix())
    rgb = sio.Video.from_filename((shared_data / "robot" / "small_robot.mp4").as_posix())
    frames = [
        sio.LabeledFrame(gray, 3, [sio.Instance.from_numpy(np.array([[10.0, 20.0], [30.0, 40.0]]), skel)]),
        sio.LabeledFrame(rgb, 7, [sio.Instance.from_numpy(np.array([[50.0, 60.0], [70.0, 80.0]]), skel)]),
    ]
    path = tmp_path / "two.slp"
    sio.Labels(frames, videos=[gray, rgb], skeletons=[skel], suggestions=[sio.SuggestionFrame(rgb, 9)]).save(
        path.as_posix()
    )
    return path
