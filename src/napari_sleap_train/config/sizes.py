"""Size rules that configs resolve with (pure arithmetic, no data or images).

:func:`network_crop_side` is the network input of a crop; :func:`unet_cost` counts
the parameters and the computation of a U-Net without building it (no TensorFlow).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .model import UNetConfig


def network_crop_side(crop_size: float, input_scaling: float = 1.0, max_stride: int = 16) -> int:
    """Side of the network input of a crop: ``crop_size * input_scaling`` rounded up to ``max_stride``.

    Parameters
    ----------
    crop_size
        Crop side in original frame pixels (positive).
    input_scaling, max_stride
        Model settings.

    Returns
    -------
    int
        Network input side in scaled pixels (a multiple of ``max_stride``).
    """
    scaled = float(crop_size) * float(input_scaling)
    return max(1, math.ceil(scaled / max_stride - 1e-6)) * int(max_stride)


@dataclass(frozen=True)
class NetworkCost:
    """Size and cost of a U-Net on one example (counted the way Keras builds it).

    Attributes
    ----------
    parameters
        Trainable weights (equals ``keras.Model.count_params()``).
    multiply_adds
        Multiply-adds of one forward pass of one example.
    activations
        Floats of every Keras layer output of one example (training keeps at
        least half of them for the backward pass, 4 bytes each).
    """

    parameters: int
    multiply_adds: int
    activations: int


def unet_cost(
    unet: UNetConfig,
    input_hw: tuple[int, int],
    channels: int,
    n_outputs: int,
    offset_refinement: bool = False,
) -> NetworkCost | None:
    """Parameters, multiply-adds and activations of the U-Net ``engine/unet.py`` builds.

    Returns ``None`` for a config the engine would refuse (strides that are not
    powers of two, output stride above max stride, non-positive sizes).
    """
    down = _log2(unet.max_stride)
    out = _log2(unet.output_stride)
    if down is None or out is None or down < 1 or out > down or unet.convs_per_block < 1 or unet.filters < 1:
        return None
    k2 = unet.kernel_size**2
    params = macs = acts = 0
    h, w = int(input_hw[0]), int(input_hw[1])

    def conv(cin: int, cout: int, hh: int, ww: int, kk: int = k2, relu: bool = True) -> int:
        nonlocal params, macs, acts
        params += kk * cin * cout + cout
        macs += hh * ww * kk * cin * cout
        acts += hh * ww * cout * (2 if relu else 1)
        return cout

    def level(i: int) -> int:
        return int(unet.filters * unet.filters_rate**i)

    c = int(channels)
    skips = []
    for i in range(down):
        if i > 0:
            h, w = -(-h // 2), -(-w // 2)
            acts += h * w * c
        for _ in range(unet.convs_per_block):
            c = conv(c, level(i), h, w)
        skips.append((c, h, w))
    h, w = -(-h // 2), -(-w // 2)
    acts += h * w * c
    if unet.middle_block:
        for _ in range(unet.convs_per_block - 1):
            c = conv(c, level(down), h, w)
        c = conv(c, level(down), h, w)
    for j in range(down - out):
        filters = level(down - 1 - j)
        skip_c, h, w = skips[down - 1 - j]
        if unet.up_interpolate:
            acts += h * w * c
        else:
            c = conv(c, filters, h, w)
        c += skip_c
        acts += h * w * c
        for _ in range(unet.convs_per_block):
            c = conv(c, filters, h, w)
    conv(c, n_outputs, h, w, kk=1, relu=False)
    if offset_refinement:
        conv(c, 2 * n_outputs, h, w, kk=1, relu=False)
    return NetworkCost(parameters=params, multiply_adds=macs, activations=acts)


def _log2(value: int) -> int | None:
    power = int(round(math.log2(value))) if value and value > 0 else -1
    return power if power >= 0 and 2**power == value else None
