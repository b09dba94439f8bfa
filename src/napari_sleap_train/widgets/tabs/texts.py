"""Plain-words texts the model tabs show beside their settings (no Qt)."""

from __future__ import annotations

from napari_sleap_train.config.model import TrainingConfig
from napari_sleap_train.data.errors import DataError
from napari_sleap_train.data.receptive_field import (
    receptive_field,
    receptive_field_in_frame,
)


def receptive_field_text(cfg: TrainingConfig) -> str:
    """Plain-words receptive field of a model, in network and frame pixels."""
    m = cfg.model
    try:
        rf = receptive_field(m.max_stride, m.convs_per_block, m.kernel_size)
        in_frame = receptive_field_in_frame(m.max_stride, cfg.data.input_scaling, m.convs_per_block, m.kernel_size)
    except DataError as exc:
        return str(exc)
    if cfg.data.input_scaling == 1.0:
        return f"{rf} px (network and frame)"
    return f"{rf} px network = {in_frame:.0f} px in the frame"
