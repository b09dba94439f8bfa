"""U-Net layout vs. the models SLEAP 1.4 saved (layer names and weight shapes)."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from napari_sleap_train.config.model import HeadConfig, ModelKind, TrainingConfig, UNetConfig
from napari_sleap_train.engine.errors import EngineConfigError
from napari_sleap_train.engine.unet import build_model, build_unet

SLEAP_MODELS = {
    "centroid": ModelKind.CENTROID,
    "centered_instance": ModelKind.CENTERED_INSTANCE,
    "bottomup": ModelKind.MULTI_INSTANCE,
}


def _config_from_sleap_json(path, kind: ModelKind) -> TrainingConfig:
    """Read the model part of a SLEAP training_config.json (minimal parser)."""
    try:
        from napari_sleap_train.config.sleap_json import read_sleap_config
    except ImportError:
        read_sleap_config = None
    if read_sleap_config is not None:
        return read_sleap_config(path)
    tc = json.loads(path.read_text())
    unet = tc["model"]["backbone"]["unet"]
    head = tc["model"]["heads"][kind.value]
    return TrainingConfig(
        kind=kind,
        model=UNetConfig(
            max_stride=unet["max_stride"],
            output_stride=unet["output_stride"],
            filters=unet["filters"],
            filters_rate=unet["filters_rate"],
            middle_block=unet["middle_block"],
            up_interpolate=unet["up_interpolate"],
            stacks=unet["stacks"],
        ),
        head=HeadConfig(sigma=head["sigma"], offset_refinement=head["offset_refinement"]),
    )


@pytest.mark.parametrize("name", sorted(SLEAP_MODELS))
def test_layers_and_weights_match_sleap_h5(shared_data, name):
    folder = shared_data / "models" / f"minimal_instance.UNet.{name}"
    cfg = _config_from_sleap_json(folder / "training_config.json", SLEAP_MODELS[name])
    assert cfg.kind == SLEAP_MODELS[name]
    with h5py.File(folder / "best_model.h5", "r") as h5:
        sleap_model = json.loads(h5.attrs["model_config"])
        input_shape = sleap_model["config"]["layers"][0]["config"]["batch_input_shape"]
        n_edges = 1 if cfg.kind is ModelKind.MULTI_INSTANCE else 0  # the minimal skeleton's one edge
        model = build_model(cfg, n_parts=2, channels=input_shape[-1], input_hw=tuple(input_shape[1:3]), n_edges=n_edges)
        groups = h5["model_weights"]
        sleap_names = [n.decode() for n in groups.attrs["layer_names"]]
        assert [layer.name for layer in model.layers] == sleap_names
        sleap_classes = {l["name"]: l["class_name"] for l in sleap_model["config"]["layers"]}
        for layer in model.layers:
            expected = sleap_classes[layer.name].replace("MaxPool2D", "MaxPooling2D")
            assert type(layer).__name__ == expected, layer.name
            stored = groups[layer.name]
            stored = stored[layer.name] if layer.weights else stored
            for weight in layer.weights:
                assert stored[weight.name + ":0"].shape == tuple(weight.shape), (layer.name, weight.name)
        n_stored = sum(
            int(np.prod(groups[n][n][w].shape))
            for n in sleap_names
            if n in groups and n in groups[n]
            for w in groups[n][n]
        )
    assert model.count_params() == n_stored


def test_filters_per_level_round_like_sleap():
    model = build_unet(
        ModelKind.CENTROID, UNetConfig(max_stride=16, output_stride=2, filters=16, filters_rate=1.5), 1, 1
    )
    filters = [model.get_layer(f"stack0_enc{i}_conv0").filters for i in range(4)]
    assert filters == [16, 24, 36, 54]
    assert model.get_layer("stack0_enc5_middle_expand_conv0").filters == 81


def test_interpolated_upsampling_and_output_stride():
    cfg = UNetConfig(max_stride=8, output_stride=2, filters=4, filters_rate=2.0, up_interpolate=True)
    model = build_unet(ModelKind.SINGLE_INSTANCE, cfg, n_parts=3, channels=3)
    names = [layer.name for layer in model.layers]
    assert "stack0_dec0_s8_to_s4_interp_bilinear" in names
    assert "stack0_dec1_s4_to_s2_interp_bilinear" in names
    assert not any("trans_conv" in n for n in names)
    assert names[-1] == "SingleInstanceConfmapsHead_0"
    out = model(np.zeros((2, 64, 48, 3), np.float32))
    assert tuple(out.shape) == (2, 32, 24, 3)


def _empirical_receptive_field(model, size: int) -> int:
    """Side of the input region that influences the centre output pixel."""
    import tensorflow as tf

    x = tf.Variable(tf.zeros((1, size, size, 1)))
    with tf.GradientTape() as tape:
        y = model(x)
        centre = y[0, y.shape[1] // 2, y.shape[2] // 2, 0]
    grad = tape.gradient(centre, x).numpy()[0, :, :, 0]
    rows = np.nonzero(np.abs(grad).sum(axis=1) > 0)[0]
    return int(rows.max() - rows.min() + 1)


@pytest.mark.parametrize("max_stride, expected", [(8, 36), (16, 76)])
def test_receptive_field_matches_formula(max_stride, expected):
    import keras

    # SLEAP's receptive field is that of the encoder: no middle block, no decoder.
    cfg = UNetConfig(max_stride=max_stride, output_stride=max_stride, filters=2, filters_rate=1.0, middle_block=False)
    model = build_unet(ModelKind.CENTROID, cfg, 1, 1)
    # Positive weights so no gradient cancels out by chance.
    for layer in model.layers:
        for w in layer.weights:
            w.assign(keras.ops.ones_like(w) * 0.1)
    try:
        from napari_sleap_train.data.receptive_field import receptive_field
    except ImportError:
        receptive_field = None
    if receptive_field is not None:
        assert receptive_field(max_stride) == expected
    rf = _empirical_receptive_field(model, 256)
    # The centre output pixel of a max-pooled net sits on a stride grid, so its
    # footprint can be up to max_stride - 1 pixels smaller than the formula.
    assert expected - max_stride < rf <= expected


def test_bad_strides_are_explained():
    with pytest.raises(EngineConfigError, match="power of two"):
        build_unet(ModelKind.CENTROID, UNetConfig(max_stride=12), 1, 1)
    with pytest.raises(EngineConfigError, match="cannot be larger"):
        build_unet(ModelKind.CENTROID, UNetConfig(max_stride=8, output_stride=16), 1, 1)
    with pytest.raises(EngineConfigError, match="single-stack"):
        build_unet(ModelKind.CENTROID, UNetConfig(stacks=2), 1, 1)


def test_bottom_up_heads_sit_on_their_own_strides():
    cfg = TrainingConfig(kind=ModelKind.MULTI_INSTANCE, model=UNetConfig(max_stride=16, output_stride=2, filters=8))
    cfg.pafs.output_stride = 8
    model = build_model(cfg, n_parts=3, channels=1, input_hw=(64, 96), n_edges=2)
    confmaps, pafs = model.outputs
    assert tuple(confmaps.shape[1:]) == (32, 48, 3)
    assert tuple(pafs.shape[1:]) == (8, 12, 4)
    assert [l.name for l in model.layers][-2:] == ["MultiInstanceConfmapsHead_0", "PartAffinityFieldsHead_0"]
    # fields finer than the maps: the decoder runs down to the fields' stride
    cfg.model.output_stride, cfg.pafs.output_stride = 4, 2
    cm, pf = build_model(cfg, n_parts=3, channels=1, input_hw=(64, 96), n_edges=2).outputs
    assert tuple(cm.shape[1:3]) == (16, 24) and tuple(pf.shape[1:3]) == (32, 48)
    with pytest.raises(EngineConfigError, match="at least one skeleton edge"):
        build_model(cfg, n_parts=3, channels=1, n_edges=0)
    cfg.pafs.output_stride = 32
    with pytest.raises(EngineConfigError, match="cannot be larger than max stride"):
        build_model(cfg, n_parts=3, channels=1, n_edges=2)
