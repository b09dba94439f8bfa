import numpy as np
import pytest

from napari_sleap_train.config.model import AugmentationConfig
from napari_sleap_train.data.augmentation import (
    AugmentParams,
    apply_photometric,
    augment,
    augmentation_matrix,
    sample_params,
    transform_points,
)


def _dot_image(h, w, points, radius=2):
    img = np.zeros((h, w, 1), dtype=np.uint8)
    yy, xx = np.mgrid[:h, :w]
    for x, y in points:
        img[((xx - x) ** 2 + (yy - y) ** 2 <= radius**2), 0] = 255
    return img


def _brightest_near(img, xy, r=4):
    x, y = int(round(xy[0])), int(round(xy[1]))
    patch = img[max(y - r, 0) : y + r + 1, max(x - r, 0) : x + r + 1, 0].astype(float)
    yy, xx = np.mgrid[max(y - r, 0) : y + r + 1, max(x - r, 0) : x + r + 1]
    return (patch * xx).sum() / patch.sum(), (patch * yy).sum() / patch.sum()


@pytest.mark.parametrize(
    "params",
    [
        AugmentParams(angle=33.0),
        AugmentParams(angle=-170.0, scale=1.2),
        AugmentParams(scale=0.8),
        AugmentParams(flip_horizontal=True),
        AugmentParams(flip_vertical=True, angle=10),
    ],
)
def test_geometry_keeps_dots_under_points(params):
    pts = np.array([[40.0, 30.0], [70.0, 52.0], [55.0, 44.0]])
    img = _dot_image(90, 120, pts)
    out, moved = augment(img, pts, params)
    assert out.shape == img.shape and out.dtype == np.uint8
    for xy in moved:
        cx, cy = _brightest_near(out, xy)
        assert abs(cx - xy[0]) < 0.6 and abs(cy - xy[1]) < 0.6


def test_rotation_direction_is_counter_clockwise_on_screen():
    m = augmentation_matrix(AugmentParams(angle=90.0), 11, 11)
    # the point right of the centre moves above it (smaller y)
    np.testing.assert_allclose(transform_points(np.array([7.0, 5.0]), m), [5.0, 3.0], atol=1e-9)


def test_flip_swaps_symmetric_nodes():
    pts = np.array([[[10.0, 5.0], [20.0, 5.0], [30.0, 5.0]]])  # head, left, right
    img = np.zeros((20, 41, 1), dtype=np.uint8)
    _, out = augment(img, pts, AugmentParams(flip_horizontal=True), symmetry=np.array([0, 2, 1]))
    # mirrored x = 40 - x, and left/right exchange their rows
    np.testing.assert_allclose(out[0], [[30.0, 5.0], [10.0, 5.0], [20.0, 5.0]])
    _, same = augment(img, pts, AugmentParams(flip_horizontal=True, flip_vertical=True), symmetry=np.array([0, 2, 1]))
    np.testing.assert_allclose(same[0, 1], [20.0, 14.0])  # two mirrors = rotation: no swap


def test_flip_with_left_right_names_keeps_each_node_on_its_mark():
    """A skeleton without declared symmetries (the fly clip's): the mirrored wingL sits on the old right wing."""
    import sleap_io as sio

    from napari_sleap_train.data.labels import symmetry_permutation

    perm = symmetry_permutation(sio.Skeleton(["head", "wingL", "wingR"]))
    pts = np.array([[[60.0, 20.0], [45.0, 60.0], [75.0, 60.0]]])
    img = _dot_image(90, 120, pts[0, :2])  # head and left wing: dots of radius 2
    img = np.maximum(img, _dot_image(90, 120, pts[0, 2:], radius=4))  # right wing: a larger dot
    out, moved = augment(img, pts, AugmentParams(flip_horizontal=True, angle=25.0), symmetry=perm)
    for xy in moved[0]:
        cx, cy = _brightest_near(out, xy, r=6)
        assert abs(cx - xy[0]) < 0.6 and abs(cy - xy[1]) < 0.6
    # the new wingL is the mirrored right wing: the large dot
    x, y = np.rint(moved[0, 1]).astype(int)
    assert (out[y - 4 : y + 5, x - 4 : x + 5, 0] > 128).sum() > 30
    x, y = np.rint(moved[0, 2]).astype(int)
    assert (out[y - 4 : y + 5, x - 4 : x + 5, 0] > 128).sum() < 20


def test_sample_params_respects_ranges_and_seed():
    cfg = AugmentationConfig(
        rotate=True,
        rotation_max_angle=20,
        scale=True,
        scale_min=0.9,
        scale_max=1.1,
        contrast=True,
        brightness=True,
        flip=True,
    )
    draws = [sample_params(cfg, np.random.default_rng(i)) for i in range(200)]
    assert all(-20 <= d.angle <= 20 for d in draws)
    assert all(0.9 <= d.scale <= 1.1 for d in draws)
    assert all(0.5 <= d.gamma <= 2.0 and 0 <= d.brightness <= 10 for d in draws)
    flips = sum(d.flip_horizontal for d in draws)
    assert 60 < flips < 140 and not any(d.flip_vertical for d in draws)
    assert sample_params(cfg, np.random.default_rng(5)) == sample_params(cfg, np.random.default_rng(5))
    assert sample_params(AugmentationConfig(), np.random.default_rng(0)).is_geometric_identity


def test_photometric_ops():
    img = np.full((50, 50, 1), 100.0, dtype=np.float32)
    assert apply_photometric(img, AugmentParams(brightness=10)).mean() == pytest.approx(110)
    g = apply_photometric(img, AugmentParams(gamma=2.0))
    assert g.mean() == pytest.approx(255 * (100 / 255) ** 2, rel=1e-5)
    noisy = apply_photometric(img, AugmentParams(gaussian_noise=(5.0, 1.0), noise_seed=1))
    assert noisy.mean() == pytest.approx(105, abs=0.2) and noisy.std() == pytest.approx(1, abs=0.1)
    uni = apply_photometric(img, AugmentParams(uniform_noise=(0.0, 10.0), noise_seed=1))
    assert 100 <= uni.min() and uni.max() <= 110 and uni.mean() == pytest.approx(105, abs=0.3)
    again = apply_photometric(img, AugmentParams(uniform_noise=(0.0, 10.0), noise_seed=1))
    np.testing.assert_array_equal(uni, again)
    bright = apply_photometric(np.full((2, 2, 1), 250.0, np.float32), AugmentParams(brightness=10))
    assert bright.max() == 255.0


def test_augment_uint8_is_clipped_and_rounded():
    img = np.full((8, 8, 1), 250, dtype=np.uint8)
    out, _ = augment(img, np.zeros((0, 2)), AugmentParams(brightness=10.4))
    assert out.dtype == np.uint8 and (out == 255).all()
