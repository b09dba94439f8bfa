import numpy as np
import pytest

from napari_sleap_train.data.errors import DataError
from napari_sleap_train.data.image import as_hwc, convert_channels, to_float255


def test_as_hwc_and_conversions():
    gray = np.full((4, 5), 100, dtype=np.uint8)
    assert as_hwc(gray).shape == (4, 5, 1)
    rgb = convert_channels(gray, ensure_rgb=True)
    assert rgb.shape == (4, 5, 3) and (rgb == 100).all()
    back = convert_channels(rgb, ensure_grayscale=True)
    assert back.shape == (4, 5, 1) and back.dtype == np.uint8 and (back == 100).all()
    assert as_hwc(np.zeros((2, 2, 4))).shape == (2, 2, 3)
    with pytest.raises(DataError, match="image"):
        as_hwc(np.zeros((2, 2, 2, 2)))


def test_to_float255():
    assert to_float255(np.array([255], dtype=np.uint8))[0] == 255.0
    assert to_float255(np.array([65535], dtype=np.uint16))[0] == pytest.approx(255.0)
    assert to_float255(np.array([0.5]))[0] == pytest.approx(127.5)
