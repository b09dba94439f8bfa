"""U-Net backbone and confidence-map heads (Keras 3 functional API).

The graph mirrors the U-Net of SLEAP 1.4 (TensorFlow) layer for layer and name
for name, so the weights of a SLEAP ``best_model.h5`` load into it by layer
name. The layout, for ``max_stride = 2**D`` and ``output_stride = 2**(D-U)``:

* encoder blocks ``stack0_enc{i}`` for ``i < D``: a 2x2 max pool first (except
  block 0), then ``convs_per_block`` 3x3 convs + ReLU, with
  ``int(filters * filters_rate**i)`` filters; their last activation is the skip
  source of the decoder at that stride;
* ``stack0_enc{D}_last_pool``: the final pool down to ``max_stride``;
* middle block (optional): ``stack0_enc{D+1}_middle_expand`` with
  ``convs_per_block - 1`` convs and ``stack0_enc{D+2}_middle_contract`` with one
  conv, both with ``int(filters * filters_rate**D)`` filters (what SLEAP 1.4's
  saved models hold);
* decoder blocks ``stack0_dec{j}_s{s}_to_s{s/2}``: a stride-2 transposed conv
  + ReLU (or bilinear ``UpSampling2D`` when ``up_interpolate``), concatenation
  with the encoder skip, then ``convs_per_block`` refine convs, all with
  ``int(filters * filters_rate**(D-1-j))`` filters;
* heads: a linear 1x1 conv per head (``CentroidConfmapsHead_0``,
  ``CenteredInstanceConfmapsHead_0``, ``SingleInstanceConfmapsHead_0``,
  ``MultiInstanceConfmapsHead_0``), plus ``OffsetRefinementHead_0`` (two
  channels per part) when offset refinement is on.

Bottom-up (multi-instance) models have a second head,
``PartAffinityFieldsHead_0`` (two channels per edge), which may sit on a
coarser decoder level than the confidence maps (SLEAP's baseline: maps at
stride 4, fields at stride 8): the decoder runs down to the finer of the two
strides and each head reads the features of its own stride. Outputs are then
``[confmaps, pafs]`` (``+ [offsets]``), SLEAP's order.
"""

from __future__ import annotations

import dataclasses
import math

import keras
from keras import layers

from napari_sleap_train.config.model import ModelKind, TrainingConfig, UNetConfig
from napari_sleap_train.engine.errors import EngineConfigError

#: Head layer name per model kind (SLEAP's names, used for weight loading).
CONFMAP_HEAD_NAMES: dict[ModelKind, str] = {
    ModelKind.CENTROID: "CentroidConfmapsHead_0",
    ModelKind.CENTERED_INSTANCE: "CenteredInstanceConfmapsHead_0",
    ModelKind.SINGLE_INSTANCE: "SingleInstanceConfmapsHead_0",
    ModelKind.MULTI_INSTANCE: "MultiInstanceConfmapsHead_0",
    # identity models (built by engine/identity_net.py): SLEAP 1.4's names, no suffix on the top-down one
    ModelKind.MULTI_CLASS_TOPDOWN: "CenteredInstanceConfmapsHead",
    ModelKind.MULTI_CLASS_BOTTOMUP: "MultiInstanceConfmapsHead_0",
}
OFFSET_HEAD_NAME = "OffsetRefinementHead_0"
PAF_HEAD_NAME = "PartAffinityFieldsHead_0"


def _log2_exact(value: int, what: str) -> int:
    power = int(round(math.log2(value))) if value > 0 else -1
    if power < 0 or 2**power != value:
        raise EngineConfigError(f"{what} must be a power of two (1, 2, 4, 8, ...), got {value}.")
    return power


def check_unet(cfg: UNetConfig) -> tuple[int, int]:
    """Validate a U-Net config; return (down blocks, up blocks)."""
    down = _log2_exact(cfg.max_stride, "Max stride")
    out = _log2_exact(cfg.output_stride, "Output stride")
    if down < 1:
        raise EngineConfigError("Max stride must be at least 2.")
    if out > down:
        raise EngineConfigError(
            f"Output stride ({cfg.output_stride}) cannot be larger than max stride ({cfg.max_stride})."
        )
    if cfg.stacks != 1:
        raise EngineConfigError(
            f"Only single-stack U-Nets are supported (stacks = 1); the config asks for {cfg.stacks}."
        )
    if cfg.convs_per_block < 1 or cfg.filters < 1 or cfg.filters_rate <= 0:
        raise EngineConfigError("U-Net filters, filters rate and convs per block must be positive.")
    return down, down - out


def level_filters(cfg: UNetConfig, level: int) -> int:
    """Number of filters at encoder level ``level`` (SLEAP rounds down)."""
    return int(cfg.filters * cfg.filters_rate**level)


def _conv_relu(x, filters: int, kernel: int, name: str, act_name: str):
    x = layers.Conv2D(filters, kernel, padding="same", name=name)(x)
    return layers.Activation("relu", name=act_name)(x)


def _float32_if_mixed() -> str | None:
    """``"float32"`` for layers that must not compute in float16 under a mixed policy."""
    return "float32" if keras.config.dtype_policy().compute_dtype == "float16" else None


def build_backbone(x, cfg: UNetConfig, taps: dict | None = None):
    """Apply the U-Net to tensor ``x``; return the features at the output stride.

    ``taps``, when given, receives the decoder features of every stride from
    ``max_stride`` down to the output stride (``{stride: tensor}``).
    """
    down, up = check_unet(cfg)
    k = cfg.kernel_size
    skips = []
    for i in range(down):
        prefix = f"stack0_enc{i}"
        if i > 0:
            x = layers.MaxPooling2D(2, strides=2, padding="same", name=f"{prefix}_pool")(x)
        for c in range(cfg.convs_per_block):
            x = _conv_relu(x, level_filters(cfg, i), k, f"{prefix}_conv{c}", f"{prefix}_act{c}_relu")
        skips.append(x)
    x = layers.MaxPooling2D(2, strides=2, padding="same", name=f"stack0_enc{down}_last_pool")(x)

    if cfg.middle_block:
        middle = level_filters(cfg, down)
        block = down + 1
        if cfg.convs_per_block > 1:
            prefix = f"stack0_enc{block}_middle_expand"
            for c in range(cfg.convs_per_block - 1):
                x = _conv_relu(x, middle, k, f"{prefix}_conv{c}", f"{prefix}_act{c}_relu")
            block += 1
        prefix = f"stack0_enc{block}_middle_contract"
        x = _conv_relu(x, middle, k, f"{prefix}_conv0", f"{prefix}_act0_relu")

    stride = cfg.max_stride
    if taps is not None:
        taps[stride] = x
    for j in range(up):
        prefix = f"stack0_dec{j}_s{stride}_to_s{stride // 2}"
        filters = level_filters(cfg, down - 1 - j)
        if cfg.up_interpolate:
            # bilinear resize returns float32 even for float16 input; under mixed
            # precision its gradient then mixes dtypes, which XLA rejects: run it in float32
            x = layers.UpSampling2D(
                2, interpolation="bilinear", name=f"{prefix}_interp_bilinear", dtype=_float32_if_mixed()
            )(x)
        else:
            x = layers.Conv2DTranspose(filters, k, strides=2, padding="same", name=f"{prefix}_trans_conv")(x)
            x = layers.Activation("relu", name=f"{prefix}_trans_conv_act_relu")(x)
        x = layers.Concatenate(name=f"{prefix}_skip_concat")([skips[down - 1 - j], x])
        for c in range(cfg.convs_per_block):
            x = _conv_relu(x, filters, k, f"{prefix}_refine_conv{c}", f"{prefix}_refine_conv{c}_act_relu")
        stride //= 2
        if taps is not None:
            taps[stride] = x
    return x


def build_unet(
    kind: ModelKind,
    unet: UNetConfig,
    n_parts: int,
    channels: int,
    input_hw: tuple[int | None, int | None] = (None, None),
    offset_refinement: bool = False,
    paf_channels: int = 0,
    paf_stride: int | None = None,
) -> keras.Model:
    """Build a SLEAP-layout U-Net with its confidence-map head.

    Parameters
    ----------
    kind
        Model kind; names the head (centroid models have one output channel).
    unet
        Backbone settings (``output_stride``: the confidence maps' stride).
    n_parts
        Confidence-map channels (1 for centroid, number of nodes otherwise).
    channels
        Input image channels (1 grayscale, 3 RGB).
    input_hw
        Input height and width; ``None`` accepts any multiple of ``max_stride``.
    offset_refinement
        Add SLEAP's offset-refinement head (2 channels per part) as a last output.
    paf_channels, paf_stride
        Bottom-up models: part affinity field channels (2 per edge) and their
        output stride; the fields are the second output.

    Returns
    -------
    keras.Model
        Inputs ``input``; outputs the confidence maps (then the fields, then
        offsets, when there are any).
    """
    if n_parts < 1:
        raise EngineConfigError("The model needs at least one body part to predict.")
    backbone = unet
    if paf_channels:
        paf_stride = int(paf_stride or unet.output_stride)
        _log2_exact(paf_stride, "Part affinity field output stride")
        if paf_stride > unet.max_stride:
            raise EngineConfigError(
                f"The part affinity field output stride ({paf_stride}) cannot be larger than "
                f"max stride ({unet.max_stride})."
            )
        backbone = dataclasses.replace(unet, output_stride=min(unet.output_stride, paf_stride))
    inputs = keras.Input(shape=(input_hw[0], input_hw[1], channels), name="input")
    taps: dict = {}
    features = build_backbone(inputs, backbone, taps)
    cm_features = taps.get(unet.output_stride, features)
    # Under mixed precision the heads still output float32, so the loss is not
    # computed on float16 values (tiny confidence-map errors underflow there).
    head_dtype = _float32_if_mixed()
    confmaps = layers.Conv2D(n_parts, 1, padding="same", name=CONFMAP_HEAD_NAMES[kind], dtype=head_dtype)(cm_features)
    outputs = [confmaps]
    if paf_channels:
        outputs.append(
            layers.Conv2D(paf_channels, 1, padding="same", name=PAF_HEAD_NAME, dtype=head_dtype)(taps[paf_stride])
        )
    if offset_refinement:
        outputs.append(
            layers.Conv2D(2 * n_parts, 1, padding="same", name=OFFSET_HEAD_NAME, dtype=head_dtype)(cm_features)
        )
    return keras.Model(inputs, outputs if len(outputs) > 1 else confmaps, name="unet")


def build_model(
    cfg: TrainingConfig,
    n_parts: int,
    channels: int,
    input_hw: tuple[int | None, int | None] = (None, None),
    n_edges: int = 0,
) -> keras.Model:
    """Build the network described by a :class:`TrainingConfig`.

    ``n_edges`` is the number of part affinity fields of a bottom-up model
    (ignored for the other kinds).
    """
    if ModelKind(cfg.kind).is_identity:
        from napari_sleap_train.engine.identity_net import build_identity_model

        return build_identity_model(cfg, n_parts, channels, input_hw)
    n_out = 1 if cfg.kind == ModelKind.CENTROID else n_parts
    multi = cfg.kind == ModelKind.MULTI_INSTANCE
    if multi and n_edges < 1:
        raise EngineConfigError("A bottom-up model needs at least one skeleton edge for its part affinity fields.")
    return build_unet(
        cfg.kind,
        cfg.model,
        n_out,
        channels,
        input_hw,
        cfg.head.offset_refinement,
        paf_channels=2 * n_edges if multi else 0,
        paf_stride=cfg.pafs.output_stride if multi else None,
    )
