"""A small bottom-up training configuration shared by the PAF and training-window tests."""

from __future__ import annotations

from napari_sleap_train.config.model import AugmentationConfig, ModelKind, TrainingConfig


def bottom_up_config(aug: AugmentationConfig | None = None) -> TrainingConfig:
    """Half-size input, confidence maps every 2 px and fields every 4 px (as SLEAP's baseline)."""
    cfg = TrainingConfig(kind=ModelKind.MULTI_INSTANCE)
    cfg.data.input_scaling = 0.5
    cfg.model.max_stride = 16
    cfg.model.output_stride = 2
    cfg.head.sigma = 2.0
    cfg.pafs.sigma = 9.0
    cfg.pafs.output_stride = 4
    cfg.augmentation = aug or AugmentationConfig()
    return cfg
