"""Random training windows of bottom-up models on hand-made geometry (data/train_crops.py)."""

import numpy as np
import pytest

from napari_sleap_train.config.model import AugmentationConfig
from napari_sleap_train.data.augmentation import AugmentParams, sample_params
from napari_sleap_train.data.train_crops import bottom_up_crop_example, crop_grid_step, window_origin
from napari_sleap_train.data.training_inputs import bottom_up_example
from tests.data.bottom_up_helpers import bottom_up_config

NODES = ["thorax", "left", "right"]
EDGES = [("thorax", "left"), ("thorax", "right")]
PARTS = np.arange(3)
EDGE_IDX = np.array([[0, 1], [0, 2]])


def _frame(seed=0):
    return np.random.default_rng(seed).integers(0, 255, size=(160, 200, 1), dtype=np.uint8)


# thorax inside the window below, both legs outside it (left of and right of it)
STRADDLING = np.array([[[100.0, 60.0], [40.0, 60.0], [150.0, 60.0]]])


@pytest.mark.parametrize(
    "origin",
    [(64, 32), (160, 96), (0, 0)],  # the legs cross both side edges; past the frame's corner; the corner
)
@pytest.mark.parametrize("angle", [0.0, 30.0])
def test_window_is_the_whole_frame_example_sliced(origin, angle):
    """Image, maps and fields of a window equal the whole-frame example's, cut at the window."""
    cfg = bottom_up_config(AugmentationConfig(rotate=angle != 0, rotation_max_angle=angle))
    rng_seed = 3
    params = sample_params(cfg.augmentation, np.random.default_rng(rng_seed)) if angle else AugmentParams()
    whole = bottom_up_example(
        _frame(),
        STRADDLING,
        cfg,
        np.random.default_rng(rng_seed),
        augment=angle != 0,
        node_names=NODES,
        skeleton_edges=EDGES,
    )
    x, cm, pafs = bottom_up_crop_example(
        _frame(), STRADDLING, params, cfg, PARTS, EDGE_IDX, np.random.default_rng(0), 64, origin=origin
    )
    assert x.shape == (32, 32, 1) and cm.shape == (16, 16, 3) and pafs.shape == (8, 8, 4)
    X, Y = origin[0] // 2, origin[1] // 2  # network pixels of the scaled frame
    # OpenCV's fixed-point warp may round a pixel the other way (one grey level)
    np.testing.assert_allclose(x, whole[0][Y : Y + 32, X : X + 32], atol=1.01 / 255)
    np.testing.assert_allclose(cm, whole[1][Y // 2 : Y // 2 + 16, X // 2 : X // 2 + 16], atol=1e-6)
    np.testing.assert_allclose(pafs, whole[2][Y // 4 : Y // 4 + 8, X // 4 : X // 4 + 8], atol=1e-6)


def test_instance_straddling_the_window_keeps_its_parts_inside_it():
    cfg = bottom_up_config()
    x, cm, pafs = bottom_up_crop_example(
        _frame(), STRADDLING, AugmentParams(), cfg, PARTS, EDGE_IDX, np.random.default_rng(0), 64, origin=(64, 32)
    )
    # window: x 64..128, y 32..96 of the frame; the thorax (100, 60) is at (17.75, 13.75) of the window
    i, j = np.unravel_index(cm[..., 0].argmax(), cm.shape[:2])
    assert (j * 2, i * 2) == (18, 14) and cm[..., 0].max() > 0.9
    # the legs lie outside: no peak of theirs in the window, but their edges cross it
    assert cm[..., 1].max() < 0.01 and cm[..., 2].max() < 0.01
    row = 3  # y = 12, 1.75 px above the edges: weight exp(-1.75**4 / (2 * 9**2)) = 0.944
    weight = np.exp(-(1.75**4) / (2 * 9.0**2))
    np.testing.assert_allclose(pafs[row, 1, 0:2], [-weight, 0.0], atol=1e-3)  # thorax -> left, left of the thorax
    np.testing.assert_allclose(pafs[row, 7, 2:4], [weight, 0.0], atol=1e-3)  # thorax -> right, at the window's edge
    assert np.abs(pafs[0, :, :]).max() < 1e-3  # 14 px above the edges: nothing


def test_window_origins_follow_the_animals_and_stay_on_the_grid_inside_the_frame():
    step = crop_grid_step(0.5, 16)
    assert step == 32 and crop_grid_step(0.75, 16) == 1 and crop_grid_step(1.0, 16) == 16
    pts = np.array([[[300.0, 200.0], [320.0, 210.0]], [[np.nan, np.nan], [np.nan, np.nan]]])
    rng = np.random.default_rng(0)
    side = 128
    for _ in range(200):
        x0, y0 = window_origin(pts, (480, 640), side, step, rng, background_fraction=0.0)
        assert x0 % step == 0 and y0 % step == 0
        assert 0 <= x0 <= 640 - side and 0 <= y0 <= 480 - side
        # the animal's centre is in the window (a quarter side of jitter plus one grid step)
        assert x0 <= 310 < x0 + side and y0 <= 205 < y0 + side
    # background windows go anywhere; a frame smaller than the window starts it at 0
    spots = {window_origin(pts, (480, 640), side, step, rng, background_fraction=1.0) for _ in range(100)}
    assert len(spots) > 20
    assert window_origin(pts, (100, 90), side, step, rng) == (0, 0)
    # a frame without a visible point still gets windows
    empty = np.full((1, 2, 2), np.nan)
    x0, y0 = window_origin(empty, (480, 640), side, step, rng, background_fraction=0.0)
    assert 0 <= x0 <= 640 - side and 0 <= y0 <= 480 - side


def test_bottom_up_example_with_a_crop_size_draws_windows_of_that_side():
    cfg = bottom_up_config(AugmentationConfig(rotate=True, rotation_max_angle=180))
    rng = np.random.default_rng(1)
    shapes = set()
    for _ in range(5):
        x, cm, pafs = bottom_up_example(
            _frame(), STRADDLING, cfg, rng, node_names=NODES, skeleton_edges=EDGES, crop_size=64
        )
        shapes.add((x.shape, cm.shape, pafs.shape))
    assert shapes == {((32, 32, 1), (16, 16, 3), (8, 8, 4))}
