"""Part affinity fields on hand-made geometry, and the bottom-up training example."""

import numpy as np
import pytest

from napari_sleap_train.config.model import AugmentationConfig
from napari_sleap_train.data.augmentation import AugmentParams, augment, sample_params
from napari_sleap_train.data.errors import DataError
from napari_sleap_train.data.pafs import edge_indices, half_width, part_affinity_fields
from napari_sleap_train.data.training_inputs import bottom_up_example
from tests.data.bottom_up_helpers import bottom_up_config


def _at(field, x, y, stride, edge=0):
    """Field vector of ``edge`` at input pixel ``(x, y)`` (a grid point)."""
    return field[int(y // stride), int(x // stride), 2 * edge : 2 * edge + 2]


@pytest.mark.parametrize("stride", [1, 2, 4])
def test_horizontal_edge_points_right_near_it_and_is_zero_far_away(stride):
    pts = np.array([[8.0, 32.0], [56.0, 32.0]])  # src -> dst, left to right
    f = part_affinity_fields(pts, np.array([[0, 1]]), 64, 64, sigma=4.0, output_stride=stride)
    assert f.shape == (64 // stride, 64 // stride, 2) and f.dtype == np.float32
    np.testing.assert_allclose(_at(f, 32, 32, stride), [1.0, 0.0], atol=1e-6)  # on the segment
    np.testing.assert_allclose(_at(f, 8, 32, stride), [1.0, 0.0], atol=1e-6)  # at an end
    np.testing.assert_allclose(_at(f, 32, 0, stride), [0.0, 0.0], atol=1e-6)  # 32 px above
    np.testing.assert_allclose(_at(f, 0, 0, stride), [0.0, 0.0], atol=1e-6)
    # the y channel is zero everywhere for a horizontal edge; x never exceeds 1
    assert np.abs(f[..., 1]).max() == 0 and f[..., 0].max() <= 1.0 + 1e-6


def test_weight_is_sleaps_and_half_width_is_where_it_halves():
    sigma = 16.0
    pts = np.array([[0.0, 20.0], [63.0, 20.0]])
    f = part_affinity_fields(pts, np.array([[0, 1]]), 64, 64, sigma=sigma)
    for d in (1, 2, 3, 4, 6):
        assert f[20 + d, 30, 0] == pytest.approx(np.exp(-(d**4) / (2 * sigma**2)), rel=1e-5)
    hw = half_width(sigma)  # 1.085 * 4 = 4.34 px
    assert hw == pytest.approx(4.34, abs=0.01)
    assert f[20 + 4, 30, 0] > 0.5 > f[20 + 5, 30, 0]


def test_vertical_edge_and_direction_follow_source_to_destination():
    pts = np.array([[20.0, 50.0], [20.0, 10.0]])  # bottom -> top: unit vector (0, -1)
    f = part_affinity_fields(pts, np.array([[0, 1]]), 64, 48, sigma=4.0, output_stride=2)
    np.testing.assert_allclose(_at(f, 20, 30, 2), [0.0, -1.0], atol=1e-6)
    np.testing.assert_allclose(_at(f, 40, 30, 2), [0.0, 0.0], atol=1e-6)
    # reversing the edge flips the field
    g = part_affinity_fields(pts, np.array([[1, 0]]), 64, 48, sigma=4.0, output_stride=2)
    np.testing.assert_allclose(g, -f, atol=1e-6)


def test_channel_layout_is_two_per_edge_in_edge_order():
    pts = np.array([[10.0, 10.0], [50.0, 10.0], [50.0, 50.0]])  # a -> b right, b -> c down
    f = part_affinity_fields(pts, np.array([[0, 1], [1, 2]]), 64, 64, sigma=4.0)
    assert f.shape[-1] == 4
    np.testing.assert_allclose(f[10, 30], [1.0, 0.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(f[30, 50], [0.0, 0.0, 0.0, 1.0], atol=1e-6)


def test_two_instances_each_get_their_edge_and_missing_nodes_give_nothing():
    pts = np.array(
        [
            [[8.0, 16.0], [56.0, 16.0]],  # horizontal at y=16
            [[30.0, 30.0], [30.0, 62.0]],  # vertical at x=30, below
            [[np.nan, np.nan], [10.0, 50.0]],  # source missing
        ]
    )
    f = part_affinity_fields(pts, np.array([[0, 1]]), 64, 64, sigma=4.0)
    np.testing.assert_allclose(f[16, 50], [1.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(f[50, 30], [0.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(f[50, 10], [0.0, 0.0], atol=1e-6)
    assert np.isfinite(f).all()
    # where two instances' edges overlap the fields add up, as in SLEAP
    same = part_affinity_fields(pts[[0, 0]], np.array([[0, 1]]), 64, 64, sigma=4.0)
    np.testing.assert_allclose(same[16, 30], [2.0, 0.0], atol=1e-6)


def test_edge_indices_name_unknown_nodes_in_plain_words():
    assert edge_indices([["a", "b"], ["b", "c"]], ["a", "b", "c"]).tolist() == [[0, 1], [1, 2]]
    with pytest.raises(DataError, match="names 'x', which the skeleton does not have"):
        edge_indices([["a", "x"]], ["a", "b"])
    with pytest.raises(DataError, match="the skeleton has none"):
        edge_indices([], ["a", "b"])


NODES = ["thorax", "left", "right"]
EDGES = [("thorax", "left"), ("thorax", "right")]


def test_bottom_up_example_shapes_and_fields_follow_the_scaled_frame():
    inst = np.array([[[100.0, 80.0], [60.0, 80.0], [140.0, 80.0]]])  # left is at smaller x
    img = np.zeros((160, 200, 1), np.uint8)
    x, cm, pafs = bottom_up_example(
        img, inst, bottom_up_config(), augment=False, node_names=NODES, skeleton_edges=EDGES
    )
    assert x.shape == (80, 112, 1)  # 0.5 scaling, padded to 16
    assert cm.shape == (40, 56, 3) and pafs.shape == (20, 28, 4)
    # thorax at (50, 40) in the network input: the left edge points -x, the right edge +x
    np.testing.assert_allclose(pafs[10, 10, 0:2], [-1.0, 0.0], atol=1e-3)  # (40, 40): on thorax -> left
    np.testing.assert_allclose(pafs[10, 15, 2:4], [1.0, 0.0], atol=1e-3)  # (60, 40): on thorax -> right


def test_flip_keeps_fields_on_the_legs_the_image_shows():
    """After a mirror the symmetric nodes swap, so 'thorax -> left' follows the leg now on the left."""
    inst = np.array([[[100.0, 80.0], [60.0, 50.0], [140.0, 110.0]]])
    img = np.zeros((160, 200, 1), np.uint8)
    cfg = bottom_up_config(AugmentationConfig(flip=True, flip_horizontal=True))
    symmetry = np.array([0, 2, 1])
    seed = next(s for s in range(100) if sample_params(cfg.augmentation, np.random.default_rng(s)).flip_horizontal)
    rng = np.random.default_rng(seed)
    x, cm, pafs = bottom_up_example(img, inst, cfg, rng, node_names=NODES, skeleton_edges=EDGES, symmetry=symmetry)
    # the same flip done by hand: points mirrored about the centre, then left/right swapped
    _, flipped = augment(img, inst, AugmentParams(flip_horizontal=True), symmetry)
    left = flipped[0, 1] * 0.5
    thorax = flipped[0, 0] * 0.5
    mid = (left + thorax) / 2  # a point on the thorax -> left edge
    v = pafs[int(round(mid[1] / 4)), int(round(mid[0] / 4)), 0:2]
    want = (left - thorax) / np.linalg.norm(left - thorax)
    np.testing.assert_allclose(v, want, atol=0.05)
    assert left[0] < thorax[0]  # the 'left' node is on the left of the mirrored image
    # and its confidence map peaks there
    i, j = np.unravel_index(cm[..., 1].argmax(), cm.shape[:2])
    assert abs(j * 2 - left[0]) <= 1 and abs(i * 2 - left[1]) <= 1


def test_bottom_up_example_uses_config_edges_and_explains_bad_ones():
    inst = np.array([[[100.0, 80.0], [60.0, 80.0], [140.0, 80.0]]])
    img = np.zeros((160, 200, 1), np.uint8)
    cfg = bottom_up_config()
    cfg.pafs.edges = [["left", "right"]]
    _, _, pafs = bottom_up_example(img, inst, cfg, augment=False, node_names=NODES, skeleton_edges=EDGES)
    assert pafs.shape[-1] == 2
    cfg.pafs.edges = [["left", "tail"]]
    with pytest.raises(DataError, match="'tail'"):
        bottom_up_example(img, inst, cfg, augment=False, node_names=NODES, skeleton_edges=EDGES)
    cfg.pafs.edges = None
    with pytest.raises(DataError, match="edges"):
        bottom_up_example(img, inst, cfg, augment=False, node_names=NODES)
