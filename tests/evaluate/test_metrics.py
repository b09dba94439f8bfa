"""Evaluation metrics on constructed cases."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap_train.evaluate import evaluate, match_instances, oks, write_metrics
from napari_sleap_train.evaluate.metrics import average_precision

NODES = ["head", "thorax", "tail"]


def animal(x, y):
    return np.array([[x, y], [x + 20.0, y + 10.0], [x + 40.0, y + 30.0]])


def make_pair(gt_frames, pr_frames, pr_nodes=NODES, scores=None):
    """GT labels with user instances and separate predicted labels on the same video."""
    video = sio.Video(filename="/nonexistent/v.mp4", open_backend=False)
    gskel, pskel = sio.Skeleton(list(NODES)), sio.Skeleton(list(pr_nodes))
    gt = sio.Labels(videos=[video], skeletons=[gskel])
    for fi, insts in gt_frames.items():
        gt.append(
            sio.LabeledFrame(
                video=video, frame_idx=fi, instances=[sio.Instance.from_numpy(p, skeleton=gskel) for p in insts]
            )
        )
    pr = sio.Labels(videos=[video], skeletons=[pskel])
    for fi, insts in pr_frames.items():
        order = [NODES.index(n) for n in pr_nodes]
        pr.append(
            sio.LabeledFrame(
                video=video,
                frame_idx=fi,
                instances=[
                    sio.PredictedInstance.from_numpy(p[order], skeleton=pskel, score=(scores or {}).get((fi, i), 0.9))
                    for i, p in enumerate(insts)
                ],
            )
        )
    return gt, pr


def test_perfect_prediction():
    frames = {0: [animal(10, 10), animal(100, 100)], 4: [animal(50, 20)]}
    gt, pr = make_pair(frames, frames, pr_nodes=["tail", "head", "thorax"])
    res = evaluate(gt, pr)
    assert res.n_frames == 2 and res.n_gt_instances == 3 and res.n_matched == 3
    assert res.oks_map == pytest.approx(1.0)
    assert res.oks_mar == pytest.approx(1.0)
    assert res.mean_oks == pytest.approx(1.0)
    assert res.pixel_error.mean == 0 and res.pixel_error.p95 == 0
    assert res.pck == {"2": 1.0, "5": 1.0, "10": 1.0}
    assert res.detected_fraction == 1.0
    assert res.n_false_positives == 0 and res.n_false_negatives == 0


def test_shift_by_three_pixels():
    gt_frames = {i: [animal(10 + 60 * i, 10), animal(10 + 60 * i, 200)] for i in range(5)}
    pr_frames = {i: [a + [3.0, 0.0] for a in insts] for i, insts in gt_frames.items()}
    gt, pr = make_pair(gt_frames, pr_frames)
    res = evaluate(gt, pr)
    assert res.pixel_error.median == pytest.approx(3.0)
    assert res.pixel_error.mean == pytest.approx(3.0)
    assert res.node_pixel_error["thorax"].p90 == pytest.approx(3.0)
    assert res.pck["2"] == 0.0 and res.pck["5"] == 1.0 and res.pck["10"] == 1.0
    assert res.detected_fraction == 1.0
    # every instance matched, OKS below 1 but identical for all
    assert res.n_matched == 10
    assert 0 < res.mean_oks < 1
    expected = oks(gt_frames[0][0], pr_frames[0][0])
    assert res.mean_oks == pytest.approx(expected)
    # AP is 1 at thresholds the OKS reaches, 0 above
    for t, ap in res.ap.items():
        assert ap == pytest.approx(1.0 if expected >= float(t) else 0.0)


def test_missing_nodes_false_positives_and_missed_instances():
    gt_frames = {0: [animal(10, 10), animal(200, 200)]}
    miss_one = animal(10, 10)
    miss_one[2] = np.nan
    pr_frames = {0: [miss_one, animal(400, 10)]}  # second prediction is far from everything
    gt, pr = make_pair(gt_frames, pr_frames)
    res = evaluate(gt, pr)
    assert res.n_matched == 1
    assert res.n_false_positives == 1 and res.n_false_negatives == 1
    # 6 visible GT nodes, 2 found
    assert res.detected_fraction == pytest.approx(2 / 6)
    assert res.pck["2"] == pytest.approx(2 / 6)
    assert res.node_detected_fraction == {"head": 0.5, "thorax": 0.5, "tail": 0.0}
    assert res.pixel_error.n == 2 and res.pixel_error.mean == 0


def test_frames_argument_restricts_and_counts_unpredicted_frames():
    gt_frames = {0: [animal(10, 10)], 1: [animal(10, 10)], 2: [animal(10, 10)]}
    gt, pr = make_pair(gt_frames, {0: [animal(10, 10)]})
    res = evaluate(gt, pr, frames=[(0, 0), (0, 1)])
    assert res.frames == [(0, 0), (0, 1)]
    assert res.n_gt_instances == 2 and res.n_matched == 1
    assert res.oks_map == pytest.approx(0.5, abs=0.01)  # recall stops at 0.5


def test_low_scored_false_positive_ranks_after_true_positives():
    gt, pr = make_pair(
        {0: [animal(10, 10)], 1: [animal(10, 10)]},
        {0: [animal(10, 10), animal(300, 300)], 1: [animal(10, 10)]},
        scores={(0, 1): 0.1},
    )
    res = evaluate(gt, pr)
    assert res.oks_map == pytest.approx(1.0)  # the false positive comes after full recall
    gt, pr = make_pair(
        {0: [animal(10, 10)], 1: [animal(10, 10)]},
        {0: [animal(10, 10), animal(300, 300)], 1: [animal(10, 10)]},
        scores={(0, 1): 0.99},
    )
    assert evaluate(gt, pr).oks_map < 1.0


def test_hungarian_matching_beats_greedy():
    # greedy takes the best pair g0-p0 first and leaves g1 with the far p1;
    # the Hungarian assignment maximises total OKS instead
    gts = np.stack([animal(0, 0), animal(3, 0)])
    prs = np.stack([animal(1, 0), animal(-2, 0)])
    pairs, mat = match_instances(gts, prs)
    assert mat[0, 0] > max(mat[0, 1], mat[1, 0], mat[1, 1])
    assert sorted(pairs) == [(0, 1), (1, 0)]
    assert mat[0, 1] + mat[1, 0] > mat[0, 0] + mat[1, 1]


def test_average_precision_edge_cases():
    assert np.isnan(average_precision(np.array([]), np.array([]), 0)[0])
    assert average_precision(np.array([]), np.array([], bool), 3) == (0.0, 0.0)
    ap, rec = average_precision(np.array([0.9, 0.8]), np.array([True, False]), 1)
    assert ap == pytest.approx(1.0) and rec == 1.0


def test_same_labels_object_with_predictions_and_json(tmp_path):
    video = sio.Video(filename="/nonexistent/v.mp4", open_backend=False)
    skel = sio.Skeleton(list(NODES))
    lf = sio.LabeledFrame(
        video=video,
        frame_idx=3,
        instances=[
            sio.Instance.from_numpy(animal(10, 10), skeleton=skel),
            sio.PredictedInstance.from_numpy(animal(11, 10), skeleton=skel, score=0.7),
        ],
    )
    labels = sio.Labels(labeled_frames=[lf], videos=[video], skeletons=[skel])
    res = evaluate(labels, labels)
    assert res.pixel_error.median == pytest.approx(1.0)
    path = write_metrics(res, tmp_path / "run" / "metrics.json")
    data = json.loads(path.read_text())
    assert data["pixel_error"]["median"] == pytest.approx(1.0)
    assert data["pck"]["2"] == 1.0
    assert data["frames"] == [[0, 3]]
    assert "OKS mAP" in res.summary()


def test_empty_predictions_give_zero_not_crash():
    gt, pr = make_pair({0: [animal(10, 10)]}, {})
    res = evaluate(gt, pr)
    assert res.oks_map == 0.0 and res.detected_fraction == 0.0
    assert res.pixel_error.n == 0 and res.pixel_error.mean is None
    json.dumps(res.to_dict())
