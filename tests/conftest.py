"""Shared fixtures: paths to the real SLEAP data in ../shared/data."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (ROOT.parent / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder of real SLEAP projects (see ../shared/data/SOURCES.md)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"test data not found at {SHARED_DATA} (expected ../shared/data)")
    return SHARED_DATA


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
