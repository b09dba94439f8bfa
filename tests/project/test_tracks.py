"""Track proofreading on the labels: set an instance's track, swap two tracks from a frame on."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap_train.project.tracks import TrackEditError, anchor_trajectories, set_track, swap_tracks


def _labels(n_frames: int = 5) -> sio.Labels:
    """Two predicted animals on tracks a and b, a at x = 10 + f, b at x = 50 + f."""
    skeleton = sio.Skeleton(["head", "tail"])
    video = sio.Video(filename="clip.mp4")
    a, b = sio.Track("a"), sio.Track("b")
    labels = sio.Labels(videos=[video], skeletons=[skeleton], tracks=[a, b])
    for f in range(n_frames):
        insts = [
            sio.PredictedInstance.from_numpy(
                np.array([[x + f, 5.0], [x + f, 9.0]]), skeleton=skeleton, score=1.0, track=t
            )
            for x, t in ((10.0, a), (50.0, b))
        ]
        labels.append(sio.LabeledFrame(video=video, frame_idx=f, instances=insts))
    return labels


def _track_at(labels, frame, x0):
    lf = next(lf for lf in labels.labeled_frames if lf.frame_idx == frame)
    return next(i.track.name for i in lf.instances if abs(i.numpy()[0, 0] - (x0 + frame)) < 1e-6)


def test_swap_changes_the_tracks_from_the_frame_on_only():
    labels = _labels()
    assert swap_tracks(labels, 0, "a", "b", from_frame=2) == 6
    assert [_track_at(labels, f, 10.0) for f in range(5)] == ["a", "a", "b", "b", "b"]
    assert [_track_at(labels, f, 50.0) for f in range(5)] == ["b", "b", "a", "a", "a"]


def test_swap_refuses_unknown_or_equal_tracks():
    labels = _labels()
    with pytest.raises(TrackEditError, match="no track c"):
        swap_tracks(labels, 0, "a", "c", 0)
    with pytest.raises(TrackEditError, match="two different tracks"):
        swap_tracks(labels, 0, "a", "a", 0)


def test_set_track_gives_the_other_instance_the_old_track():
    labels = _labels()
    set_track(labels, 0, 3, 0, "b")  # instance 0 of frame 3 was on a
    assert _track_at(labels, 3, 10.0) == "b" and _track_at(labels, 3, 50.0) == "a"
    assert _track_at(labels, 4, 10.0) == "a"  # other frames keep theirs
    set_track(labels, 0, 4, 1, "new")
    assert "new" in [t.name for t in labels.tracks] and _track_at(labels, 4, 50.0) == "new"
    with pytest.raises(TrackEditError, match="no instance 5"):
        set_track(labels, 0, 4, 5, "a")


def test_anchor_trajectories_are_the_mean_of_the_nodes_per_track_and_frame():
    traj = anchor_trajectories(_labels(3), 0)
    assert traj.names == ["a", "b"]
    np.testing.assert_allclose(
        traj.data, [[0, 0, 7, 10], [0, 1, 7, 11], [0, 2, 7, 12], [1, 0, 7, 50], [1, 1, 7, 51], [1, 2, 7, 52]]
    )
    # the anchor node when it is visible
    np.testing.assert_allclose(anchor_trajectories(_labels(1), 0, anchor="tail").data[:, 2], [9, 9])
