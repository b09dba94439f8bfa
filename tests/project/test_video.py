"""Lazy video access and video path resolution."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap_train.project.errors import VideoAccessError
from napari_sleap_train.project.video import (
    VideoArray,
    candidate_video_paths,
    resolve_video_path,
)


def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_resolve_as_stored_absolute(tmp_path):
    video = _touch(tmp_path / "elsewhere" / "v.mp4")
    assert resolve_video_path(str(video), tmp_path / "proj" / "a.slp") == video


def test_resolve_same_folder_by_name_windows_path(tmp_path):
    video = _touch(tmp_path / "proj" / "v.mp4")
    stored = r"C:\Users\someone\data\v.mp4"
    assert resolve_video_path(stored, tmp_path / "proj" / "a.slp") == video


def test_resolve_relative_tail_to_slp(tmp_path):
    # stored relative path from another machine; the tail "videos/v.mp4" exists beside the .slp
    video = _touch(tmp_path / "proj" / "videos" / "v.mp4")
    found = resolve_video_path("tests/data/videos/v.mp4", tmp_path / "proj" / "a.slp")
    assert found == video


def test_resolve_sibling_and_subfolder(tmp_path):
    sibling = _touch(tmp_path / "root" / "movies" / "s.mp4")
    sub = _touch(tmp_path / "root" / "proj" / "raw" / "t.mp4")
    slp = tmp_path / "root" / "proj" / "a.slp"
    assert resolve_video_path("/nowhere/s.mp4", slp) == sibling
    assert resolve_video_path("/nowhere/t.mp4", slp) == sub


def test_resolve_order_prefers_next_to_slp(tmp_path):
    here = _touch(tmp_path / "proj" / "v.mp4")
    _touch(tmp_path / "proj" / "sub" / "v.mp4")
    assert resolve_video_path("/nowhere/v.mp4", tmp_path / "proj" / "a.slp") == here


def test_resolve_missing_and_rejected(tmp_path):
    slp = tmp_path / "proj" / "a.slp"
    slp.parent.mkdir()
    assert resolve_video_path("/nowhere/none.mp4", slp) is None
    _touch(tmp_path / "proj" / "v.mp4")
    assert resolve_video_path("/nowhere/v.mp4", slp, accept=lambda p: False) is None


def test_candidates_do_not_go_further_than_one_level(tmp_path):
    slp = tmp_path / "a" / "b" / "c.slp"
    slp.parent.mkdir(parents=True)
    (tmp_path / "a" / "x" / "deep").mkdir(parents=True)
    cands = list(candidate_video_paths("v.mp4", slp))
    assert tmp_path / "a" / "x" / "v.mp4" in cands
    assert tmp_path / "a" / "x" / "deep" / "v.mp4" not in cands


@pytest.fixture(scope="module")
def fly_video(shared_data):
    video = sio.load_video((shared_data / "fly" / "clip.mp4").as_posix(), grayscale=True)
    yield video
    video.close()


def test_grayscale_video_is_lazy_and_2d(fly_video):
    arr = VideoArray(fly_video)
    assert arr.shape == (1500, 1024, 1024)
    assert arr.dtype == np.uint8 and arr.ndim == 3 and not arr.rgb
    assert arr.decoded_count == 0  # building the array decodes nothing
    frame = arr[7]
    assert frame.shape == (1024, 1024)
    np.testing.assert_array_equal(frame, fly_video[7][..., 0])
    assert arr.decoded_count == 1
    # napari-style tuple index with slices, plus a cache hit
    part = arr[7, 100:110, :5]
    np.testing.assert_array_equal(part, frame[100:110, :5])
    assert arr.decoded_count == 1
    assert arr[-1].shape == (1024, 1024)
    with pytest.raises(IndexError):
        arr[1500]


def test_cache_is_bounded(fly_video):
    arr = VideoArray(fly_video, cache_bytes=4 * 1024 * 1024)
    assert arr.cache_capacity == 4
    for i in range(10):
        arr[i]
    assert len(arr._cache) == 4
    assert arr.decoded_count == 10
    arr[9]
    assert arr.decoded_count == 10  # most recent frames stay cached
    arr[0]
    assert arr.decoded_count == 11  # the oldest was evicted


def test_large_requests_are_refused(fly_video):
    arr = VideoArray(fly_video)
    with pytest.raises(VideoAccessError, match="frame by frame"):
        np.asarray(arr)
    with pytest.raises(VideoAccessError):
        arr[:]
    small = arr[2:4]
    assert small.shape == (2, 1024, 1024)


def test_video_axis(fly_video):
    arr = VideoArray(fly_video, video_axis=True)
    assert arr.shape == (1, 1500, 1024, 1024)
    np.testing.assert_array_equal(arr[0, 3], arr[(0, 3)])
    assert arr[:, 3].shape == (1, 1024, 1024)
    assert arr[1:, 3].shape == (0, 1024, 1024)


def test_rgb_video(shared_data):
    video = sio.load_video((shared_data / "robot" / "small_robot.mp4").as_posix())
    arr = VideoArray(video)
    assert arr.rgb and arr.shape == (166, 320, 560, 3)
    np.testing.assert_array_equal(arr[5], video[5])
    video.close()


def test_embedded_frames_keep_original_indices(shared_data, tmp_path):
    labels = sio.load_slp((shared_data / "embedded" / "minimal_instance.pkg.slp").as_posix())
    video = labels.video
    assert video.backend.embedded_frame_inds == [0]
    arr = VideoArray(video, n_frames=5)
    assert arr.shape == (5, 384, 384)
    np.testing.assert_array_equal(arr[0], video[0][..., 0])
    assert not arr[3].any()  # not embedded: shown black, index mapping unchanged
    assert arr.decoded_count == 1


def test_small_video_can_be_materialized(shared_data, tmp_path):
    src = shared_data / "robot" / "small_robot.mp4"
    video = sio.load_video(shutil.copy(src, tmp_path / "r.mp4"))
    arr = VideoArray(video, n_frames=3)
    assert np.asarray(arr).shape == (3, 320, 560, 3)
    video.close()
