"""``config.sizes.unet_cost`` counts what ``engine/unet.py`` builds (checked against Keras)."""

from __future__ import annotations

import pytest

from napari_sleap_train.config.model import ModelKind, UNetConfig
from napari_sleap_train.config.profiles import get_profile
from napari_sleap_train.config.sizes import unet_cost
from napari_sleap_train.engine.unet import build_unet


@pytest.mark.parametrize(
    ("unet", "hw", "channels", "n_out", "offsets"),
    [
        (UNetConfig(), (64, 64), 1, 13, False),  # the default network (--config {})
        (UNetConfig(max_stride=8, output_stride=2, filters=4, filters_rate=1.5), (40, 48), 3, 1, False),
        (
            UNetConfig(
                max_stride=32,
                output_stride=4,
                filters=16,
                filters_rate=1.5,
                up_interpolate=False,
                convs_per_block=3,
                middle_block=False,
            ),
            (96, 64),
            1,
            2,
            True,
        ),
        (get_profile("cpu.centered_instance").model, (64, 64), 1, 13, False),
    ],
)
def test_parameters_match_keras(unet, hw, channels, n_out, offsets):
    model = build_unet(ModelKind.CENTERED_INSTANCE, unet, n_out, channels, hw, offset_refinement=offsets)
    cost = unet_cost(unet, hw, channels, n_out, offsets)
    assert cost.parameters == model.count_params()
    # every layer output is counted: the sum of the Keras output sizes
    outputs = sum(int(_size(layer.output.shape)) for layer in model.layers if layer.name != "input")
    assert cost.activations == outputs


def _size(shape) -> int:
    n = 1
    for d in shape[1:]:
        n *= int(d)
    return n


def test_invalid_configs_have_no_cost():
    assert unet_cost(UNetConfig(max_stride=12), (64, 64), 1, 1) is None
    assert unet_cost(UNetConfig(max_stride=8, output_stride=16), (64, 64), 1, 1) is None
