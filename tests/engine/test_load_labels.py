"""Training opens projects as the viewer and prediction do (project.files.load_labels)."""

from __future__ import annotations

import shutil

import h5py
import pytest

from napari_sleap_train.engine.errors import EngineDataError
from napari_sleap_train.engine.pipeline import load_labels


def test_training_finds_a_video_in_a_sibling_folder(shared_data):
    # predictions/ has no video; it is in the sibling folder minimal/ (plain sio.load_slp misses it)
    labels = load_labels(shared_data / "predictions" / "centered_pair_predictions.slp")
    assert labels.video.filename == (shared_data / "minimal" / "centered_pair_low_quality.mp4").as_posix()
    assert labels.video.backend is not None


def test_truncated_video_is_refused_naming_the_file(shared_data, tmp_path):
    folder = tmp_path / "iso" / "proj"
    folder.mkdir(parents=True)
    slp = shutil.copy(shared_data / "minimal" / "minimal_instance.slp", folder / "minimal_instance.slp")
    video = folder / "centered_pair_low_quality.mp4"
    video.write_bytes((shared_data / "minimal" / "centered_pair_low_quality.mp4").read_bytes()[:4096])
    with pytest.raises(EngineDataError, match="truncated or damaged") as info:
        load_labels(slp)
    assert str(video) in str(info.value)


def test_package_without_its_frames_says_so(shared_data, tmp_path):
    pkg = shutil.copy(shared_data / "embedded" / "minimal_instance.pkg.slp", tmp_path / "m.pkg.slp")
    with h5py.File(pkg, "r+") as f:
        del f["video0/video"]
    with pytest.raises(EngineDataError, match="frames embedded in m.pkg.slp are missing") as info:
        load_labels(pkg)
    assert "check that the video file exists" not in str(info.value)
