"""Test-time views of crops: exact round trips and the consensus of their peaks."""

from __future__ import annotations

import numpy as np
import pytest

from napari_sleap_train.config.model import AugmentationConfig
from napari_sleap_train.predictions.views import (
    View,
    apply_view,
    consensus,
    points_from_view,
    turns_learned,
    values_from_view,
    view_list,
)


def test_view_counts_and_the_mirror_fallback():
    assert view_list(1) == [View(0, False)]
    assert view_list(2) == [View(0), View(2)]
    assert view_list(4) == [View(t) for t in range(4)]
    assert view_list(8) == [View(t, m) for m in (False, True) for t in range(4)]
    assert len(set(view_list(8))) == 8
    # without known left/right pairs a mirror would swap sides unseen: the quarter turns only
    assert view_list(8, can_mirror=False) == view_list(4)
    # a model that never saw a turned animal: the crop once
    assert view_list(8, can_turn=False) == [View()]

    def learned(rotate, angle):
        return turns_learned(AugmentationConfig(rotate=rotate, rotation_max_angle=angle).max_rotation)

    assert learned(True, 180.0) and learned(True, -180.0)
    assert not learned(True, 15.0) and not learned(False, 180.0)
    with pytest.raises(ValueError, match="1, 2, 4, 8"):
        view_list(3)


@pytest.mark.parametrize("view", view_list(8))
def test_a_peak_found_in_a_view_maps_back_to_where_it_is_in_the_crop(view):
    size = 12
    crops = np.zeros((2, size, size, 1), np.float32)
    spots = np.array([[[3.0, 7.0]], [[10.0, 1.0]]])  # xy of one bright pixel per crop
    for i, (x, y) in enumerate(spots[:, 0]):
        crops[i, int(y), int(x), 0] = 1.0
    shown = apply_view(crops, view)
    assert shown.flags.c_contiguous and shown.shape == crops.shape
    found = np.array([[np.unravel_index(np.argmax(c[..., 0]), c.shape[:2])[::-1]] for c in shown], float)
    assert np.array_equal(points_from_view(found, view, size), spots)


def test_mirrored_views_swap_left_and_right_partners():
    swap = np.array([0, 2, 1])  # node 1 and node 2 are partners
    pts = np.array([[[1.0, 1.0], [2.0, 5.0], [8.0, 5.0]]])
    vals = np.array([[0.9, 0.5, 0.7]])
    back = points_from_view(pts, View(0, True), 10, swap)
    # x mirrored about the crop centre, then node 1 takes what the view called node 2
    assert np.array_equal(back[0], [[8.0, 1.0], [1.0, 5.0], [7.0, 5.0]])
    assert np.array_equal(values_from_view(vals, View(0, True), swap), [[0.9, 0.7, 0.5]])
    assert np.array_equal(values_from_view(vals, View(1, False), swap), vals)


def test_the_point_most_views_agree_on_wins():
    # one instance, four views, two nodes: node 0 has an outlier, node 1 is split 1 / 3
    pts = np.array(
        [
            [[[10.0, 10.0], [5.0, 5.0]]],
            [[[10.5, 10.0], [30.0, 30.0]]],
            [[[40.0, 40.0], [30.5, 30.0]]],
            [[[10.0, 11.0], [30.0, 30.5]]],
        ]
    ).transpose(1, 0, 2, 3)  # (n=1, views=4, k=2, 2)
    vals = np.array([[[0.9, 0.99], [0.6, 0.4], [0.95, 0.5], [0.3, 0.5]]]).reshape(1, 4, 2)
    points, scores = consensus(pts, vals, radius=2.0)
    w = np.array([0.9, 0.6, 0.3])
    expect0 = (w[:, None] * pts[0, [0, 1, 3], 0]).sum(0) / w.sum()
    assert np.allclose(points[0, 0], expect0)
    assert scores[0, 0] == pytest.approx(w.sum() / 4)
    # one very confident view does not outvote three that agree
    w = np.array([0.4, 0.5, 0.5])
    assert np.allclose(points[0, 1], (w[:, None] * pts[0, 1:, 1]).sum(0) / w.sum())
    assert scores[0, 1] == pytest.approx(1.4 / 4)


def test_views_without_a_peak_neither_vote_nor_poison_the_mean():
    pts = np.full((1, 3, 2, 2), np.nan)
    pts[0, 1, 0] = [4.0, 6.0]  # node 0 found by one view only; node 1 by none
    vals = np.array([[[0.1, 0.1], [0.8, 0.1], [0.15, 0.05]]])  # sub-threshold values of the missing peaks
    points, scores = consensus(pts, vals)
    assert np.allclose(points[0, 0], [4.0, 6.0])
    assert scores[0, 0] == pytest.approx(0.8 / 3)
    assert np.isnan(points[0, 1]).all() and scores[0, 1] == 0


def test_one_view_is_the_view_itself():
    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 50, (5, 1, 4, 2))
    vals = rng.uniform(0.2, 1, (5, 1, 4))
    points, scores = consensus(pts, vals)
    assert np.allclose(points, pts[:, 0]) and np.allclose(scores, vals[:, 0])
