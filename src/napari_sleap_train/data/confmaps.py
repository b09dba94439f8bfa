"""Confidence maps: the training targets of the confidence-map heads.

Each channel is an unnormalised Gaussian (peak value 1 at the point) of
standard deviation ``sigma``, evaluated on the output grid of the network:
output pixel ``(i, j)`` sits at input coordinate ``(x, y) = (j * s, i * s)``
for output stride ``s`` (SLEAP 1.4's convention). ``points`` and ``sigma`` are
in network-input pixels, i.e. after input scaling and cropping.

The Gaussian is separable, so a map is the outer product of two 1-D profiles;
that keeps a 512x512 map of 13 nodes in the low milliseconds.
"""

from __future__ import annotations

import math

import numpy as np


def output_shape(height: int, width: int, output_stride: int) -> tuple[int, int]:
    """Shape ``(ceil(h / s), ceil(w / s))`` of a map for an input of ``height x width``."""
    return math.ceil(height / output_stride), math.ceil(width / output_stride)


def _profiles(coords: np.ndarray, n: int, sigma: float, stride: int) -> np.ndarray:
    """1-D Gaussians ``(m, n)`` for coordinates ``(m,)``; NaN coordinates give zeros."""
    grid = np.arange(n, dtype=np.float32) * np.float32(stride)
    c = np.asarray(coords, dtype=np.float32)
    finite = np.isfinite(c)
    d = grid[None, :] - np.where(finite, c, 0.0)[:, None]
    prof = np.exp(-(d * d) / np.float32(2.0 * sigma * sigma))
    prof[~finite] = 0.0
    return prof


def confidence_maps(
    points: np.ndarray,
    height: int,
    width: int,
    sigma: float,
    output_stride: int = 1,
) -> np.ndarray:
    """One Gaussian channel per node.

    Parameters
    ----------
    points
        ``(k, 2)`` xy points of one instance, or ``(n, k, 2)`` of several
        instances (each channel is then the maximum over instances). Network
        input pixels; NaN marks a missing node (all-zero channel).
    height, width
        Size of the network input image in pixels.
    sigma
        Gaussian standard deviation in network input pixels.
    output_stride
        Down-sampling of the head relative to the input.

    Returns
    -------
    numpy.ndarray
        ``(ceil(height / output_stride), ceil(width / output_stride), k)``
        float32 maps with values in ``[0, 1]``.
    """
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma!r}")
    pts = np.asarray(points, dtype=np.float32)
    if pts.ndim == 2:
        pts = pts[None]
    if pts.ndim != 3 or pts.shape[-1] != 2:
        raise ValueError(f"points must have shape (k, 2) or (n, k, 2), got {np.shape(points)}")
    n, k = pts.shape[:2]
    oh, ow = output_shape(height, width, output_stride)
    if n == 0:
        return np.zeros((oh, ow, k), dtype=np.float32)
    flat = pts.reshape(n * k, 2)
    gx = _profiles(flat[:, 0], ow, sigma, output_stride)  # (n*k, ow)
    gy = _profiles(flat[:, 1], oh, sigma, output_stride)  # (n*k, oh)
    gx = gx.reshape(n, k, ow)
    gy = gy.reshape(n, k, oh)
    out = gy[0].T[:, None, :] * gx[0].T[None, :, :]
    for i in range(1, n):
        np.maximum(out, gy[i].T[:, None, :] * gx[i].T[None, :, :], out=out)
    return out


def centroid_map(
    anchors: np.ndarray,
    height: int,
    width: int,
    sigma: float,
    output_stride: int = 1,
) -> np.ndarray:
    """Single-channel map of all instance anchors (maximum over instances).

    Parameters
    ----------
    anchors
        ``(n, 2)`` xy anchors in network input pixels; NaN rows are ignored.
    height, width, sigma, output_stride
        See :func:`confidence_maps`.

    Returns
    -------
    numpy.ndarray
        ``(ceil(height / output_stride), ceil(width / output_stride), 1)`` float32.
    """
    a = np.asarray(anchors, dtype=np.float32).reshape(-1, 1, 2)
    return confidence_maps(a, height, width, sigma, output_stride)
