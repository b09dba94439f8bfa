import math

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap_train.data.crops import (
    auto_crop_size,
    crop_box,
    crop_network_size,
    crop_offset,
    effective_crop_size,
    extract_crop,
    max_instance_extent,
)
from napari_sleap_train.data.errors import DataError
from napari_sleap_train.data.labels import collect_samples


@pytest.fixture(scope="module")
def fly_instances(shared_data):
    labels = sio.load_slp(str(shared_data / "fly" / "clip.slp"))
    return [s.instances for s in collect_samples(labels)]


def _sleap_crop_size(instances, scaling, stride, padding):
    """Reference: SLEAP 1.4's rule written out per instance."""
    longest = 0.0
    for frame in instances:
        for inst in frame:
            pts = inst[np.isfinite(inst).all(1)] * scaling
            longest = max(longest, np.ptp(pts[:, 0]), np.ptp(pts[:, 1]))
    return int(math.ceil((longest + padding) / stride) * stride)


def test_auto_crop_size_matches_sleap_without_rotation(fly_instances):
    for scaling, stride in [(1.0, 16), (1.0, 32), (0.5, 16)]:
        expected = _sleap_crop_size(fly_instances, scaling, stride, 16)
        got = auto_crop_size(fly_instances, input_scaling=scaling, max_stride=stride, padding=16)
        assert crop_network_size(got, scaling, stride) == expected
        if scaling == 1.0:
            assert got == expected


def test_auto_crop_size_with_rotation_holds_every_rotated_instance(fly_instances):
    plain = auto_crop_size(fly_instances, max_stride=1, padding=0)
    rotated = auto_crop_size(fly_instances, max_stride=1, padding=0, max_rotation_deg=180)
    assert plain == 135  # longest x or y extent of a labeled fly
    assert rotated > plain
    assert auto_crop_size(fly_instances, max_stride=1, padding=0, max_rotation_deg=15) <= rotated
    # brute force: every instance rotated by 1-degree steps fits inside the crop
    rng = np.random.default_rng(0)
    frames = [fly_instances[i] for i in rng.choice(len(fly_instances), 100, replace=False)]
    for a in np.deg2rad(np.arange(-180, 181, 1.0)):
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        for frame in frames:
            for inst in frame:
                p = inst[np.isfinite(inst).all(1)] @ rot.T
                assert np.ptp(p, axis=0).max() <= rotated


def test_rotated_square_needs_cos_plus_sin():
    square = np.array([[[0, 0], [100, 0], [100, 100], [0, 100]]], dtype=float)
    assert max_instance_extent([square]) == pytest.approx(100)
    assert max_instance_extent([square], 30) == pytest.approx(100 * (np.cos(np.pi / 6) + np.sin(np.pi / 6)), rel=1e-5)
    assert max_instance_extent([square], 90) == pytest.approx(100 * np.sqrt(2), rel=1e-5)
    # padding 0, stride 1: exactly the worst case box, rounded up
    assert auto_crop_size([square], max_stride=1, padding=0, max_rotation_deg=45) == 142


def test_scale_augmentation_grows_crop():
    line = np.array([[[0, 0], [100, 0]]], dtype=float)
    assert auto_crop_size([line], max_stride=8, padding=0) == 104
    assert auto_crop_size([line], max_stride=8, padding=0, scale_max=1.2) == 120


def test_scale_growth_takes_the_padding_place_where_smaller():
    line = np.array([[[0, 0], [100, 0]]], dtype=float)
    # growth 10 px < padding 16: the padding holds it (116 -> 120), not 100 * 1.1 + 16 = 126 -> 128
    assert auto_crop_size([line], max_stride=8, padding=16) == 120
    assert auto_crop_size([line], max_stride=8, padding=16, scale_max=1.1) == 120
    # growth 30 px > padding 16: the growth is the margin (130 -> 136)
    assert auto_crop_size([line], max_stride=8, padding=16, scale_max=1.3) == 136
    # the largest instance at the largest scale still fits the crop
    for scale in (1.05, 1.1, 1.3, 2.0):
        assert auto_crop_size([line], max_stride=8, padding=16, scale_max=scale) >= 100 * scale


def test_anchor_centred_extent_holds_instance_around_anchor():
    # anchor at one end: a crop centred on it must be twice the length
    line = np.array([[[0, 0], [100, 0], [50, 10]]], dtype=float)
    assert max_instance_extent([line]) == pytest.approx(100)
    assert max_instance_extent([line], anchor_index=0) == pytest.approx(200)
    assert auto_crop_size([line], max_stride=16, padding=16, anchor_index=0) == 224


def test_auto_crop_size_without_instances_is_clear():
    with pytest.raises(DataError, match="no labeled instances"):
        auto_crop_size([np.full((1, 3, 2), np.nan)])


def test_network_and_effective_size():
    assert crop_network_size(96, 1.0, 16) == 96
    assert crop_network_size(100, 1.0, 16) == 112
    assert crop_network_size(192, 0.5, 16) == 96
    assert effective_crop_size(100, 1.0, 16) == 112
    assert effective_crop_size(192, 0.5, 16) == 192
    # auto size at an awkward scale maps back to the same network size
    sq = np.array([[[0, 0], [90, 90]]], dtype=float)
    size = auto_crop_size([sq], input_scaling=0.3, max_stride=16, padding=16)
    assert crop_network_size(size, 0.3, 16) == 48


def test_crop_box_and_offset_agree():
    x0, y0, x1, y1 = crop_box((50.0, 20.0), 10)
    assert (x1 - x0, y1 - y0) == (10, 10)
    assert (x0 + x1) / 2 == 50 and (y0 + y1) / 2 == 20
    ox, oy = crop_offset((50.0, 20.0), 10)
    # integer crop pixels ox..ox+9 have edges ox-0.5..ox+9.5: within half a pixel of the box
    assert abs((ox - 0.5) - x0) <= 0.5 and abs((oy - 0.5) - y0) <= 0.5
    boxes = crop_box(np.array([[1.0, 2.0], [3.0, 4.0]]), 4)
    np.testing.assert_allclose(boxes[0], [-1, 1])


def test_extract_crop_inside_and_points_map():
    img = np.arange(100 * 80, dtype=np.uint16).reshape(100, 80, 1)
    center = (30.2, 60.7)
    crop = extract_crop(img, center, 16)
    ox, oy = crop_offset(center, 16)
    assert crop.shape == (16, 16, 1)
    assert crop[0, 0, 0] == img[oy, ox, 0]
    # the centre pixel of the crop is the frame pixel nearest the centre
    c = (16 - 1) / 2
    assert abs(center[0] - ox - c) <= 0.5 and abs(center[1] - oy - c) <= 0.5


def test_extract_crop_zero_pads_at_borders():
    img = np.full((20, 30, 3), 7, dtype=np.uint8)
    crop = extract_crop(img, (0.0, 0.0), 10)
    ox, oy = crop_offset((0.0, 0.0), 10)
    assert (ox, oy) == (-4, -4)
    assert crop.shape == (10, 10, 3)
    assert crop[:4].max() == 0 and crop[:, :4].max() == 0
    assert (crop[4:, 4:] == 7).all()
    far = extract_crop(img, (29.0, 19.0), 10)
    assert (far[:5, :5] == 7).all() and far[5:].max() == 0
    outside = extract_crop(img, (500.0, 500.0), 10)
    assert outside.max() == 0
    gray = extract_crop(img[..., 0], (10.0, 10.0), 5)
    assert gray.shape == (5, 5)
