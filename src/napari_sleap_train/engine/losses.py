"""Losses on confidence maps.

Plain mean squared error is SLEAP's default. Online hard keypoint mining (OHKM,
off by default) adds extra weight to the body parts the network currently gets
most wrong, which helps small or often-occluded parts catch up.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="napari_sleap_train")
class HardKeypointMSE(keras.losses.Loss):
    """MSE plus online hard keypoint mining.

    For each sample, every part (channel) gets its own MSE. Parts whose loss is
    at least ``hard_to_easy_ratio`` times the easiest part's loss are "hard";
    at least ``min_hard_keypoints`` of the worst parts always count as hard.
    The mean loss of the hard parts, times ``loss_scale``, is added to the MSE.

    Parameters
    ----------
    hard_to_easy_ratio
        How much worse than the best part a part must be to count as hard.
    min_hard_keypoints
        Number of worst parts that always count as hard.
    loss_scale
        Weight of the hard-keypoint term.
    """

    def __init__(
        self,
        hard_to_easy_ratio: float = 2.0,
        min_hard_keypoints: int = 2,
        loss_scale: float = 5.0,
        name: str = "hard_keypoint_mse",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        self.hard_to_easy_ratio = float(hard_to_easy_ratio)
        self.min_hard_keypoints = int(min_hard_keypoints)
        self.loss_scale = float(loss_scale)

    def call(self, y_true, y_pred):
        part_loss = ops.mean(ops.square(y_pred - y_true), axis=(1, 2))  # (batch, parts)
        n_parts = ops.shape(part_loss)[-1]
        k = ops.minimum(self.min_hard_keypoints, n_parts)
        worst_first = ops.flip(ops.sort(part_loss, axis=-1), axis=-1)
        kth_worst = ops.take(worst_first, k - 1, axis=-1)[:, None]
        easiest = ops.min(part_loss, axis=-1, keepdims=True)
        # "ratio times the easiest" must also be worse than the easiest, so parts
        # that are all perfect (loss 0) are not all hard.
        much_worse = ops.logical_and(part_loss > easiest, part_loss >= self.hard_to_easy_ratio * easiest)
        hard = ops.logical_or(much_worse, part_loss >= kth_worst)
        hard = ops.cast(hard, part_loss.dtype)
        hard_mean = ops.sum(part_loss * hard, axis=-1) / ops.maximum(ops.sum(hard, axis=-1), 1.0)
        return ops.mean(part_loss, axis=-1) + self.loss_scale * hard_mean

    def get_config(self):
        config = super().get_config()
        config.update(
            hard_to_easy_ratio=self.hard_to_easy_ratio,
            min_hard_keypoints=self.min_hard_keypoints,
            loss_scale=self.loss_scale,
        )
        return config


def make_loss(hard_keypoint_mining: bool = False):
    """Loss for a confidence-map head (see :class:`HardKeypointMSE`)."""
    if hard_keypoint_mining:
        return HardKeypointMSE()
    return keras.losses.MeanSquaredError(name="confmap_mse")
