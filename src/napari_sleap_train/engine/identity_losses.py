"""Class losses of identity models, with the per-example weights of the targets (child process only).

The targets of :mod:`napari_sleap_train.data.class_targets` carry one extra
last entry (class vectors) or channel (class maps): the loss weight, 0 for
instances without a track, which are so left out of the class loss.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="napari_sleap_train")
class WeightedClassVectorLoss(keras.losses.Loss):
    """Categorical cross-entropy of a class vector, times the target's weight (last entry)."""

    def __init__(self, name: str = "class_vectors_xent", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        target, weight = y_true[..., :-1], y_true[..., -1]
        p = ops.clip(y_pred, 1e-7, 1.0)
        return -ops.sum(target * ops.log(p), axis=-1) * weight


@keras.saving.register_keras_serializable(package="napari_sleap_train")
class WeightedClassMapsLoss(keras.losses.Loss):
    """Mean squared error of class maps over the cells, times each cell's weight (last channel)."""

    def __init__(self, name: str = "class_maps_mse", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        target, weight = y_true[..., :-1], y_true[..., -1:]
        return ops.mean(weight * ops.square(y_pred - target), axis=(1, 2, 3))
