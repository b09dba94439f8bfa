"""Which ``tf.distribute`` strategy a run trains under.

* one device (the usual case): TensorFlow's default strategy, no overhead;
* several GPUs of one machine (device ``gpu:all`` or ``gpu:0,1``), or several
  logical CPU devices (``cpu:K``, which exercises the same code path on a
  machine without GPUs): ``MirroredStrategy`` — every batch is split between
  the devices and gradients are summed;
* several machines (``PipelineConfig.multi_worker``): ``MultiWorkerMirroredStrategy``,
  configured by the ``TF_CONFIG`` environment variable the cluster sets on each
  worker (see the README).

The batch size in the config is per device: the global batch is
``batch_size * replicas``, so a config tuned on one GPU keeps its per-GPU memory.
"""

from __future__ import annotations

import json
import os

import tensorflow as tf

from napari_sleap_train.engine.errors import HardwareError
from napari_sleap_train.engine.hardware import HardwareInfo


def make_strategy(info: HardwareInfo, multi_worker: bool = False) -> tf.distribute.Strategy:
    """The strategy for the devices chosen by :func:`~.hardware.setup_device`."""
    if multi_worker:
        if not os.environ.get("TF_CONFIG"):
            raise HardwareError(
                "Multi-worker training needs the TF_CONFIG environment variable on every worker.",
                hint='set TF_CONFIG to {"cluster": {"worker": [host:port, ...]}, "task": {"type": "worker", '
                '"index": I}} (see the README), or train on one machine',
            )
        try:
            json.loads(os.environ["TF_CONFIG"])
        except json.JSONDecodeError as exc:
            raise HardwareError(f"TF_CONFIG is not valid JSON: {exc}") from exc
        return tf.distribute.MultiWorkerMirroredStrategy()
    if len(info.replica_devices) > 1:
        return tf.distribute.MirroredStrategy(devices=info.replica_devices)
    return tf.distribute.get_strategy()


def describe(strategy: tf.distribute.Strategy) -> str:
    """Plain words for a message, e.g. ``"MirroredStrategy over 2 devices"``."""
    n = strategy.num_replicas_in_sync
    if n == 1 and type(strategy).__name__.startswith("_Default"):
        return "one device"
    return f"{type(strategy).__name__} over {n} device{'s' if n != 1 else ''}"
