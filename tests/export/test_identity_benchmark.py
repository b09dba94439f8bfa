"""The identity benchmark's scoring: identity accuracy per instance, the tracker's naming, ID switches in time order."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from benchmarks.identity_accuracy import best_naming, identity_figures, matched_tracks


def _labels(rows, user: bool, track_names):
    """Labels of two-node flies: ``rows`` is ``[(frame, [(track name, x), ...]), ...]``."""
    skeleton = sio.Skeleton(["head", "thorax"])
    video = sio.Video(filename="clip.mp4")
    tracks = {name: sio.Track(name) for name in track_names}
    frames = []
    for frame_idx, flies in rows:
        instances = []
        for name, x in flies:
            pts = np.array([[x, 10.0], [x, 20.0]])
            inst = (
                sio.Instance.from_numpy(pts, skeleton=skeleton)
                if user
                else sio.PredictedInstance.from_numpy(pts, skeleton=skeleton, point_scores=np.ones(2), score=1.0)
            )
            inst.track = tracks[name]
            instances.append(inst)
        frames.append(sio.LabeledFrame(video=video, frame_idx=frame_idx, instances=instances))
    return sio.Labels(labeled_frames=frames, videos=[video], skeletons=[skeleton], tracks=list(tracks.values()))


@pytest.fixture
def truth():
    # frames listed out of time order: the scoring sorts them
    rows = [(40, [("female", 100), ("male", 300)]), (0, [("female", 100), ("male", 300)])]
    rows += [(20, [("female", 100), ("male", 300)]), (60, [("female", 100), ("male", 300)])]
    return _labels(rows, user=True, track_names=["female", "male"])


def test_identity_model_rows_count_wrong_classes_and_misses(truth):
    # frame 20: classes swapped; frame 60: the male not found
    pr = _labels(
        [
            (0, [("female", 101), ("male", 301)]),
            (20, [("male", 101), ("female", 301)]),
            (40, [("female", 101), ("male", 301)]),
            (60, [("female", 101)]),
        ],
        user=False,
        track_names=["female", "male"],
    )
    r = identity_figures(truth, pr, max_distance=20.0, rename=False)
    assert r["instances"] == 8 and r["matched"] == 7
    assert r["identity_accuracy"] == pytest.approx(5 / 8)
    assert r["per_track"] == {"female": pytest.approx(3 / 4), "male": pytest.approx(2 / 4)}
    # in time order: 0 right, 20 swapped, 40 right again -> two switches per fly
    assert r["id_switches"] == 4


def test_tracker_rows_name_the_tracks_once_for_the_most_right(truth):
    pr = _labels(
        [
            (0, [("track_1", 101), ("track_0", 301)]),
            (20, [("track_1", 101), ("track_0", 301)]),
            (40, [("track_0", 101), ("track_1", 301)]),  # the tracker swapped them here, for good
            (60, [("track_0", 101), ("track_1", 301)]),
            (80, []),
        ],
        user=False,
        track_names=["track_0", "track_1"],
    )
    pairs = matched_tracks(truth, pr, max_distance=20.0)
    assert pairs[:2] == [("female", "track_1"), ("male", "track_0")]  # frame 0 first
    assert best_naming(pairs) in ({"track_1": "female", "track_0": "male"}, {"track_0": "female", "track_1": "male"})
    r = identity_figures(truth, pr, max_distance=20.0, rename=True)
    assert r["identity_accuracy"] == pytest.approx(0.5)
    assert r["id_switches"] == 2  # one per fly, at frame 40


def test_far_predictions_do_not_match(truth):
    pr = _labels([(0, [("female", 160), ("male", 301)])], user=False, track_names=["female", "male"])
    pairs = matched_tracks(truth, pr, max_distance=20.0)
    assert ("female", None) in pairs and ("male", "male") in pairs
