"""Predict-On choices: every choice, and the plain-words explanations when empty."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap_train.config.model import PredictOn
from napari_sleap_train.predictions.frame_selection import (
    select_frames,
    video_frames,
)
from napari_sleap_train.session.predict_on import default_predict_choice

SUGGESTIONS = "suggestions/labels.v002.rel_paths.slp"


def make_labels(n_videos=2, labeled=(), suggested=(), predicted=()):
    """Small project: 2-node skeleton, videos that are never opened (lengths given)."""
    skel = sio.Skeleton(["a", "b"])
    videos = [sio.Video(filename=f"/nonexistent/video{i}.mp4", open_backend=False) for i in range(n_videos)]
    frames = {}
    for vi, fi in labeled:
        lf = frames.setdefault((vi, fi), sio.LabeledFrame(video=videos[vi], frame_idx=fi))
        lf.instances.append(sio.Instance.from_numpy(np.array([[1.0, 2.0], [3.0, 4.0]]), skeleton=skel))
    for vi, fi in predicted:
        lf = frames.setdefault((vi, fi), sio.LabeledFrame(video=videos[vi], frame_idx=fi))
        lf.instances.append(
            sio.PredictedInstance.from_numpy(np.array([[1.0, 2.0], [3.0, 4.0]]), skeleton=skel, score=0.5)
        )
    labels = sio.Labels(labeled_frames=list(frames.values()), videos=videos, skeletons=[skel])
    labels.suggestions = [sio.SuggestionFrame(video=videos[vi], frame_idx=fi) for vi, fi in suggested]
    return labels


@pytest.fixture
def suggestions_project(shared_data, tmp_path):
    """The real project with suggestions, its video reachable by relative path."""
    path = shared_data / SUGGESTIONS
    return sio.load_slp(str(path)), path


def test_real_project_every_choice(suggestions_project):
    labels, path = suggestions_project
    labeled = {(0, 0), (0, 220), (0, 440), (0, 770), (0, 990)}
    assert default_predict_choice(labels).predict_on is PredictOn.SUGGESTED_FRAMES

    sel = select_frames(labels, PredictOn.SUGGESTED_FRAMES, labels_path=path)
    assert sel.frames == [(0, 110), (0, 330), (0, 550), (0, 660), (0, 880)]
    assert "5 already labeled" in sel.explanation

    sel = select_frames(labels, PredictOn.USER_LABELED_FRAMES, labels_path=path)
    assert set(sel.frames) == labeled

    sel = select_frames(labels, PredictOn.RANDOM_FRAMES, n=20, seed=3, labels_path=path)
    assert len(sel) == 20 and len(set(sel.frames)) == 20
    assert not set(sel.frames) & labeled
    assert all(0 <= fi < 1100 for _, fi in sel.frames)
    again = select_frames(labels, PredictOn.RANDOM_FRAMES, n=20, seed=3, labels_path=path)
    assert again.frames == sel.frames  # same seed, same frames

    sel = select_frames(labels, PredictOn.RANDOM_FRAMES_CURRENT_VIDEO, n=7, labels_path=path)
    assert len(sel) == 7 and not set(sel.frames) & labeled

    sel = select_frames(labels, PredictOn.CURRENT_FRAME, current_frame=123, labels_path=path)
    assert sel.frames == [(0, 123)]

    sel = select_frames(labels, PredictOn.CURRENT_VIDEO, labels_path=path)
    assert sel.frames == [(0, i) for i in range(1100)]
    sel = select_frames(labels, PredictOn.ALL_VIDEOS, labels_path=path)
    assert len(sel) == 1100

    sel = select_frames(labels, PredictOn.NOTHING, labels_path=path)
    assert not sel and "turned off" in sel.explanation


def test_video_found_by_relative_path_next_to_project(shared_data):
    labels = sio.load_slp(str(shared_data / SUGGESTIONS))
    assert not labels.videos[0].exists()
    frames = video_frames(labels.videos[0], shared_data / SUGGESTIONS)
    assert frames == range(1100)
    assert labels.videos[0].exists()


def test_unreadable_video_is_explained(shared_data, tmp_path):
    # the project copied alone: its video is nowhere to be found
    lonely = tmp_path / "labels.slp"
    shutil.copy(shared_data / SUGGESTIONS, lonely)
    labels = sio.load_slp(str(lonely))
    for choice in (PredictOn.SUGGESTED_FRAMES, PredictOn.RANDOM_FRAMES, PredictOn.ALL_VIDEOS, PredictOn.CURRENT_FRAME):
        sel = select_frames(labels, choice, labels_path=lonely)
        assert not sel
        assert sel.explanation.startswith("no video frames are readable")
        assert "centered_pair_low_quality.mp4" in sel.explanation


def test_all_suggestions_labeled():
    frames = [(0, i * 10) for i in range(10)]
    labels = make_labels(n_videos=1, labeled=frames, suggested=frames)
    sel = select_frames(labels, PredictOn.SUGGESTED_FRAMES, video_lengths=[100])
    assert sel.frames == []
    assert sel.explanation == "all 10 suggested frames are already labeled"
    assert default_predict_choice(labels).predict_on is PredictOn.RANDOM_FRAMES


def test_no_suggestions():
    labels = make_labels(labeled=[(0, 1)])
    sel = select_frames(labels, PredictOn.SUGGESTED_FRAMES, video_lengths=[10, 10])
    assert sel.explanation == "the project has no suggested frames"
    assert default_predict_choice(labels).predict_on is PredictOn.RANDOM_FRAMES


def test_suggestions_with_only_predictions_count_as_unlabeled():
    labels = make_labels(suggested=[(1, 4)], predicted=[(1, 4)])
    assert default_predict_choice(labels).predict_on is PredictOn.SUGGESTED_FRAMES
    assert select_frames(labels, PredictOn.SUGGESTED_FRAMES, video_lengths=[10, 10]).frames == [(1, 4)]


def test_random_frames_span_all_videos_and_skip_labeled():
    labeled = [(0, i) for i in range(8)] + [(1, 0)]
    labels = make_labels(labeled=labeled)
    sel = select_frames(labels, PredictOn.RANDOM_FRAMES, n=50, video_lengths=[10, 5])
    # 15 frames, 9 labeled: only 6 left, all returned, and said so
    assert sorted(sel.frames) == [(0, 8), (0, 9), (1, 1), (1, 2), (1, 3), (1, 4)]
    assert "only 6" in sel.explanation


def test_random_frames_current_video_only():
    labels = make_labels()
    sel = select_frames(labels, PredictOn.RANDOM_FRAMES_CURRENT_VIDEO, n=4, current_video=1, video_lengths=[10, 50])
    assert len(sel) == 4 and all(vi == 1 for vi, _ in sel.frames)


def test_every_frame_labeled():
    labels = make_labels(n_videos=1, labeled=[(0, i) for i in range(3)])
    sel = select_frames(labels, PredictOn.RANDOM_FRAMES, video_lengths=[3])
    assert sel.explanation == "all 3 frames of the video are already labeled"
    sel = select_frames(labels, PredictOn.RANDOM_FRAMES_CURRENT_VIDEO, video_lengths=[3])
    assert sel.explanation == "all 3 frames of the current video are already labeled"


def test_no_user_labels():
    labels = make_labels(predicted=[(0, 2)])
    sel = select_frames(labels, PredictOn.USER_LABELED_FRAMES, video_lengths=[10, 10])
    assert sel.explanation == "the project has no user-labeled frames"


def test_current_frame_and_video_bounds():
    labels = make_labels()
    sel = select_frames(labels, PredictOn.CURRENT_FRAME, current_video=1, current_frame=12, video_lengths=[10, 10])
    assert not sel and "current frame 12" in sel.explanation
    sel = select_frames(labels, PredictOn.CURRENT_VIDEO, current_video=5, video_lengths=[10, 10])
    assert not sel and "no current video" in sel.explanation
    sel = select_frames(labels, PredictOn.CURRENT_VIDEO, current_video=1, video_lengths=[10, 3])
    assert sel.frames == [(1, 0), (1, 1), (1, 2)]
    sel = select_frames(labels, PredictOn.ALL_VIDEOS, video_lengths=[2, None])
    assert sel.frames == [(0, 0), (0, 1)]
    assert "skipped" in sel.explanation and "video1.mp4" in sel.explanation


def test_project_without_videos():
    sel = select_frames(sio.Labels(), PredictOn.ALL_VIDEOS)
    assert sel.explanation == "the project has no videos"


def test_choice_accepts_string_value():
    labels = make_labels(labeled=[(0, 1)])
    assert select_frames(labels, "user_labeled_frames", video_lengths=[10, 10]).frames == [(0, 1)]


def test_embedded_package_frames(shared_data):
    labels = sio.load_slp(str(shared_data / "embedded/minimal_instance.pkg.slp"))
    sel = select_frames(labels, PredictOn.ALL_VIDEOS)
    assert sel.frames == [(0, 0)]
    sel = select_frames(labels, PredictOn.RANDOM_FRAMES)
    assert sel.explanation == "the only frame of the video is already labeled"
