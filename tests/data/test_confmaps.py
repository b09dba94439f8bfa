import numpy as np
import pytest

from napari_sleap_train.data.confmaps import centroid_map, confidence_maps, output_shape


def _peak_xy(channel, stride):
    i, j = np.unravel_index(np.argmax(channel), channel.shape)
    return j * stride, i * stride


@pytest.mark.parametrize("stride", [1, 2, 4, 8])
def test_peak_lands_on_point_on_stride_grid(stride):
    pts = np.array([[40.0, 24.0], [17.0, 50.0]])
    cm = confidence_maps(pts, 64, 72, sigma=2.0, output_stride=stride)
    assert cm.shape == (8 * 8 // stride, 9 * 8 // stride, 2)
    assert cm.dtype == np.float32
    for c in range(2):
        x, y = _peak_xy(cm[..., c], stride)
        assert abs(x - pts[c, 0]) <= stride / 2 and abs(y - pts[c, 1]) <= stride / 2


def test_unnormalized_gaussian_values():
    cm = confidence_maps(np.array([[8.0, 4.0]]), 16, 16, sigma=1.5, output_stride=2)
    # grid pixel (row 2, col 4) is at (x, y) = (8, 4): exactly the point
    assert cm[2, 4, 0] == pytest.approx(1.0)
    # one grid step right is 2 px away
    assert cm[2, 5, 0] == pytest.approx(np.exp(-(2.0**2) / (2 * 1.5**2)), rel=1e-5)
    assert cm.max() <= 1.0


def test_missing_point_gives_zero_channel():
    cm = confidence_maps(np.array([[5.0, 5.0], [np.nan, np.nan]]), 20, 20, sigma=2, output_stride=1)
    assert cm[..., 1].max() == 0.0
    assert cm[..., 0].max() == pytest.approx(1.0)


def test_output_shape_rounds_up():
    assert output_shape(65, 30, 4) == (17, 8)
    assert confidence_maps(np.zeros((3, 2)), 65, 30, 1.0, 4).shape == (17, 8, 3)


def test_centroid_map_is_max_over_instances():
    anchors = np.array([[10.0, 10.0], [30.0, 12.0], [np.nan, np.nan]])
    cm = centroid_map(anchors, 32, 48, sigma=2.5, output_stride=2)
    assert cm.shape == (16, 24, 1)
    assert cm[5, 5, 0] == pytest.approx(1.0)
    assert cm[6, 15, 0] == pytest.approx(1.0)
    single = centroid_map(anchors[:1], 32, 48, sigma=2.5, output_stride=2)
    np.testing.assert_allclose(cm[..., 0][:, :8], single[..., 0][:, :8], atol=1e-6)
    assert centroid_map(np.zeros((0, 2)), 8, 8, 1.0, 1).max() == 0.0


def test_multi_instance_points_take_channel_max():
    pts = np.array([[[4.0, 4.0]], [[12.0, 12.0]]])
    cm = confidence_maps(pts, 16, 16, 1.0, 1)
    assert cm.shape == (16, 16, 1)
    assert cm[4, 4, 0] == pytest.approx(1.0) and cm[12, 12, 0] == pytest.approx(1.0)


def test_rejects_bad_sigma():
    with pytest.raises(ValueError, match="sigma"):
        confidence_maps(np.zeros((1, 2)), 4, 4, 0.0)
