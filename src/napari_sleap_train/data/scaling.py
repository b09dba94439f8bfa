"""Input scaling and stride padding of frames, and the matching point transforms.

Resizing uses OpenCV's pixel-centre convention: output pixel ``j`` samples input
coordinate ``(j + 0.5) / scale - 0.5``. :func:`scale_points` and
:func:`unscale_points` use the same mapping, so a keypoint stays on its image
feature at any scale. (SLEAP multiplies coordinates by the scale, which shifts
points by ``0.5 * (1 - scale)`` scaled pixels; we avoid that bias.)
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from .errors import DataError


def scaled_shape(height: int, width: int, scale: float) -> tuple[int, int]:
    """Shape of a ``height x width`` frame after :func:`resize` (rounded like OpenCV)."""
    return max(1, int(round(height * scale))), max(1, int(round(width * scale)))


def resize(image: np.ndarray, scale: float) -> np.ndarray:
    """Resize a frame by ``scale`` (area averaging when shrinking, bilinear when growing).

    Parameters
    ----------
    image
        ``(H, W, C)`` or ``(H, W)`` array (uint8 or float32).
    scale
        Resize factor, e.g. ``input_scaling``.

    Returns
    -------
    numpy.ndarray
        ``(round(H * scale), round(W * scale)[, C])`` array of the input dtype;
        the channel axis is kept even for ``C == 1``.
    """
    if not scale > 0:
        raise DataError(f"input scaling must be positive, got {scale!r}")
    if scale == 1:
        return image
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    src = image if image.dtype != np.float64 else image.astype(np.float32)
    # fx/fy (not dsize) keep the exact factor, so points map by scale_points()
    out = cv2.resize(src, (0, 0), fx=scale, fy=scale, interpolation=interp)
    if image.ndim == 3 and out.ndim == 2:
        out = out[..., None]
    return out


def scale_points(points: np.ndarray, scale: float) -> np.ndarray:
    """Map xy points from original pixels to pixels of a frame resized by ``scale``.

    ``(p + 0.5) * scale - 0.5``; NaN stays NaN. Any shape ``(..., 2)``.
    """
    p = np.asarray(points, dtype=np.float64)
    return p if scale == 1 else (p + 0.5) * scale - 0.5


def unscale_points(points: np.ndarray, scale: float) -> np.ndarray:
    """Inverse of :func:`scale_points`: resized-frame pixels back to original pixels."""
    p = np.asarray(points, dtype=np.float64)
    return p if scale == 1 else (p + 0.5) / scale - 0.5


def padded_shape(height: int, width: int, stride: int) -> tuple[int, int]:
    """``(height, width)`` rounded up to multiples of ``stride``."""
    return math.ceil(height / stride) * stride, math.ceil(width / stride) * stride


def pad_to_stride(image: np.ndarray, stride: int) -> np.ndarray:
    """Zero-pad the bottom and right of a frame to multiples of ``stride``.

    Coordinates do not change (padding is only added after the last row and
    column).
    """
    if stride < 1:
        raise DataError(f"stride must be at least 1, got {stride!r}")
    h, w = image.shape[:2]
    ph, pw = padded_shape(h, w, stride)
    if (ph, pw) == (h, w):
        return image
    pad = [(0, ph - h), (0, pw - w)] + [(0, 0)] * (image.ndim - 2)
    return np.pad(image, pad)
