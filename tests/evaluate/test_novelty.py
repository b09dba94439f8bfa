"""Pose novelty: distance of each test pose to the nearest training pose, on hand-made poses."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap_train.evaluate import EvaluationError
from napari_sleap_train.evaluate.novelty import aligned_poses, novelty_bins, novelty_breakdown, pose_novelty

NODES = ["head", "thorax", "wingL", "wingR", "legL4", "legR4"]
HEAD, THORAX = 0, 1


def fly(x=100.0, y=100.0, leg=0.0):
    """A fly facing up (head above thorax); ``leg`` moves the left leg tip outwards."""
    return np.array(
        [[x, y], [x, y + 20], [x - 20, y + 40], [x + 20, y + 40], [x - 30 - leg, y + 10], [x + 30, y + 10]], dtype=float
    )


def turned(pose, degrees, about=THORAX):
    """``pose`` turned about its thorax (image coordinates)."""
    a = np.deg2rad(degrees)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    c = pose[about]
    return (pose - c) @ rot.T + c


def test_alignment_puts_the_anchor_at_the_origin_and_the_head_up():
    for degrees in (0, 37, 90, 180, -120):
        out = aligned_poses(turned(fly(300, 50), degrees)[None], THORAX, HEAD)[0]
        assert np.allclose(out[THORAX], 0)
        assert np.allclose(out[HEAD], [0, -20])  # straight up, 20 px
        assert np.allclose(out, fly(0, -20))


def test_a_moved_and_turned_copy_of_a_training_pose_is_not_new():
    train = np.stack([fly(), fly(leg=30)])
    test = np.stack([turned(fly(500, 700), 75), turned(fly(50, 60, leg=10), -140)])
    novelty = pose_novelty(train, test, THORAX, HEAD)
    assert novelty[0] == pytest.approx(0, abs=1e-9)
    # 10 px leg shift on one of 6 nodes against the nearest training fly (leg 0): sqrt(100 / 6)
    assert novelty[1] == pytest.approx(np.sqrt(100 / 6))


def test_missing_nodes_are_left_out_and_a_missing_anchor_gives_nan():
    train = fly(leg=20)[None]
    test = np.stack([fly(), fly(), fly()])
    test[1, 4] = np.nan  # the moved leg missing: what is left matches exactly
    test[2, THORAX] = np.nan
    novelty = pose_novelty(train, test, THORAX, HEAD)
    assert novelty[0] == pytest.approx(np.sqrt(400 / 6))
    assert novelty[1] == pytest.approx(0, abs=1e-9)
    assert np.isnan(novelty[2])
    assert np.isnan(pose_novelty(train[:0], test, THORAX, HEAD)).all()


def test_bins_share_and_errors():
    novelty = np.array([0.5, 1.0, 5.0, 20.0, np.nan])
    errors = np.array([[1.0, 1.0], [1.0, 3.0], [4.0, np.nan], [30.0, 50.0], [99.0, 99.0]])
    near, off, new = novelty_bins(novelty, errors, edges=(3, 8))
    assert (near.instances, off.instances, new.instances) == (2, 1, 1)
    assert near.share == pytest.approx(0.5) and new.share == pytest.approx(0.25)
    assert near.median_px == pytest.approx(1.0) and off.median_px == pytest.approx(4.0)
    assert new.median_px == pytest.approx(40.0) and new.high_px == float("inf")
    assert novelty_bins(np.array([1.0]), np.array([[np.nan]]), edges=(3,))[0].median_px is None


def _labels(frames, predicted, video, skel):
    labels = sio.Labels(videos=[video], skeletons=[skel])
    for fi, poses in frames.items():
        make = (
            (lambda p: sio.PredictedInstance.from_numpy(p, skeleton=skel, score=0.9))
            if predicted
            else (lambda p: sio.Instance.from_numpy(p, skeleton=skel))
        )
        labels.append(sio.LabeledFrame(video=video, frame_idx=fi, instances=[make(p) for p in poses]))
    return labels


def test_breakdown_of_labels_a_new_pose_carries_the_large_error():
    video = sio.Video(filename="/nonexistent/v.mp4", open_backend=False)
    skel = sio.Skeleton(list(NODES))
    train = _labels({0: [fly()]}, False, video, skel)
    seen, new = turned(fly(100, 100), 90), fly(400, 100, leg=40)
    gt = _labels({5: [seen, new]}, False, video, skel)
    wrong_leg = new.copy()
    wrong_leg[4] = fly(400, 100)[4]  # the model puts the leg where training showed it: 40 px off
    pr = _labels({5: [seen + 0.5, wrong_leg]}, True, video, skel)
    near, off, far = novelty_breakdown(train, gt, pr, "thorax", "head")
    assert (near.instances, off.instances, far.instances) == (1, 0, 1)
    assert near.p95_px == pytest.approx(np.sqrt(0.5))
    assert far.p95_px == pytest.approx(30) and far.median_px == pytest.approx(0)
    with pytest.raises(EvaluationError, match="abdomen"):
        novelty_breakdown(train, gt, pr, "abdomen", "head")
