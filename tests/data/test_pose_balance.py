"""Sampling weights that balance repeated poses: a pose shown N times weighs 1/N."""

from __future__ import annotations

import numpy as np

from napari_sleap_train.data.pose_balance import frame_weights, instance_weights

# a 4-node "animal" about 20 px across
POSE = np.array([[0.0, 0.0], [10.0, 0.0], [20.0, 2.0], [10.0, 8.0]])
OTHER = np.array([[0.0, 0.0], [10.0, 0.0], [14.0, 12.0], [4.0, 10.0]])


def test_a_repeated_pose_weighs_one_over_its_count_wherever_it_stands():
    rng = np.random.default_rng(0)
    # nine resting copies spread over the frame (position must not matter), jittered by a pixel
    resting = [POSE + rng.uniform(0, 500, size=2) + rng.normal(0, 0.2, POSE.shape) for _ in range(9)]
    instances = np.stack([*resting, OTHER, OTHER[::-1]])
    w = instance_weights(instances)
    np.testing.assert_allclose(w[:9], 1 / 9)
    np.testing.assert_allclose(w[9:], 1.0)  # two distinct poses each shown once


def test_heading_matters_and_a_missing_node_counts_as_a_difference():
    turned = POSE @ np.array([[0.0, 1.0], [-1.0, 0.0]])  # the same pose, 90 degrees turned
    missing = POSE.copy()
    missing[2] = np.nan
    w = instance_weights(np.stack([POSE, POSE, turned, missing]))
    np.testing.assert_allclose(w, [0.5, 0.5, 1.0, 1.0])


def test_frames_weigh_the_mean_of_their_instances_and_empty_ones_keep_weight_one():
    frames = [
        np.stack([POSE, OTHER]),  # one common, one unique pose: (1/3 + 1) / 2
        POSE[None] + 100,
        POSE[None] - 50,
        np.full((1, 4, 2), np.nan),  # no usable point
        np.zeros((0, 4, 2)),  # no instance at all
    ]
    np.testing.assert_allclose(frame_weights(frames), [(1 / 3 + 1) / 2, 1 / 3, 1 / 3, 1.0, 1.0])


def test_no_frames_or_no_points_give_plain_weights():
    assert frame_weights([]).shape == (0,)
    np.testing.assert_allclose(frame_weights([np.full((2, 4, 2), np.nan)]), [1.0])
