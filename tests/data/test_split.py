import numpy as np
import pytest

from napari_sleap_train.data.errors import DataError
from napari_sleap_train.data.split import split_frames


def test_split_is_deterministic_and_disjoint():
    tr, va = split_frames(100, 0.1, seed=3)
    assert len(va) == 10 and len(tr) == 90
    assert set(tr).isdisjoint(va) and set(tr) | set(va) == set(range(100))
    tr2, va2 = split_frames(100, 0.1, seed=3)
    np.testing.assert_array_equal(va, va2)
    _, va3 = split_frames(100, 0.1, seed=4)
    assert not np.array_equal(va, va3)


@pytest.mark.parametrize("n", [2, 3, 5, 9])
def test_at_least_one_validation_and_one_training_frame(n):
    for frac in (0.0, 0.01, 0.1, 0.99):
        tr, va = split_frames(n, frac, seed=0)
        assert len(va) >= 1 and len(tr) >= 1 and len(tr) + len(va) == n


def test_single_and_no_frame():
    tr, va = split_frames(1, 0.1)
    assert tr.tolist() == [0] and va.tolist() == [0]
    tr, va = split_frames(0, 0.1)
    assert len(tr) == len(va) == 0


def test_bad_fraction():
    with pytest.raises(DataError, match="validation fraction"):
        split_frames(10, 1.0)
