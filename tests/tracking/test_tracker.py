"""The tracker on plain arrays: max tracks, user anchors, culling, breaks, track window."""

from __future__ import annotations

import numpy as np
import pytest

from napari_sleap_train.tracking import (
    NO_TRACK,
    CullSettings,
    FrameInstances,
    Tracker,
    TrackerSettings,
    TrackingInputError,
    track_frames,
)
from napari_sleap_train.tracking.postprocess import connect_single_breaks


def _walkers(n_frames=30, n_animals=3, seed=0, noise=1.0):
    """Animals on random walks far apart, 2 nodes each."""
    rng = np.random.default_rng(seed)
    start = np.array([[50.0 + 200 * i, 100.0] for i in range(n_animals)])
    steps = rng.normal(0, 3, size=(n_frames, n_animals, 2))
    centres = start + np.cumsum(steps, axis=0)
    pts = centres[:, :, None, :] + np.array([[-5.0, 0.0], [5.0, 0.0]])
    return pts + rng.normal(0, noise, size=pts.shape)


@pytest.mark.parametrize("tracker", ["simple"])
@pytest.mark.parametrize("match", ["greedy", "hungarian"])
def test_max_tracks_is_never_exceeded(tracker, match):
    rng = np.random.default_rng(3)
    frames = []
    for f in range(60):  # 0 to 5 instances anywhere, so without a limit tracks pile up
        n = int(rng.integers(0, 6))
        frames.append(FrameInstances(f, rng.uniform(0, 500, size=(n, 2, 2)), scores=rng.random(n)))
    unlimited = track_frames(frames, TrackerSettings(tracker=tracker, match=match))
    assert len(unlimited.track_ids()) > 3
    result = track_frames(frames, TrackerSettings(tracker=tracker, match=match, max_tracks=3))
    assert set(result.track_ids()) <= {0, 1, 2}
    for inp, out in zip(frames, result.frames):
        on = out.tracks[out.tracks >= 0]
        assert len(on) == len(set(on.tolist())) == min(len(inp), 3)  # distinct; extras untracked
    assert result.n_untracked == sum(max(len(f) - 3, 0) for f in frames)


def test_simple_tracker_follows_separate_walkers_and_scores_matches():
    pts = _walkers()
    frames = [FrameInstances(f, p[::-1] if f % 2 else p) for f, p in enumerate(pts)]
    result = track_frames(frames, TrackerSettings(tracker="simple", max_tracks=3))
    for f, out in enumerate(result.frames):
        tracks = out.tracks[::-1] if f % 2 else out.tracks
        assert tracks.tolist() == [0, 1, 2]
        if f:
            assert (out.scores > 0.5).all() and (out.scores <= 1).all()
    assert result.n_spawned == 3


def test_a_lost_track_ends_after_the_window_without_max_tracks():
    pts = _walkers(n_frames=12, n_animals=1)
    # the animal vanishes for 3 frames: window 2 loses it (new track), window 5 keeps it
    frames = [FrameInstances(f, pts[f] if not 4 <= f < 7 else np.zeros((0, 2, 2))) for f in range(12)]
    short = track_frames(frames, TrackerSettings(tracker="simple", track_window=2))
    long = track_frames(frames, TrackerSettings(tracker="simple", track_window=5))
    assert short.track_ids() == [0, 1]
    assert long.track_ids() == [0]


def test_user_instances_anchor_their_tracks():
    pts = _walkers(n_frames=10, n_animals=2)
    frames = []
    for f, p in enumerate(pts):
        fixed = np.full(2, NO_TRACK)
        if f == 5:
            fixed[:] = [8, 7]  # the user swapped the two on frame 5
        frames.append(FrameInstances(f, p, fixed_tracks=fixed))
    result = track_frames(frames, TrackerSettings(tracker="simple", max_tracks=2))
    # fixed ids count as the two tracks: no other track is ever started
    assert set(result.track_ids()) == {7, 8}
    assert result.frames[5].tracks.tolist() == [8, 7]
    # after the anchor, the tracker follows it
    for out in result.frames[6:]:
        assert out.tracks.tolist() == [8, 7]


def test_culling_keeps_the_best_scores_and_drops_overlaps():
    base = np.array(
        [
            [[0.0, 0.0], [10.0, 10.0]],
            [[1.0, 1.0], [11.0, 11.0]],
            [[50.0, 50.0], [60.0, 60.0]],
            [[100.0, 0.0], [110.0, 10.0]],
        ]
    )
    scores = np.array([0.9, 0.8, 0.5, 0.4])
    frames = [FrameInstances(0, base, scores=scores)]
    by_score = track_frames(frames, TrackerSettings(cull=CullSettings(max_instances=2)))
    assert by_score.frames[0].culled.tolist() == [False, False, True, True]
    with_iou = track_frames(frames, TrackerSettings(cull=CullSettings(max_instances=2, iou_threshold=0.5)))
    assert with_iou.frames[0].culled.tolist() == [False, True, False, True]
    assert with_iou.n_culled == 2 and (with_iou.frames[0].tracks[with_iou.frames[0].culled] == NO_TRACK).all()


def test_connect_single_breaks_joins_a_track_that_restarts():
    # track 1 ends on frame 3 and track 5 starts there: the same animal
    frames = [FrameInstances(f, np.zeros((2, 1, 2))) for f in range(6)]
    from napari_sleap_train.tracking.frames import FrameTracks

    outs = [
        FrameTracks(f, np.array(t), np.zeros(2), np.zeros(2, bool))
        for f, t in enumerate([[0, 1], [0, 1], [0, 1], [0, 5], [0, 5], [5, 0]])
    ]
    assert connect_single_breaks(frames, outs, target_count=2) == 1
    assert [o.tracks.tolist() for o in outs] == [[0, 1]] * 5 + [[1, 0]]


def test_flow_needs_frames_and_reports_unreadable_ones():
    with pytest.raises(TrackingInputError, match="needs the video"):
        Tracker(TrackerSettings(tracker="flow"))
    frames = [FrameInstances(f, np.ones((1, 2, 2))) for f in range(2)]

    def broken(i):
        raise OSError("disk gone")

    with pytest.raises(TrackingInputError, match="frame 0 could not be read"):
        track_frames(frames, TrackerSettings(tracker="flow"), frame=broken)
    with pytest.raises(TrackingInputError, match="increasing frame order"):
        track_frames(frames[::-1], TrackerSettings())
