"""Size rules that configs resolve with (pure arithmetic, no data or images)."""

from __future__ import annotations

import math


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
