"""Instance crops of centered-instance models: size, placement and extraction.

Units
-----
``crop_size`` is a side length in **original frame pixels** (what the user sees
on the viewer). The network input of a crop is that region resized by
``input_scaling`` and must be a multiple of ``max_stride``: its side is
:func:`crop_network_size`, and the region it really covers in the frame is
:func:`effective_crop_size` (equal to ``crop_size`` when the scaled crop is
already a multiple of the stride, e.g. every auto crop size).

Coordinates are xy with pixel centres at integers. A crop of side ``size``
centred on ``(cx, cy)`` covers the frame box :func:`crop_box`; the integer
crop of :func:`extract_crop` starts at pixel :func:`crop_offset` and
``points_in_crop = points - offset``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..config.sizes import network_crop_side
from .anchors import anchor_points
from .errors import DataError

#: angular resolution used to find the worst-case rotated extent (degrees);
#: the extent is then under-estimated by at most diameter * 2.4e-6.
_ANGLE_STEP_DEG = 0.25


def _as_instances(instances_list: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    """Stack per-frame ``(n, k, 2)`` arrays into one ``(N, k, 2)`` float64 array."""
    if isinstance(instances_list, np.ndarray):
        arrays = [instances_list]
    else:
        arrays = [np.asarray(a, dtype=np.float64) for a in instances_list]
    arrays = [a.reshape(-1, *a.shape[-2:]) for a in arrays if np.size(a)]
    if not arrays:
        return np.zeros((0, 0, 2))
    pts = np.concatenate(arrays, axis=0).astype(np.float64, copy=False)
    visible = np.isfinite(pts).all(axis=-1).any(axis=-1)
    return pts[visible]


def _fill_missing(pts: np.ndarray) -> np.ndarray:
    """Replace missing nodes by a visible node of the same instance (extent unchanged)."""
    vis = np.isfinite(pts).all(axis=-1)  # (N, k)
    first = pts[np.arange(len(pts)), np.argmax(vis, axis=1)]  # (N, 2)
    return np.where(vis[..., None], pts, first[:, None, :])


def _angles(max_rotation_deg: float) -> np.ndarray:
    """Projection directions (radians) covering both image axes for rotations up to the max."""
    t = min(abs(float(max_rotation_deg)), 180.0)
    n = max(1, math.ceil(2 * t / _ANGLE_STEP_DEG) + 1)
    rot = np.deg2rad(np.linspace(-t, t, n)) if t > 0 else np.zeros(1)
    return np.concatenate([rot, rot + np.pi / 2])  # x axis and y axis of the rotated frame


def max_instance_extent(
    instances_list: Sequence[np.ndarray] | np.ndarray,
    max_rotation_deg: float = 0.0,
    anchor_index: int | None = None,
) -> float:
    """Side of the smallest axis-aligned square that holds any instance, in its own pixels.

    Parameters
    ----------
    instances_list
        Per-frame ``(n, k, 2)`` xy arrays (or one stacked array), NaN = missing.
    max_rotation_deg
        Rotation augmentation range ``[-max, max]``; each instance is rotated
        by every angle of the range and its worst-case bounding box is used
        (a square of side ``s`` needs ``s * (|cos a| + |sin a|)``).
    anchor_index
        ``None`` (SLEAP's rule): the largest x or y extent of the (rotated)
        points. A node index: twice the largest x or y distance of any node
        from that anchor, i.e. the side a crop centred on the anchor needs to
        hold the whole instance (falls back to the bounding-box midpoint when
        the anchor is missing, like :func:`~.anchors.anchor_points`).

    Returns
    -------
    float
        The side, in the pixel units of the points (0.0 for single points).
    """
    pts = _as_instances(instances_list)
    if len(pts) == 0:
        raise DataError("There are no labeled instances to compute a crop size from.")
    centred = anchor_index is not None
    if centred:
        pts = pts - anchor_points(pts, anchor_index)[:, None, :]
    pts = _fill_missing(pts)
    # Upper bound per instance lets us skip instances that cannot win.
    if centred:
        bound = 2.0 * np.sqrt((pts**2).sum(-1)).max(-1)
    else:
        # the largest pairwise distance bounds the extent in every direction
        diff = pts[:, :, None, :] - pts[:, None, :, :]
        bound = np.sqrt((diff**2).sum(-1)).max(axis=(1, 2))
    order = np.argsort(-bound)
    angles = _angles(max_rotation_deg)
    dirs = np.stack([np.cos(angles), -np.sin(angles)])  # (2, a)
    best = 0.0
    chunk = max(8, 2**18 // (pts.shape[1] * len(angles)))  # keeps each projection small
    for start in range(0, len(order), chunk):
        idx = order[start : start + chunk]
        if bound[idx[0]] <= best:
            break
        proj = pts[idx] @ dirs  # (m, k, a)
        if centred:
            ext = 2.0 * np.abs(proj).max(axis=1)
        else:
            ext = proj.max(axis=1) - proj.min(axis=1)
        best = max(best, float(ext.max()))
    return best


def auto_crop_size(
    instances_list: Sequence[np.ndarray] | np.ndarray,
    input_scaling: float = 1.0,
    max_stride: int = 16,
    padding: int = 16,
    max_rotation_deg: float = 0.0,
    scale_max: float = 1.0,
    anchor_index: int | None = None,
) -> int:
    """Crop side for centered-instance models, chosen from the labels.

    Follows SLEAP 1.4 (largest instance extent times input scaling plus
    padding, rounded up to a multiple of the max stride) but also accounts for
    augmentation, which SLEAP ignores:

    - rotation up to ``max_rotation_deg``: worst-case bounding box of each
      instance rotated by any angle in ``[-max, max]``;
    - scale augmentation: instances grow by up to ``scale_max``; the growth
      takes the padding's place where it is smaller (an instance at the
      largest scale, turned the worst way, still fits; the padding is a
      margin, not part of the animal), and adds to the extent where larger.
      On the fly clip, with 1.1 scale jitter, growing the extent on top of
      the padding (this function's earlier rule) chose 256 instead of 192
      px, and the model trained at 118 instead of 177 samples/s.

    Parameters
    ----------
    instances_list
        Per-frame ``(n, k, 2)`` xy arrays in original frame pixels.
    input_scaling
        Resize factor of the centered-instance model.
    max_stride
        Max stride of its U-Net; the network crop is a multiple of it.
    padding
        Margin added to the scaled extent, in network (scaled) pixels, as SLEAP.
    max_rotation_deg
        Rotation augmentation range (0 when rotation is off).
    scale_max
        Largest scale augmentation factor (1 when scale augmentation is off).
    anchor_index
        See :func:`max_instance_extent`. ``None`` reproduces SLEAP's number
        when augmentation is off.

    Returns
    -------
    int
        Crop side in **original frame pixels**. ``crop * input_scaling`` is a
        multiple of ``max_stride`` (exactly so for ``input_scaling == 1``).
    """
    if not input_scaling > 0:
        raise DataError(f"input scaling must be positive, got {input_scaling!r}")
    if max_stride < 1:
        raise DataError(f"max stride must be at least 1, got {max_stride!r}")
    extent = max_instance_extent(instances_list, max_rotation_deg, anchor_index)
    scaled = extent * input_scaling
    need = scaled + max(float(padding), scaled * (max(1.0, float(scale_max)) - 1.0))
    network = max(1, math.ceil(need / max_stride - 1e-9)) * max_stride
    # floor keeps crop * scaling within one stride below the network side, so
    # crop_network_size() maps it back to exactly ``network``.
    return int(math.floor(network / input_scaling + 1e-9))


def crop_network_size(crop_size: float, input_scaling: float = 1.0, max_stride: int = 16) -> int:
    """Side of the network input of a crop: ``crop_size * input_scaling`` rounded up to ``max_stride``.

    Parameters
    ----------
    crop_size
        Crop side in original frame pixels.
    input_scaling, max_stride
        Model settings.

    Returns
    -------
    int
        Network input side in scaled pixels (a multiple of ``max_stride``).
    """
    if not crop_size > 0:
        raise DataError(f"crop size must be positive, got {crop_size!r}")
    return network_crop_side(crop_size, input_scaling, max_stride)


def effective_crop_size(crop_size: float, input_scaling: float = 1.0, max_stride: int = 16) -> float:
    """Side of the frame region a crop really covers, in original pixels.

    ``crop_network_size(...) / input_scaling``: equal to ``crop_size`` when the
    scaled crop is a multiple of the stride, slightly larger otherwise. Draw
    this on the viewer.
    """
    return crop_network_size(crop_size, input_scaling, max_stride) / float(input_scaling)


def crop_box(center_xy: Sequence[float] | np.ndarray, size: float) -> tuple[float, float, float, float]:
    """Frame box ``(x0, y0, x1, y1)`` of a square crop of side ``size`` centred on ``center_xy``.

    The box is given by its pixel *edges* (pixel ``i`` spans ``i - 0.5 .. i + 0.5``),
    so ``x1 - x0 == size``; ``center_xy`` may be an ``(n, 2)`` array, then each
    entry is an ``(n,)`` array.
    """
    c = np.asarray(center_xy, dtype=np.float64)
    h = float(size) / 2.0
    if c.ndim == 1:
        return (float(c[0] - h), float(c[1] - h), float(c[0] + h), float(c[1] + h))
    return (c[..., 0] - h, c[..., 1] - h, c[..., 0] + h, c[..., 1] + h)


def crop_offset(center_xy: Sequence[float] | np.ndarray, size: int) -> tuple[int, int]:
    """Top-left pixel ``(x0, y0)`` of the integer crop of side ``size`` around ``center_xy``.

    The crop centre ``(size - 1) / 2`` lands within half a pixel of
    ``center_xy``; ``points_in_crop = points - (x0, y0)``.
    """
    c = np.asarray(center_xy, dtype=np.float64)
    if not np.all(np.isfinite(c)):
        raise DataError(f"crop centre must be finite, got {c.tolist()}")
    o = np.floor(c - (size - 1) / 2.0 + 0.5).astype(int)
    return int(o[0]), int(o[1])


def extract_crop(image: np.ndarray, center_xy: Sequence[float] | np.ndarray, size: int) -> np.ndarray:
    """Copy a ``size x size`` crop centred on ``center_xy``, zero-filled outside the frame.

    Parameters
    ----------
    image
        ``(H, W, C)`` or ``(H, W)`` frame.
    center_xy
        Crop centre in frame pixels.
    size
        Crop side in pixels.

    Returns
    -------
    numpy.ndarray
        ``(size, size, C)`` (or ``(size, size)``) array of the image dtype; its
        pixel ``(0, 0)`` is frame pixel :func:`crop_offset`.
    """
    size = int(size)
    if size < 1:
        raise DataError(f"crop size must be positive, got {size}")
    x0, y0 = crop_offset(center_xy, size)
    h, w = image.shape[:2]
    out = np.zeros((size, size) + image.shape[2:], dtype=image.dtype)
    sx0, sy0 = max(x0, 0), max(y0, 0)
    sx1, sy1 = min(x0 + size, w), min(y0 + size, h)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = image[sy0:sy1, sx0:sx1]
    return out
