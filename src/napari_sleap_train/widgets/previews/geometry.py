"""Preview shapes in napari coordinates (pure numpy).

napari shapes are lists of ``(corners, dims)`` arrays in ``[..., y, x]`` order;
pixel centres sit at integer coordinates, so a crop box from
:func:`napari_sleap_train.data.crops.crop_box` (pixel edges) is drawn as is.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from napari_sleap_train.data.crops import crop_box


def square_corners(center_xy: Sequence[float], side: float) -> np.ndarray:
    """``(4, 2)`` ``[y, x]`` corners of an axis-aligned square centred on ``center_xy``."""
    x0, y0, x1, y1 = crop_box(np.asarray(center_xy, dtype=float), side)
    return np.array([[y0, x0], [y0, x1], [y1, x1], [y1, x0]], dtype=float)


def squares_on_plane(centers_xy: np.ndarray, side: float, leading: Sequence[float] = ()) -> list[np.ndarray]:
    """Squares of ``side`` around each centre, placed on one slice of the data.

    Parameters
    ----------
    centers_xy
        ``(n, 2)`` xy centres; rows with NaN are skipped.
    side
        Square side in the same pixel units.
    leading
        Coordinates of the non-spatial axes (e.g. ``(frame,)`` or
        ``(video, frame)``) prepended to every corner, so napari shows the
        squares only on that slice.

    Returns
    -------
    list of numpy.ndarray
        One ``(4, len(leading) + 2)`` corner array per finite centre.
    """
    out = []
    lead = np.asarray(leading, dtype=float)
    for c in np.asarray(centers_xy, dtype=float).reshape(-1, 2):
        if not np.all(np.isfinite(c)):
            continue
        yx = square_corners(c, side)
        out.append(np.concatenate([np.broadcast_to(lead, (4, lead.size)), yx], axis=1))
    return out


def labeled_boxes(centers_xy: np.ndarray, side: float, label_size: tuple[float, float] | None = None) -> list[bool]:
    """Which of the squares of ``side`` around the finite ``centers_xy`` carry a label.

    The label sits at the square's upper-left corner. A square whose corner lies
    closer to a labeled one's than a label's width across and its height down gets
    none: touching animals would otherwise stack identical labels on top of each
    other. ``label_size`` is the label's (width, height) in frame pixels at the
    current zoom; at least half a side across and a quarter down are kept free.
    """
    width, height = label_size if label_size is not None else (0.0, 0.0)
    width, height = max(width, side / 2.0), max(height, side / 4.0)
    kept: list[np.ndarray] = []
    out = []
    for c in np.asarray(centers_xy, dtype=float).reshape(-1, 2):
        if not np.all(np.isfinite(c)):
            continue
        free = all(abs(c[0] - k[0]) >= width or abs(c[1] - k[1]) >= height for k in kept)
        if free:
            kept.append(c)
        out.append(free)
    return out


def inside_frame(center_xy: Sequence[float], side: float, frame_hw: tuple[int, int], margin: float = 0.0) -> np.ndarray:
    """``center_xy`` moved so a square of ``side`` around it lies inside the frame (when it fits).

    Pixel edges run from ``-0.5`` to ``size - 0.5``; ``margin`` pixels more are kept
    free where the square fits with them (room for its label at the image edge).
    On an axis shorter than the square, the square is centred on the frame.
    """
    c = np.asarray(center_xy, dtype=float).copy()
    h, w = frame_hw
    for axis, size in ((0, w), (1, h)):
        if size <= 0:
            continue
        room = margin if side + 2 * margin <= size else 0.0
        lo, hi = -0.5 + room + side / 2.0, size - 0.5 - room - side / 2.0
        c[axis] = (size - 1) / 2.0 if lo > hi else min(max(c[axis], lo), hi)
    return c
