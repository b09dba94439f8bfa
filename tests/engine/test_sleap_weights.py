"""Loading SLEAP 1.4 model folders: architecture from training_config.json, weights by layer name."""

from __future__ import annotations

import json
import shutil

import h5py
import numpy as np
import pytest

from napari_sleap_train.config.model import ModelKind
from napari_sleap_train.engine.sleap_weights import (
    ModelLoadError,
    h5_layer_weights,
    load_model_folder,
)

MODELS = "models/minimal_instance.UNet."


@pytest.fixture(scope="module")
def centroid(shared_data):
    return load_model_folder(shared_data / (MODELS + "centroid"))


@pytest.fixture(scope="module")
def centered(shared_data):
    return load_model_folder(shared_data / (MODELS + "centered_instance"))


def test_centroid_folder_loads_every_layer(centroid, shared_data):
    assert centroid.kind is ModelKind.CENTROID and centroid.source == "sleap"
    assert centroid.channels == 1 and centroid.n_outputs == 1 and centroid.has_offsets
    assert (centroid.max_stride, centroid.output_stride, centroid.input_scaling) == (8, 4, 1.0)
    stored = h5_layer_weights(shared_data / (MODELS + "centroid") / "best_model.h5")
    assert sorted(centroid.loaded_layers) == sorted(stored)
    # the weights really are the file's
    kernel = centroid.keras_model.get_layer("stack0_enc0_conv0").get_weights()[0]
    assert np.array_equal(kernel, stored["stack0_enc0_conv0"][0])


def test_centered_instance_folder(centered):
    assert centered.kind is ModelKind.CENTERED_INSTANCE
    assert centered.part_names == ["A", "B"] and centered.n_outputs == 2
    assert centered.crop_size == 96 and centered.has_offsets
    out = centered.keras_model(np.zeros((1, 96, 96, 1), np.float32))
    assert [tuple(o.shape) for o in out] == [(1, 48, 48, 2), (1, 48, 48, 4)]


def test_rebuilt_network_matches_sleaps_recorded_architecture(centered, shared_data):
    """Our builder reproduces the layer list SLEAP recorded in the h5 (names and types)."""
    with h5py.File(shared_data / (MODELS + "centered_instance") / "best_model.h5", "r") as f:
        recorded = json.loads(f.attrs["model_config"])["config"]["layers"]
    ours = [(layer.name, type(layer).__name__) for layer in centered.keras_model.layers]
    theirs = [(layer["name"], layer["class_name"]) for layer in recorded]
    assert ours == theirs


def test_missing_and_broken_folders_have_plain_messages(tmp_path, shared_data):
    with pytest.raises(ModelLoadError, match="not found"):
        load_model_folder(tmp_path / "nope")
    with pytest.raises(ModelLoadError, match="no trained model"):
        load_model_folder(tmp_path)
    # a config that does not fit the weights
    broken = tmp_path / "broken"
    shutil.copytree(shared_data / (MODELS + "centroid"), broken)
    broken.chmod(0o755)
    cfg_path = broken / "training_config.json"
    cfg_path.chmod(0o644)
    cfg = json.loads(cfg_path.read_text())
    cfg["model"]["backbone"]["unet"]["filters"] = 32
    cfg_path.write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="do not fit the network"):
        load_model_folder(broken)
