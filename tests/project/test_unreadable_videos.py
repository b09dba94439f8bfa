"""Videos that exist but cannot be used open like missing ones, with the reason in plain words."""

from __future__ import annotations

import shutil

import h5py

from napari_sleap_train.project.files import load_labels
from napari_sleap_train.project.model import SleapProject


def _truncated_video_project(shared_data, tmp_path, n_bytes=4096):
    folder = tmp_path / "iso" / "proj"
    folder.mkdir(parents=True)
    slp = shutil.copy(shared_data / "minimal" / "minimal_instance.slp", folder / "minimal_instance.slp")
    video = folder / "centered_pair_low_quality.mp4"
    video.write_bytes((shared_data / "minimal" / "centered_pair_low_quality.mp4").read_bytes()[:n_bytes])
    return slp, video


def test_truncated_video_is_a_missing_video_naming_the_file(shared_data, tmp_path):
    slp, video = _truncated_video_project(shared_data, tmp_path)
    project = SleapProject.load(slp)
    assert [m.index for m in project.missing_videos] == [0]
    (message,) = project.messages
    assert str(video) in message and "truncated or damaged" in message
    assert project.video_array(0) is None
    assert len(project.user_points()[0]) == 4  # the labels are all there
    assert project.videos[0].backend is None  # no half-open decoder left behind


def test_training_finds_videos_as_the_viewer_does(shared_data):
    # predictions/ has no video; the viewer finds it in the sibling folder minimal/
    opened = load_labels(shared_data / "predictions" / "centered_pair_predictions.slp")
    assert opened.missing_videos == []
    assert opened.labels.video.filename == (shared_data / "minimal" / "centered_pair_low_quality.mp4").as_posix()


def test_package_without_embedded_frames_says_the_frames_are_missing(shared_data, tmp_path):
    pkg = shutil.copy(shared_data / "embedded" / "minimal_instance.pkg.slp", tmp_path / "minimal_instance.pkg.slp")
    with h5py.File(pkg, "r+") as f:
        del f["video0/video"]
    project = SleapProject.load(pkg)
    (message,) = project.messages
    assert "frames embedded in minimal_instance.pkg.slp are missing" in message
    assert "does not exist" not in message and "check that the video file exists" not in message
    assert len(project.user_points()[0]) == 4
