"""Receptive field of the U-Net encoder.

A pixel of the deepest encoder feature map "sees" a square window of the input
image. SLEAP 1.4 shows this window in its training dialog; we draw it on the
viewer. The network input is the frame resized by ``input_scaling``, so the
window in original frame pixels is ``RF / input_scaling``.
"""

from __future__ import annotations

import math

from .errors import DataError


def _depth(max_stride: int) -> int:
    """Number of 2x down-sampling blocks for ``max_stride`` (a power of two)."""
    if isinstance(max_stride, bool) or int(max_stride) != max_stride or max_stride < 1:
        raise DataError(f"max stride must be a positive whole number, got {max_stride!r}")
    depth = int(round(math.log2(max_stride)))
    if 2**depth != max_stride:
        raise DataError(f"max stride must be a power of two (1, 2, 4, 8, 16, ...), got {max_stride}")
    return depth


def receptive_field(max_stride: int, convs_per_block: int = 2, kernel_size: int = 3) -> int:
    """Receptive field side, in network-input pixels, of the U-Net encoder.

    Each of the ``D = log2(max_stride)`` encoder blocks has ``convs_per_block``
    stride-1 convolutions of ``kernel_size`` followed by a 2x2 max pool. At
    cumulative stride ``2**i`` a convolution widens the field by
    ``(kernel_size - 1) * 2**i`` and the pool by ``2**i``, so::

        RF = 1 + (convs_per_block * (kernel_size - 1) + 1) * (2**D - 1)

    With SLEAP's defaults (2 convs of 3x3) this is ``5 * 2**D - 4``:
    stride 8 -> 36, 16 -> 76, 32 -> 156.

    Parameters
    ----------
    max_stride
        Total down-sampling of the encoder (power of two).
    convs_per_block
        Convolutions per encoder block.
    kernel_size
        Side of the square convolution kernels.

    Returns
    -------
    int
        Side of the square receptive field in network-input (scaled) pixels.
    """
    depth = _depth(max_stride)
    if convs_per_block < 0 or kernel_size < 1:
        raise DataError("convs_per_block must be >= 0 and kernel_size >= 1")
    return 1 + (convs_per_block * (kernel_size - 1) + 1) * (2**depth - 1)


def receptive_field_in_frame(
    max_stride: int,
    input_scaling: float,
    convs_per_block: int = 2,
    kernel_size: int = 3,
) -> float:
    """Receptive field side in original frame pixels (``RF / input_scaling``).

    Parameters
    ----------
    max_stride, convs_per_block, kernel_size
        See :func:`receptive_field`.
    input_scaling
        Factor by which frames are resized before entering the network.

    Returns
    -------
    float
        Side of the square receptive field in original frame pixels.
    """
    if not input_scaling > 0:
        raise DataError(f"input scaling must be positive, got {input_scaling!r}")
    return receptive_field(max_stride, convs_per_block, kernel_size) / float(input_scaling)
