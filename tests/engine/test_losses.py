"""Confidence-map losses."""

from __future__ import annotations

import numpy as np

from napari_sleap_train.engine.losses import HardKeypointMSE, make_loss


def test_mse_is_default_and_mean_of_squares():
    loss = make_loss()
    y = np.zeros((2, 4, 4, 3), np.float32)
    p = np.full((2, 4, 4, 3), 0.5, np.float32)
    assert float(loss(y, p)) == np.float32(0.25)


def test_hard_keypoint_mining_weights_the_worst_part():
    y = np.zeros((1, 4, 4, 3), np.float32)
    p = np.zeros((1, 4, 4, 3), np.float32)
    p[..., 0] = 1.0  # part 0 is completely wrong, the others are perfect
    ohkm = HardKeypointMSE(hard_to_easy_ratio=2.0, min_hard_keypoints=1, loss_scale=5.0)
    plain = float(make_loss()(y, p))
    assert plain == np.float32(1 / 3)
    # hard part: loss 1 (ratio to easiest is infinite) -> plain + 5 * 1
    assert np.isclose(float(ohkm(y, p)), plain + 5.0)
    assert isinstance(make_loss(hard_keypoint_mining=True), HardKeypointMSE)
    assert HardKeypointMSE.from_config(ohkm.get_config()).loss_scale == 5.0
