"""Tiny Keras models and data for callback tests (TensorFlow in-process: engine tests only)."""

from __future__ import annotations

import io

import keras
import numpy as np

from napari_sleap_train.protocol.events import parse_event


def events_of(buf: io.StringIO):
    """The events a :class:`~napari_sleap_train.engine.channel.Channel` wrote to ``buf``."""
    return [parse_event(line) for line in buf.getvalue().splitlines()]


def tiny_model(lr: float):
    """A one-layer regression model compiled with Adam at ``lr``."""
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(lr), loss="mse")
    return model


def regression_data(n: int = 16):
    """``n`` random 4-vectors and their sums: a target ``tiny_model`` can learn."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)
