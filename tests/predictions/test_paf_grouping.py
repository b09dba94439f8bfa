"""PAF grouping on synthetic fields: the right parts end up in the right animals."""

import numpy as np
import pytest

from napari_sleap_train.data.pafs import part_affinity_fields
from napari_sleap_train.predictions.paf_grouping import (
    GroupingSettings,
    edge_order,
    group_instances,
    score_candidates,
)

EDGES = np.array([[0, 1], [1, 2]])  # head -> thorax -> tail


def _peaks(animals):
    """Flat peaks of ``(n, k, 2)`` animals, shuffled so the order tells nothing."""
    n, k, _ = animals.shape
    pts = animals.reshape(-1, 2)
    ch = np.tile(np.arange(k), n)
    order = np.random.default_rng(0).permutation(len(pts))
    return pts[order], np.full(len(pts), 0.9), ch[order]


def _same_animals(found, want):
    """Each wanted animal matches one found animal point for point."""
    assert len(found) == len(want)
    for animal in want:
        d = np.nanmax(np.abs(found.points - animal[None]), axis=(1, 2))
        assert d.min() < 1e-9, f"no instance equals {animal.tolist()}"


@pytest.mark.parametrize("stride", [1, 2, 4])
def test_two_close_animals_facing_opposite_ways_are_separated(stride):
    animals = np.array(
        [
            [[10.0, 30.0], [30.0, 30.0], [50.0, 30.0]],  # facing left
            [[50.0, 37.0], [30.0, 37.0], [10.0, 37.0]],  # 7 px below, facing right
        ]
    )
    pafs = part_affinity_fields(animals, EDGES, 64, 64, sigma=6.0, output_stride=stride)  # half width 2.7 px
    peaks, values, channels = _peaks(animals)
    found = group_instances(peaks, values, channels, pafs, EDGES, 3, stride)
    _same_animals(found, animals)
    assert np.all(found.scores > 1.0)  # two edges, each well above the minimum line score
    np.testing.assert_allclose(found.point_scores, 0.9)


def test_nearest_part_is_not_always_the_partner():
    """B's thorax is nearer A's head than A's own thorax is; the fields decide."""
    animals = np.array(
        [
            [[10.0, 10.0], [40.0, 10.0], [40.0, 40.0]],
            [[20.0, 30.0], [14.0, 18.0], [4.0, 40.0]],
        ]
    )
    assert np.linalg.norm(animals[1, 1] - animals[0, 0]) < np.linalg.norm(animals[0, 1] - animals[0, 0])
    pafs = part_affinity_fields(animals, EDGES, 48, 48, sigma=4.0, output_stride=2)
    found = group_instances(*_peaks(animals), pafs, EDGES, 3, 2)
    _same_animals(found, animals)


def test_no_field_no_instances_and_missing_parts_stay_missing():
    animals = np.array([[[10.0, 30.0], [30.0, 30.0], [50.0, 30.0]]])
    peaks, values, channels = _peaks(animals)
    empty = np.zeros((32, 32, 4), np.float32)
    assert len(group_instances(peaks, values, channels, empty, EDGES, 3, 2)) == 0
    # the tail was not detected: the instance has head and thorax
    pafs = part_affinity_fields(animals, EDGES, 64, 64, sigma=6.0, output_stride=2)
    keep = channels != 2
    found = group_instances(peaks[keep], values[keep], channels[keep], pafs, EDGES, 3, 2)
    assert len(found) == 1
    np.testing.assert_allclose(found.points[0, :2], animals[0, :2])
    assert np.isnan(found.points[0, 2]).all() and np.isnan(found.point_scores[0, 2])
    # at least 3 parts wanted: it is dropped
    s = GroupingSettings(min_instance_peaks=3)
    assert len(group_instances(peaks[keep], values[keep], channels[keep], pafs, EDGES, 3, 2, s)) == 0


def test_max_instances_keeps_the_best_scored():
    animals = np.array(
        [
            [[10.0, 10.0], [30.0, 10.0], [50.0, 10.0]],
            [[10.0, 40.0], [30.0, 40.0], [50.0, 40.0]],
        ]
    )
    pafs = part_affinity_fields(animals, EDGES, 64, 64, sigma=6.0, output_stride=2)
    pafs[15:, :, 2:] *= 0.5  # the lower animal's second edge is weaker
    found = group_instances(*_peaks(animals), pafs, EDGES, 3, 2, GroupingSettings(max_instances=1))
    assert len(found) == 1
    np.testing.assert_allclose(found.points[0], animals[0])


def test_line_score_penalises_long_edges_and_the_sample_fraction_rejects_gaps():
    peaks = np.array([[0.0, 8.0], [60.0, 8.0]])
    channels = np.array([0, 1])
    pafs = np.zeros((16, 16, 2), np.float32)
    pafs[..., 0] = 1.0  # +x everywhere
    c = score_candidates(pafs, peaks, channels, np.array([[0, 1]]), 4)
    # max length 0.25 * 16 * 4 = 16 px; length 60: penalty 16/60 - 1
    assert c.score[0] == pytest.approx(1.0 + 16 / 60 - 1)
    pafs[:, 8:, 0] = 0.0  # the field covers only the first half of the segment
    s = GroupingSettings(max_edge_length_ratio=1.0)
    assert score_candidates(pafs, peaks, channels, np.array([[0, 1]]), 4, s).score[0] == pytest.approx(0.5)
    strict = GroupingSettings(max_edge_length_ratio=1.0, min_sample_fraction=0.8)
    assert np.isnan(score_candidates(pafs, peaks, channels, np.array([[0, 1]]), 4, strict).score[0])


def test_edge_order_is_breadth_first_from_the_root():
    # edges listed leaf first: tail <- thorax <- head, plus a wing off the thorax
    edges = np.array([[1, 2], [1, 3], [0, 1]])
    assert edge_order(edges) == [2, 0, 1]
    # a cycle has no root: every edge is still visited
    assert sorted(edge_order(np.array([[0, 1], [1, 0]]))) == [0, 1]
