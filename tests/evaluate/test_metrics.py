"""Evaluation metrics on constructed cases."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap_train.evaluate import evaluate, match_greedy, match_hungarian, oks, oks_matrix, write_metrics
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
    assert res.oks_map == pytest.approx(1.0)
    assert res.oks_map_hungarian == pytest.approx(1.0)  # the false positive comes after full recall
    gt, pr = make_pair(
        {0: [animal(10, 10)], 1: [animal(10, 10)]},
        {0: [animal(10, 10), animal(300, 300)], 1: [animal(10, 10)]},
        scores={(0, 1): 0.99},
    )
    res = evaluate(gt, pr)
    # SLEAP's figure leaves out a prediction that overlaps no animal; the Hungarian one ranks it first
    assert res.oks_map == pytest.approx(1.0)
    assert res.oks_map_hungarian < 1.0
    assert res.n_false_positives == 1


def test_greedy_matching_follows_the_scores_hungarian_the_total():
    # g0 and g1 3 px apart; p0 is nearest to g0, p1 a little off g0 and far from g1
    gts = np.stack([animal(0, 0), animal(3, 0)])
    prs = np.stack([animal(1, 0), animal(-2, 0)])
    pairs, mat = match_hungarian(gts, prs)
    assert mat[0, 0] > max(mat[0, 1], mat[1, 0], mat[1, 1])
    assert sorted(pairs) == [(0, 1), (1, 0)]
    assert mat[0, 1] + mat[1, 0] > mat[0, 0] + mat[1, 1]
    # greedy: the higher-scored prediction picks first and takes its best animal
    assert match_greedy(gts, prs, np.array([0.9, 0.5]))[0] == [(0, 0), (1, 1)]
    assert match_greedy(gts, prs, np.array([0.5, 0.9]))[0] == [(0, 1), (1, 0)]
    # equal scores keep the prediction order; nothing above min_oks stays unmatched
    assert match_greedy(gts, prs, np.array([0.7, 0.7]))[0] == [(0, 0), (1, 1)]
    assert match_greedy(gts, prs, np.array([0.9, 0.5]), min_oks=0.9999)[0] == []


def test_oks_matrix_is_the_per_pair_formula():
    rng = np.random.default_rng(3)
    gts = rng.uniform(0, 100, (4, 5, 2))
    prs = gts[[2, 0, 1]] + rng.normal(0, 2, (3, 5, 2))
    gts[1, 3] = np.nan  # a node not labeled
    prs[0, 0] = np.nan  # a node not predicted
    gts[3] = np.nan  # nothing visible
    sigmas = np.array([0.02, 0.03, 0.025, 0.05, 0.1])
    mat = oks_matrix(gts, prs, sigmas)
    assert mat.shape == (4, 3) and np.isnan(mat[3]).all()
    for i in range(3):
        g = gts[i]
        vis = np.isfinite(g).all(axis=-1)
        w, h = g[vis].max(axis=0) - g[vis].min(axis=0)
        for j in range(3):
            d2 = ((g - prs[j]) ** 2).sum(axis=-1)
            ks = np.exp(-d2 / (2 * w * h * (2 * sigmas) ** 2))
            expected = np.where(vis & np.isfinite(ks), ks, 0.0).sum() / vis.sum()
            assert mat[i, j] == pytest.approx(expected, rel=1e-12)
            assert oks(g, prs[j], sigmas) == pytest.approx(expected, rel=1e-12)


def test_map_on_a_hand_computed_example():
    """Two animals, three predictions; the figures worked out by hand below.

    ``animal`` spans a 40 x 30 box: OKS of a prediction shifted by ``d`` px is
    ``exp(-d^2 / (2 * 1200 * 0.05^2)) = exp(-d^2 / 6)``.

    - p1 (score 0.9) on A, d^2 = 0.6   -> OKS exp(-0.1)   = 0.905
    - p2 (score 0.8) on A, d^2 = 0.006 -> OKS exp(-0.001) = 0.999
    - p3 (score 0.7) on B, d^2 = 3     -> OKS exp(-0.5)   = 0.607

    Greedy by score (SLEAP): p1 takes A, p2 finds A taken and B out of reach
    (not counted), p3 takes B. Ranked pairs: p1 (0.905), p3 (0.607), 2 animals.
    - OKS 0.50, 0.55, 0.60: both true positives -> AP 1, recall 1
    - 0.65 ... 0.90 (6 thresholds): p1 true, p3 false; precision 1 up to
      recall 0.5 -> AP 51/101 (recall points 0.00 ... 0.50), recall 0.5
    - 0.95: none -> AP 0, recall 0
    mAP = (3 + 6 * 51/101) / 10, mAR = (3 + 6 * 0.5) / 10 = 0.6.

    Hungarian (largest total OKS): A-p2, B-p3, p1 unmatched; ranked p1 (false),
    p2 (0.999), p3 (0.607).
    - 0.50 ... 0.60: precision [0, 1/2, 2/3] -> envelope 2/3 everywhere -> AP 2/3
    - 0.65 ... 0.95 (7): p2 only; envelope 1/2 up to recall 0.5 -> AP 25.5/101
    mAP = (3 * 2/3 + 7 * 25.5/101) / 10, mAR = (3 * 1 + 7 * 0.5) / 10 = 0.65.
    """
    a, b = animal(10, 10), animal(300, 300)
    shift = lambda p, d2: p + [np.sqrt(d2), 0.0]
    gt, pr = make_pair(
        {0: [a, b]},
        {0: [shift(a, 0.6), shift(a, 0.006), shift(b, 3.0)]},
        scores={(0, 0): 0.9, (0, 1): 0.8, (0, 2): 0.7},
    )
    res = evaluate(gt, pr)
    assert res.n_matched == 2 and res.n_false_positives == 1 and res.n_false_negatives == 0
    assert res.mean_oks == pytest.approx((np.exp(-0.1) + np.exp(-0.5)) / 2)
    assert res.ap["0.60"] == pytest.approx(1.0) and res.ap["0.65"] == pytest.approx(51 / 101)
    assert res.ap["0.90"] == pytest.approx(51 / 101) and res.ap["0.95"] == 0.0
    assert res.oks_map == pytest.approx((3 + 6 * 51 / 101) / 10)
    assert res.oks_mar == pytest.approx(0.6)
    assert res.oks_map_hungarian == pytest.approx((3 * 2 / 3 + 7 * 25.5 / 101) / 10)
    assert res.oks_mar_hungarian == pytest.approx(0.65)
    # pixel error follows the greedy pairs: p1 on A (0.775 px) and p3 on B (1.732 px)
    assert res.pixel_error.n == 6
    assert res.pixel_error.mean == pytest.approx((np.sqrt(0.6) + np.sqrt(3.0)) / 2)


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
