"""Tracking metrics (ID switches, MOTA, IDF1) on a small example counted by hand."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap_train.evaluate import EvaluationError
from napari_sleap_train.evaluate.tracking import TrackedFrame, evaluate_tracks, track_metrics

# (gt ids, gt x, pred ids, pred x) per frame; one node, y = 0, match within 1 px
EXAMPLE = [
    ([0, 1], [0, 10], [10, 11], [0, 10]),  # A-10, B-11
    ([0, 1], [1, 11], [10, 11], [1, 11]),  # same
    ([0, 1], [2, 12], [10, 11], [12, 2]),  # swapped: A-11, B-10 -> 2 switches
    ([0, 1], [3, 13], [11, 12], [3, 50]),  # A-11 kept; B missed; 12 is a false positive
    ([0], [4], [10, 11], [4, 20]),  # a switch back; 11 is a false positive
]


def _frames(example):
    def pts(xs):
        return np.array([[[x, 0.0]] for x in xs], dtype=float).reshape(len(xs), 1, 2)

    return [TrackedFrame(np.array(g), pts(gx), np.array(p), pts(px)) for g, gx, p, px in example]


def test_known_example_counted_by_hand():
    m = track_metrics(_frames(EXAMPLE), max_distance=1.0)
    assert (m.n_gt, m.n_pred, m.matches, m.misses, m.false_positives) == (9, 10, 8, 1, 2)
    assert m.id_switches == 3
    assert m.mota == pytest.approx(1 - (1 + 2 + 3) / 9)
    # identity: A<->10 on frames 0, 1, 4 and B<->11 on frames 0, 1 -> IDTP 5
    assert m.idtp == 5
    assert m.idf1 == pytest.approx(2 * 5 / (9 + 10))
    assert m.idp == pytest.approx(5 / 10) and m.idr == pytest.approx(5 / 9)
    assert (m.n_gt_tracks, m.n_pred_tracks) == (2, 3)


def test_perfect_tracks_score_one_and_a_looser_threshold_matches_more():
    perfect = [(g, gx, [i + 10 for i in g], gx) for g, gx, _, _ in EXAMPLE]
    m = track_metrics(_frames(perfect), max_distance=1.0)
    assert (m.id_switches, m.mota, m.idf1) == (0, 1.0, 1.0)
    shifted = [(g, gx, p, [x + 2 for x in gx]) for g, gx, p, _ in perfect]
    assert track_metrics(_frames(shifted), max_distance=1.0).matches == 0
    assert track_metrics(_frames(shifted), max_distance=3.0).idf1 == 1.0


def _labels(frames, names, user, tracks):
    skel = sio.Skeleton(names)
    video = sio.Video(filename="/nowhere/v.mp4", open_backend=False)
    labels = sio.Labels(videos=[video], skeletons=[skel], tracks=list(tracks.values()))
    for fi, insts in enumerate(frames):
        out = []
        for track, xy in insts:
            t = tracks.get(track)
            if user:
                out.append(sio.Instance.from_numpy(np.asarray(xy, float), skeleton=skel, track=t))
            else:
                out.append(
                    sio.PredictedInstance.from_numpy(
                        np.asarray(xy, float), skeleton=skel, score=1.0, track=t, tracking_score=1.0
                    )
                )
        labels.append(sio.LabeledFrame(video=video, frame_idx=fi, instances=out))
    return labels


def test_labels_are_compared_on_shared_node_names_and_untracked_predictions_count_as_their_own():
    gt_tracks = {"a": sio.Track("a"), "b": sio.Track("b")}
    gt = _labels([[("a", [[0, 0], [0, 10]]), ("b", [[50, 0], [50, 10]])]] * 3, ["head", "tail"], True, gt_tracks)
    pr_tracks = {"x": sio.Track("x")}
    # predictions: an extra node first; "a" on track x, "b" untracked on every frame
    pr = _labels(
        [[("x", [[99, 99], [0, 10], [0, 0]]), (None, [[99, 99], [50, 10], [50, 0]])]] * 3,
        ["wing", "tail", "head"],
        False,
        pr_tracks,
    )
    result = evaluate_tracks(gt, pr, max_distance=1.0)
    t = result.total
    assert (t.matches, t.misses, t.false_positives) == (6, 0, 0)
    # b is matched to three different one-frame "tracks": two switches
    assert t.id_switches == 2 and t.n_pred_tracks == 4
    assert t.idf1 == pytest.approx(2 * (3 + 1) / 12)
    assert "head, tail" in result.criterion and set(result.per_video) == {0}
    with pytest.raises(EvaluationError, match="no user instances on tracks"):
        evaluate_tracks(pr, pr)
