"""Similarity matrices and one-to-one matching on small hand-checked examples."""

from __future__ import annotations

import numpy as np
import pytest

from napari_sleap_train.tracking import TrackerSettings, TrackingSettingsError
from napari_sleap_train.tracking.matching import greedy_matching, hungarian_matching
from napari_sleap_train.tracking.similarity import (
    centroid_similarity,
    instance_similarity,
    iou_similarity,
    oks_similarity,
    similarity_matrix,
)

NAN = np.nan


def test_greedy_and_hungarian_differ_where_they_should():
    # greedy takes the 0.9 pair first and is left with 0.1; Hungarian takes 0.8 + 0.8
    sim = np.array([[0.9, 0.8], [0.8, 0.1]])
    assert greedy_matching(sim) == [(0, 0), (1, 1)]
    assert sorted(hungarian_matching(sim)) == [(0, 1), (1, 0)]


def test_matching_never_uses_forbidden_pairs_and_handles_rectangles():
    sim = np.array([[NAN, 0.5, 0.2], [NAN, NAN, NAN]])
    assert greedy_matching(sim) == [(0, 1)]
    assert hungarian_matching(sim) == [(0, 1)]
    assert greedy_matching(np.zeros((0, 3))) == [] and hungarian_matching(np.full((2, 2), NAN)) == []
    tall = np.array([[0.1], [0.7], [0.3]])
    assert greedy_matching(tall) == [(1, 0)] and hungarian_matching(tall) == [(1, 0)]


def test_similarities_on_known_points():
    q = np.array([[[0.0, 0.0], [10.0, 0.0]]])
    r = np.array([[[3.0, 4.0], [13.0, 4.0]], [[0.0, 0.0], [NAN, NAN]], [[NAN, NAN], [NAN, NAN]]])
    # every node 5 px away; scale 5 -> exp(-1/2)
    inst = instance_similarity(q, r, scale=5.0)
    assert inst[0, 0] == pytest.approx(np.exp(-0.5))
    assert inst[0, 1] == pytest.approx(1.0)  # the candidate's one visible node matches exactly
    assert np.isnan(inst[0, 2])
    cen = centroid_similarity(q, r)
    assert cen[0, 0] == pytest.approx(-5.0) and cen[0, 1] == pytest.approx(-5.0)
    oks_all = oks_similarity(q, r, errors=5.0, normalization="all")
    assert oks_all[0, 1] == pytest.approx(0.5)  # one of two nodes, exact
    assert oks_similarity(q, r, errors=5.0, normalization="ref")[0, 1] == pytest.approx(1.0)
    boxes_q = np.array([[[0.0, 0.0], [10.0, 10.0]]])
    boxes_r = np.array([[[5.0, 0.0], [15.0, 10.0]], [[20.0, 20.0], [30.0, 30.0]]])
    assert iou_similarity(boxes_q, boxes_r)[0].tolist() == pytest.approx([50 / 150, 0.0])


def test_similarity_matrix_dispatches_on_settings():
    q = np.zeros((2, 3, 2))
    r = np.ones((4, 3, 2))
    for kind in ("instance", "centroid", "iou", "oks"):
        assert similarity_matrix(q, r, TrackerSettings(similarity=kind)).shape == (2, 4)


@pytest.mark.parametrize(
    "change",
    [
        dict(tracker="kalman"),
        dict(track_window=0),
        dict(max_tracks=-1),
        dict(robust=0.0),
        dict(connect_single_breaks=True),
        dict(oks_errors=0.0),
        dict(similarity="x"),
    ],
)
def test_bad_settings_say_which(change):
    with pytest.raises(TrackingSettingsError):
        TrackerSettings(**change).validate()


def test_settings_round_trip_as_dict():
    s = TrackerSettings(tracker="flow", max_tracks=3, oks_errors=(1.0, 2.0))
    s.flow.max_fb_error = 2.0
    s.cull.max_instances = 3
    assert TrackerSettings.from_dict(s.to_dict()) == s
    with pytest.raises(TrackingSettingsError):
        TrackerSettings.from_dict({"trackr": "flow"})
