import pytest

from napari_sleap_train.data.errors import DataError
from napari_sleap_train.data.receptive_field import receptive_field, receptive_field_in_frame


@pytest.mark.parametrize(("stride", "rf"), [(1, 1), (2, 6), (4, 16), (8, 36), (16, 76), (32, 156), (64, 316)])
def test_receptive_field_matches_sleap_formula(stride, rf):
    assert receptive_field(stride) == rf
    depth = stride.bit_length() - 1
    assert receptive_field(stride) == 5 * 2**depth - 4


def test_receptive_field_grows_with_convs_and_kernel():
    # 3 convs of 3x3 per block: each block adds 7 * 2**i
    assert receptive_field(8, convs_per_block=3) == 1 + 7 * 7
    # 2 convs of 5x5: each block adds 9 * 2**i
    assert receptive_field(16, kernel_size=5) == 1 + 9 * 15


def test_receptive_field_in_frame_divides_by_scaling():
    assert receptive_field_in_frame(16, 0.5) == pytest.approx(152.0)
    assert receptive_field_in_frame(8, 0.25) == pytest.approx(144.0)
    assert receptive_field_in_frame(32, 1.0) == pytest.approx(156.0)


@pytest.mark.parametrize("bad", [0, 3, 12, -8, 2.5])
def test_receptive_field_rejects_non_power_of_two(bad):
    with pytest.raises(DataError, match="max stride"):
        receptive_field(bad)


def test_receptive_field_in_frame_rejects_bad_scaling():
    with pytest.raises(DataError, match="input scaling"):
        receptive_field_in_frame(16, 0)
