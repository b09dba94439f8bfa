"""Checks of a training job against its data, before TensorFlow loads (no TensorFlow here).

:func:`check_sizes` runs :mod:`napari_sleap_train.data.size_checks` for every
model of the pipeline: errors stop the run with a plain-words
:class:`~napari_sleap_train.engine.errors.EngineConfigError` (before any run
folder exists), warnings go out as ``Message`` events.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sleap_io as sio

from napari_sleap_train.config.model import TrainingConfig
from napari_sleap_train.config.profiles import detect_hardware
from napari_sleap_train.data.size_checks import LabelSizes, check_training_sizes
from napari_sleap_train.engine.errors import EngineConfigError
from napari_sleap_train.engine.labeled_data import LabeledData
from napari_sleap_train.protocol.events import Message


def hardware_of(device: str) -> str:
    """``"cpu"`` or ``"gpu"`` for a device setting (``auto``: guessed without TensorFlow)."""
    device = (device or "auto").strip().lower()
    if device.startswith("cpu"):
        return "cpu"
    if device.startswith("gpu"):
        return "gpu"
    return detect_hardware()


def _free_memory() -> int | None:
    try:
        import psutil
    except ImportError:
        return None
    return int(psutil.virtual_memory().available)


def label_sizes(labels: sio.Labels, data: LabeledData) -> LabelSizes:
    """Instances, split and largest frame of the labeled videos."""
    hw, channels = None, 1
    for v in sorted({s.video_index for s in data.samples}):
        try:
            shape = labels.videos[v].shape
        except Exception:  # noqa: BLE001 - an unreadable video is reported when frames load
            shape = None
        if not shape:
            continue
        h, w = int(shape[1]), int(shape[2])
        hw = (h, w) if hw is None else (max(hw[0], h), max(hw[1], w))
        channels = max(channels, int(shape[3]) if len(shape) > 3 else 1)
    return LabelSizes(
        instances=[s.instances for s in data.samples], train_frames=list(data.train_idx),
        node_names=list(data.node_names), frame_hw=hw, channels=channels,
    )


def check_sizes(
    models: Sequence[TrainingConfig], labels: sio.Labels, device: str, emit: Callable[[object], None]
) -> None:
    """Refuse sizes that cannot work and warn about slow ones, for every model.

    Raises
    ------
    EngineConfigError
        The first size that cannot work (batch, crop, memory), with what to use instead.
    """
    hardware = hardware_of(device)
    memory = _free_memory() if hardware == "cpu" else None
    for cfg in models:
        data = LabeledData.from_labels(labels, cfg.data.validation_fraction, cfg.optimization.seed)
        for finding in check_training_sizes(cfg, label_sizes(labels, data), hardware, memory):
            if finding.level == "error":
                raise EngineConfigError(finding.message, hint=finding.hint)
            emit(Message(level="warning", text=f"{finding.message} {finding.hint[:1].upper()}{finding.hint[1:]}."))
