import numpy as np
import pytest

from napari_sleap_train.predictions.class_assignment import (
    assign_classes,
    group_peaks_by_class,
    sample_class_maps,
)


def test_hungarian_gives_distinct_classes_maximising_the_sum():
    # both crops prefer class 0; the assignment that sums highest gives crop 1 class 0
    probs = np.array([[0.6, 0.4], [0.9, 0.1]])
    rows, classes = assign_classes(probs)
    assert rows.tolist() == [0, 1] and classes.tolist() == [1, 0]
    assert len(set(classes.tolist())) == 2


def test_more_candidates_than_classes_leaves_the_weakest_out():
    probs = np.array([[0.2, 0.3], [0.9, 0.1], [0.1, 0.8]])
    rows, classes = assign_classes(probs)
    assert dict(zip(rows.tolist(), classes.tolist())) == {1: 0, 2: 1}


def test_best_only_drops_matches_off_the_rows_best_class():
    probs = np.array([[0.6, 0.4], [0.9, 0.1]])
    rows, classes = assign_classes(probs, best_only=True)
    assert rows.tolist() == [1] and classes.tolist() == [0]


def test_nan_scores_are_never_preferred_and_empty_input_is_fine():
    rows, classes = assign_classes(np.array([[np.nan, 0.2], [0.5, 0.4]]))
    assert dict(zip(rows.tolist(), classes.tolist())) == {0: 1, 1: 0}
    rows, classes = assign_classes(np.zeros((0, 3)))
    assert rows.size == 0 and classes.size == 0
    with pytest.raises(ValueError, match="n_classes"):
        assign_classes(np.zeros(3))


def test_class_maps_are_read_at_the_nearest_cell_and_clipped_to_the_grid():
    maps = np.zeros((4, 5, 2), dtype=np.float32)
    maps[1, 2] = [0.9, 0.1]
    maps[3, 4] = [0.2, 0.7]
    got = sample_class_maps(maps, np.array([[2.4, 0.6], [9.0, 7.0], [-3.0, -1.0]]))
    np.testing.assert_allclose(got, [[0.9, 0.1], [0.2, 0.7], [0.0, 0.0]], atol=1e-7)


def test_peaks_group_into_one_instance_per_class():
    # two animals, two parts; part 1 has a spurious third peak that class maps call class 0
    points = np.array([[10, 10], [50, 50], [12, 14], [52, 54], [80, 80]], dtype=float)
    values = np.array([0.9, 0.8, 0.7, 0.6, 0.3])
    channels = np.array([0, 0, 1, 1, 1])
    probs = np.array([[0.95, 0.05], [0.1, 0.9], [0.9, 0.1], [0.2, 0.8], [0.6, 0.1]])
    g = group_peaks_by_class(points, values, channels, probs, n_parts=2)
    np.testing.assert_array_equal(g.points[0], [[10, 10], [12, 14]])
    np.testing.assert_array_equal(g.points[1], [[50, 50], [52, 54]])
    np.testing.assert_allclose(g.point_scores, [[0.9, 0.7], [0.8, 0.6]])
    np.testing.assert_allclose(g.class_probs, [[0.95, 0.9], [0.9, 0.8]])
    assert g.found.tolist() == [True, True]


def test_a_class_without_peaks_is_not_found():
    g = group_peaks_by_class(np.array([[1.0, 2.0]]), np.array([0.5]), np.array([1]), np.array([[0.2, 0.7]]), 2)
    assert g.found.tolist() == [False, True]
    assert np.isnan(g.points[1, 0]).all() and g.points[1, 1].tolist() == [1.0, 2.0]
