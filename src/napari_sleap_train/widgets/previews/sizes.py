"""Sizes the previews draw, from a model config (thin wrappers over ``data``).

The math lives in :mod:`napari_sleap_train.data`; these helpers only pick the
right arguments out of a :class:`TrainingConfig` so the tabs and the previews
show the same numbers the engine uses.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from napari_sleap_train.config.model import TrainingConfig
from napari_sleap_train.data.crops import effective_crop_size
from napari_sleap_train.data.errors import DataError
from napari_sleap_train.data.receptive_field import receptive_field_in_frame
from napari_sleap_train.data.training_inputs import auto_crop_size_for


def crop_size_of(
    cfg: TrainingConfig, instances_list: Sequence[np.ndarray], node_names: Sequence[str] | None = None
) -> int | None:
    """Crop side (original pixels) a centered-instance model will use.

    The fixed ``cfg.data.crop_size``, or the auto size computed from the
    labels (``None`` when there are no labeled instances).
    """
    if cfg.data.crop_size is not None:
        return int(cfg.data.crop_size)
    return auto_crop_of(cfg, instances_list, node_names)


def auto_crop_of(
    cfg: TrainingConfig, instances_list: Sequence[np.ndarray], node_names: Sequence[str] | None = None
) -> int | None:
    """Auto crop side (original pixels) for ``cfg``, ``None`` without labeled instances.

    Raises :class:`~napari_sleap_train.data.errors.DataError` for invalid settings.
    """
    if not any(np.size(a) for a in instances_list):
        return None
    return auto_crop_size_for(cfg, instances_list, node_names)


def crop_side_for_preview(
    cfg: TrainingConfig, instances_list: Sequence[np.ndarray], node_names: Sequence[str] | None = None
) -> float | None:
    """Side of the frame region the crop really covers (what the boxes show)."""
    try:
        size = crop_size_of(cfg, instances_list, node_names)
        if size is None:
            return None
        return effective_crop_size(size, cfg.data.input_scaling, cfg.model.max_stride)
    except DataError:
        return None


def rf_side_in_frame(cfg: TrainingConfig) -> float | None:
    """Receptive field side in original pixels (``None`` for invalid settings)."""
    m = cfg.model
    try:
        return receptive_field_in_frame(m.max_stride, cfg.data.input_scaling, m.convs_per_block, m.kernel_size)
    except DataError:
        return None
