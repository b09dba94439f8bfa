"""Identity networks: the U-Net with SLEAP 1.4's class heads (child process only).

Top-down-id (``multi_class_topdown``): the centered-instance confidence maps
(``CenteredInstanceConfmapsHead``) and a class vector per crop: the decoder
features at the class head's stride (SLEAP: the deepest, max stride) are
globally max-pooled (``pre_classification_global_pool``, else flattened),
pass ``num_fc_layers`` dense + ReLU layers (``pre_classification{i}_fc``) and a
softmax over the classes (``ClassVectorsHead``).

Bottom-up-id (``multi_class_bottomup``): the confidence maps of every part
(``MultiInstanceConfmapsHead_0``) and one sigmoid map per class
(``ClassMapsHead_0``), each on its own stride.

Outputs are ``[confmaps, classes]`` (``+ [offsets]``), SLEAP's order; the layer
names are SLEAP's so its ``best_model.h5`` weights load by name.
"""

from __future__ import annotations

import dataclasses

import keras
from keras import layers

from napari_sleap_train.config.model import ModelKind, TrainingConfig
from napari_sleap_train.engine.errors import EngineConfigError
from napari_sleap_train.engine.unet import (
    CONFMAP_HEAD_NAMES,
    OFFSET_HEAD_NAME,
    _float32_if_mixed,
    _log2_exact,
    build_backbone,
)

CLASS_VECTORS_HEAD_NAME = "ClassVectorsHead"
CLASS_MAPS_HEAD_NAME = "ClassMapsHead_0"
#: The class head layer of each identity kind.
CLASS_HEAD_NAMES = {
    ModelKind.MULTI_CLASS_TOPDOWN: CLASS_VECTORS_HEAD_NAME,
    ModelKind.MULTI_CLASS_BOTTOMUP: CLASS_MAPS_HEAD_NAME,
}


def n_classes_of(cfg: TrainingConfig) -> int:
    """Number of classes of an identity config (its class names must be resolved)."""
    classes = cfg.identity.classes
    if not classes or len(classes) < 2:
        raise EngineConfigError(
            "An identity model needs at least two classes (track names); "
            f"this one has {len(classes or [])}: {', '.join(classes or []) or 'none'}."
        )
    return len(classes)


def build_identity_model(
    cfg: TrainingConfig,
    n_parts: int,
    channels: int,
    input_hw: tuple[int | None, int | None] = (None, None),
) -> keras.Model:
    """Build a top-down-id or bottom-up-id network for ``cfg`` (classes from ``cfg.identity.classes``)."""
    kind = ModelKind(cfg.kind)
    if not kind.is_identity:  # pragma: no cover - build_model dispatches only identity kinds here
        raise EngineConfigError(f"{kind.value} is not an identity model.")
    if n_parts < 1:
        raise EngineConfigError("The model needs at least one body part to predict.")
    n_classes = n_classes_of(cfg)
    unet, ident = cfg.model, cfg.identity
    class_stride = int(ident.output_stride)
    _log2_exact(class_stride, "Class head output stride")
    if class_stride > unet.max_stride:
        raise EngineConfigError(
            f"The class head's output stride ({class_stride}) cannot be larger than max stride ({unet.max_stride})."
        )
    vectors = kind is ModelKind.MULTI_CLASS_TOPDOWN
    backbone = unet if vectors else dataclasses.replace(unet, output_stride=min(unet.output_stride, class_stride))
    if vectors and class_stride < unet.output_stride:
        raise EngineConfigError(
            f"The class vectors' stride ({class_stride}) must be at least the confidence maps' "
            f"output stride ({unet.output_stride})."
        )
    if vectors and not ident.global_pool and None in input_hw:
        raise EngineConfigError("Class vectors without global pooling need a fixed crop size.")
    inputs = keras.Input(shape=(input_hw[0], input_hw[1], channels), name="input")
    taps: dict = {}
    build_backbone(inputs, backbone, taps)
    head_dtype = _float32_if_mixed()
    cm_features = taps[unet.output_stride]
    confmaps = layers.Conv2D(n_parts, 1, padding="same", name=CONFMAP_HEAD_NAMES[kind], dtype=head_dtype)(cm_features)
    x = taps[class_stride]
    if vectors:
        if ident.global_pool:
            x = layers.GlobalMaxPooling2D(name="pre_classification_global_pool")(x)
        x = layers.Flatten(name="pre_classification_flatten")(x)
        for i in range(int(ident.num_fc_layers)):
            x = layers.Dense(int(ident.num_fc_units), name=f"pre_classification{i}_fc")(x)
            x = layers.Activation("relu", name=f"pre_classification{i}_relu")(x)
        classes = layers.Dense(n_classes, activation="softmax", name=CLASS_VECTORS_HEAD_NAME, dtype=head_dtype)(x)
    else:
        classes = layers.Conv2D(
            n_classes, 1, padding="same", activation="sigmoid", name=CLASS_MAPS_HEAD_NAME, dtype=head_dtype
        )(x)
    outputs = [confmaps, classes]
    if cfg.head.offset_refinement:
        outputs.append(
            layers.Conv2D(2 * n_parts, 1, padding="same", name=OFFSET_HEAD_NAME, dtype=head_dtype)(cm_features)
        )
    return keras.Model(inputs, outputs, name="unet")
