"""Choosing mixed precision / XLA for the hardware, and predicting with a float16-trained model."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from napari_sleap_train.config.model import ModelKind, Precision, Switch
from napari_sleap_train.config.profiles import get_profile
from napari_sleap_train.config.serialize import save_json
from napari_sleap_train.engine.acceleration import (
    choose_acceleration,
    is_mixed,
    precision_policy,
)
from napari_sleap_train.engine.hardware import HardwareInfo
from napari_sleap_train.engine.sleap_weights import load_model_folder
from napari_sleap_train.engine.unet import build_model

CPU = HardwareInfo("cpu", ["CPU"], cores=2)


def _gpu(*caps):
    return HardwareInfo("gpu", [f"GPU {i}" for i in range(len(caps))], compute_capabilities=list(caps))


@pytest.mark.parametrize(
    "info, mixed, xla",
    [
        (CPU, False, False),
        (_gpu((8, 6)), True, True),  # Ampere: tensor cores
        (_gpu((7, 0), (7, 5)), True, True),
        (_gpu((6, 1)), False, True),  # Pascal: no tensor cores, float16 is not faster
        (_gpu((8, 0), (6, 1)), False, True),  # one old GPU in the mirror: stay in float32
        (_gpu(None), False, True),
        (HardwareInfo("metal", ["Apple M2"], compute_capabilities=[None]), False, False),
    ],
)
def test_auto_follows_the_hardware(info, mixed, xla):
    acc = choose_acceleration(info, Precision.AUTO, Switch.AUTO)
    assert (acc.mixed_precision, acc.xla) == (mixed, xla)


def test_forced_choices_win_and_are_explained():
    acc = choose_acceleration(CPU, "mixed", "on")
    assert acc.mixed_precision and acc.xla
    assert "usually slower" in acc.reason
    off = choose_acceleration(_gpu((9, 0)), "float32", "off")
    assert not off.mixed_precision and not off.xla
    assert off.summary == "float32, XLA off"
    with pytest.raises(ValueError):
        choose_acceleration(CPU, "half", "auto")


def test_policy_is_restored_after_training():
    acc = choose_acceleration(CPU, "mixed", "off")
    with precision_policy(acc):
        assert keras.config.dtype_policy().name == "mixed_float16"
    assert keras.config.dtype_policy().name == "float32"


def test_float16_trained_model_predicts_in_float32(tmp_path):
    cfg = get_profile("cpu.single")
    cfg.model.filters, cfg.model.max_stride = 8, 8
    with precision_policy(choose_acceleration(CPU, "mixed", "off")):
        mixed = build_model(cfg, 3, 1, (64, 64))
    assert is_mixed(mixed)
    assert mixed.outputs[0].dtype == "float32"  # the head computes in float32
    mixed.save(tmp_path / "best_model.keras")
    save_json(cfg, tmp_path / "config.json")

    loaded = load_model_folder(tmp_path)
    assert not is_mixed(loaded.keras_model)
    x = np.random.default_rng(0).random((2, 64, 64, 1), dtype=np.float32)
    expected = np.asarray(mixed(x))
    got = np.asarray(loaded.keras_model(x))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=2e-2)  # float16 vs float32 rounding only
    assert loaded.kind is ModelKind.SINGLE_INSTANCE and loaded.n_outputs == 3
