import numpy as np
import pytest

from napari_sleap_train.data.errors import DataError
from napari_sleap_train.data.scaling import pad_to_stride, padded_shape, resize, scale_points, unscale_points


def _blob(h, w, x0, y0, sigma=6.0):
    yy, xx = np.mgrid[:h, :w]
    return np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * sigma**2)).astype(np.float32)


def _centre_of_mass(img):
    yy, xx = np.mgrid[: img.shape[0], : img.shape[1]]
    return (img * xx).sum() / img.sum(), (img * yy).sum() / img.sum()


@pytest.mark.parametrize("scale", [0.25, 0.3, 0.5, 1.0, 1.5, 2.0])
def test_scaled_points_stay_on_resized_feature(scale):
    x0, y0 = 123.3, 77.8
    img = _blob(200, 300, x0, y0)[..., None]
    out = resize(img, scale)
    assert out.shape == (round(200 * scale), round(300 * scale), 1)
    cx, cy = _centre_of_mass(out[..., 0])
    px, py = scale_points(np.array([x0, y0]), scale)
    assert abs(cx - px) < 0.02 and abs(cy - py) < 0.02


def test_unscale_inverts_scale_and_keeps_nan():
    p = np.array([[10.0, 20.0], [np.nan, np.nan]])
    np.testing.assert_allclose(unscale_points(scale_points(p, 0.37), 0.37), p)
    assert np.isnan(scale_points(p, 0.5)[1]).all()


def test_resize_keeps_dtype_and_channel_axis():
    img = np.zeros((64, 48, 1), dtype=np.uint8)
    assert resize(img, 0.5).shape == (32, 24, 1)
    assert resize(img, 0.5).dtype == np.uint8
    rgb = np.zeros((64, 48, 3), dtype=np.uint8)
    assert resize(rgb, 0.25).shape == (16, 12, 3)
    assert resize(img, 1.0) is img
    with pytest.raises(DataError, match="input scaling"):
        resize(img, 0)


def test_pad_to_stride_pads_bottom_right_only():
    img = np.ones((30, 17, 1), dtype=np.float32)
    out = pad_to_stride(img, 16)
    assert out.shape == (32, 32, 1)
    assert (out[:30, :17] == 1).all() and out[30:].max() == 0 and out[:, 17:].max() == 0
    assert pad_to_stride(out, 16) is out
    assert padded_shape(30, 17, 8) == (32, 24)
