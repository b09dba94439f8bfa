import numpy as np

from napari_sleap_train.data.anchors import anchor_points, bbox_midpoints

NAN = np.nan


def test_anchor_node_used_when_visible():
    inst = np.array([[[10, 20], [30, 60], [50, 40]]], dtype=float)
    np.testing.assert_allclose(anchor_points(inst, 1), [[30, 60]])


def test_missing_anchor_falls_back_to_bbox_midpoint():
    inst = np.array(
        [
            [[10, 20], [NAN, NAN], [50, 40]],
            [[0, 0], [5, 5], [10, 30]],
        ]
    )
    out = anchor_points(inst, 1)
    np.testing.assert_allclose(out, [[30, 30], [5, 5]])


def test_no_anchor_is_bbox_midpoint_of_visible_nodes():
    inst = np.array([[[0, 0], [NAN, NAN], [10, 4], [2, 8]]])
    np.testing.assert_allclose(anchor_points(inst, None), [[5, 4]])
    np.testing.assert_allclose(bbox_midpoints(inst), [[5, 4]])


def test_all_missing_instance_gives_nan_and_empty_input_works():
    inst = np.full((1, 3, 2), NAN)
    assert np.isnan(anchor_points(inst, 0)).all()
    assert anchor_points(np.zeros((0, 3, 2)), None).shape == (0, 2)
