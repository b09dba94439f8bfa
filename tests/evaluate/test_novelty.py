"""Pose novelty: distance of each test pose to the nearest training pose, on hand-made poses."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap_train.evaluate import EvaluationError
from napari_sleap_train.evaluate.novelty import novelty_bins, novelty_breakdown, pick_new_poses, pose_novelty
from tests.evaluate.test_swaps import _labels

NODES = ["head", "thorax", "wingL", "wingR", "legL4", "legR4"]
THORAX = 1


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


def test_a_moved_and_turned_copy_of_a_training_pose_is_not_new():
    train = np.stack([fly(), fly(leg=30)])
    test = np.stack([turned(fly(500, 700), 75), turned(fly(50, 60, leg=30), -140)])
    assert np.allclose(pose_novelty(train, test), 0, atol=1e-6)


def test_novelty_is_the_rms_left_after_the_best_fit():
    train = fly()[None]
    shifted = turned(fly(300, 40, leg=10), 33)  # one of 6 nodes 10 px off, turned and moved
    (d,) = pose_novelty(train, shifted[None])
    assert 0 < d < np.sqrt(100 / 6)  # the best fit shares the 10 px among the nodes

    def rms_at(degrees):  # both centered, the test pose turned by ``degrees``
        r = turned(shifted, degrees)
        return np.sqrt(np.mean(np.sum((r - r.mean(0) - (fly() - fly().mean(0))) ** 2, -1)))

    brute = min(rms_at(t) for t in np.linspace(-40, -25, 3001))
    assert d == pytest.approx(brute, abs=1e-3)
    mirrored = fly() * [-1, 1]  # a left/right mirror: wings and legs trade sides
    mirrored[:, 0] += 400
    mirrored[4, 0] -= 25  # and the left leg out further: not a turned copy
    assert pose_novelty(train, mirrored[None])[0] > 5


def test_missing_nodes_are_left_out():
    train = fly(leg=20)[None]
    test = np.stack([fly(), fly(), fly()])
    test[1, 4] = np.nan  # the moved leg missing: what is left matches exactly
    test[2, 1:] = np.nan  # one node left: nothing to compare
    novelty = pose_novelty(train, test)
    assert 0 < novelty[0] < np.sqrt(400 / 6)
    assert novelty[1] == pytest.approx(0, abs=1e-6)
    assert np.isnan(novelty[2])
    assert np.isnan(pose_novelty(train[:0], test)).all()


def test_bins_share_and_errors():
    novelty = np.array([0.5, 1.0, 5.0, 20.0, np.nan])
    errors = np.array([[1.0, 1.0], [1.0, 3.0], [4.0, np.nan], [30.0, 50.0], [99.0, 99.0]])
    near, off, new = novelty_bins(novelty, errors, edges=(3, 8))
    assert (near.instances, off.instances, new.instances) == (2, 1, 1)
    assert near.share == pytest.approx(0.5) and new.share == pytest.approx(0.25)
    assert near.median_px == pytest.approx(1.0) and off.median_px == pytest.approx(4.0)
    assert new.median_px == pytest.approx(40.0) and new.high_px == float("inf")
    assert novelty_bins(np.array([1.0]), np.array([[np.nan]]), edges=(3,))[0].median_px is None


def test_breakdown_of_labels_a_new_pose_carries_the_large_error():
    video = sio.Video(filename="/nonexistent/v.mp4", open_backend=False)
    skel = sio.Skeleton(list(NODES))
    train = _labels({0: [fly()]}, False, video, skel)
    seen, new = turned(fly(100, 100), 90), fly(400, 100, leg=40)
    gt = _labels({5: [seen, new]}, False, video, skel)
    wrong_leg = new.copy()
    wrong_leg[4] = fly(400, 100)[4]  # the model puts the leg where training showed it: 40 px off
    pr = _labels({5: [seen + 0.5, wrong_leg]}, True, video, skel)
    near, off, far = novelty_breakdown(train, gt, pr)
    assert (near.instances, off.instances, far.instances) == (1, 0, 1)
    assert near.p95_px == pytest.approx(np.sqrt(0.5))
    assert far.p95_px == pytest.approx(30) and far.median_px == pytest.approx(0)
    with pytest.raises(EvaluationError, match="no skeleton"):
        novelty_breakdown(train, sio.Labels(), pr)


def test_new_poses_are_picked_first_and_one_new_pose_only_once():
    known = np.stack([fly()])
    frames = [
        np.stack([turned(fly(300, 300), 50)]),  # a known pose, turned
        np.stack([fly(leg=40), fly(600, 600)]),  # a new pose beside a known one
        np.stack([turned(fly(900, 100, leg=39), -70)]),  # nearly the same new pose
        np.stack([fly(leg=-25)]),  # another new pose, less far
        np.zeros((0, 6, 2)),  # a frame without predictions
    ]
    picks = pick_new_poses(known, frames, 3)
    assert [i for i, _ in picks] == [1, 3, 2]  # frame 2 waits: frame 1 already shows its pose
    assert picks[0][1] > picks[1][1] > picks[2][1] >= 0
    assert picks[2][1] < 1  # once frame 1 is picked, frame 2's pose is nearly known
    assert len(pick_new_poses(known, frames, 10)) == 4  # every frame with a pose, once
    assert pick_new_poses(known, frames, 0) == [] and pick_new_poses(known, [], 3) == []


def test_with_nothing_labeled_the_first_pick_is_new_and_lone_points_count_as_known():
    lone = np.full((1, 6, 2), np.nan)
    lone[0, 0] = [5.0, 5.0]
    frames = [lone, np.stack([fly()]), np.stack([fly(leg=30)])]
    picks = pick_new_poses(np.zeros((0, 6, 2)), frames, 3)
    assert picks[0] == (1, float("inf"))
    assert picks[1][0] == 2 and picks[1][1] > 5
    assert picks[2] == (0, 0.0)
