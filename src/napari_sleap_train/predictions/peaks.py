"""Peak finding on confidence maps (numpy only).

Confidence maps are ``(height, width, channels)`` arrays on the network's
output grid. Peak coordinates returned here are in **grid units**, ``(x, y)``
with grid cell ``(i, j)`` at ``x = j, y = i``; :func:`grid_to_input` maps them
to network-input pixels (grid point ``j`` sits on input pixel ``j * stride``,
as in SLEAP).

Two searches:

* :func:`find_local_peaks` -- every local maximum above a threshold (3x3
  non-maximum suppression, strictly greater than all 8 neighbours). Used for
  centroids, where a frame holds several animals.
* :func:`find_global_peaks` -- one peak per channel (argmax), NaN below the
  threshold. Used for the nodes of a centered instance or a single animal.

Both refine to sub-pixel precision, either with a learned offset map
(``offsets``, shape ``(height, width, 2 * channels)``, interleaved ``x, y`` per
channel, in grid units) when the model has one, or without one by

* ``"integral"`` (SLEAP's default): centre of mass of a small window around
  the grid peak. The window truncates wide peaks, which pulls the estimate
  towards the grid point (about 0.1 grid cell for sigma 1.5 cells);
* ``"gaussian"``: a separable parabola fit to the log of the 3x3
  neighbourhood, exact for Gaussian peaks of any width (falls back to
  ``"integral"`` where a neighbour is not positive).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: SLEAP's default peak threshold.
DEFAULT_THRESHOLD = 0.2
#: Side of the window used for centre-of-mass refinement (SLEAP's default).
DEFAULT_PATCH_SIZE = 5
#: Refinement methods without an offset head.
REFINEMENTS = ("integral", "gaussian")


@dataclass
class LocalPeaks:
    """Local maxima of one confidence map stack.

    Attributes
    ----------
    points
        ``(n_peaks, 2)`` float ``(x, y)`` in grid units.
    values
        ``(n_peaks,)`` confidence at the grid peak.
    channels
        ``(n_peaks,)`` int channel of each peak.
    """

    points: np.ndarray
    values: np.ndarray
    channels: np.ndarray

    def __len__(self) -> int:
        return len(self.values)


def _as_hwk(confmap: np.ndarray) -> np.ndarray:
    confmap = np.asarray(confmap, dtype=np.float32)
    if confmap.ndim == 2:
        confmap = confmap[..., None]
    if confmap.ndim != 3:
        raise ValueError(f"confidence maps must be (height, width, channels), got shape {confmap.shape}")
    return confmap


def _check_offsets(offsets: np.ndarray, confmap: np.ndarray) -> np.ndarray:
    offsets = np.asarray(offsets, dtype=np.float32)
    h, w, k = confmap.shape
    if offsets.shape != (h, w, 2 * k):
        raise ValueError(
            f"offset maps must have shape {(h, w, 2 * k)} for confidence maps of shape "
            f"{confmap.shape}, got {offsets.shape}"
        )
    return offsets.reshape(h, w, k, 2)


def refine_integral(
    confmap: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    channels: np.ndarray,
    patch_size: int = DEFAULT_PATCH_SIZE,
    clip_negative: bool = True,
) -> np.ndarray:
    """Centre of mass of a ``patch_size`` window around grid peaks.

    Parameters
    ----------
    confmap
        ``(height, width, channels)`` maps.
    rows, cols, channels
        Integer subscripts of the grid peaks (same length).
    patch_size
        Odd window side. Cells outside the map count as zero.
    clip_negative
        Clip negative map values to zero so a noisy background cannot pull
        the estimate outside the window. SLEAP 1.4 (``integral_regression``)
        weighs them as they are; its models are refined without the clip, as
        SLEAP does (on the fly clip's bottom-up-id model the clip alone moved
        4% of the instances more than a pixel from SLEAP's).

    Returns
    -------
    np.ndarray
        ``(n, 2)`` refined ``(x, y)`` in grid units.
    """
    confmap = _as_hwk(confmap)
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    channels = np.asarray(channels, dtype=np.int64)
    n = len(rows)
    out = np.stack([cols, rows], axis=-1).astype(np.float64)
    if n == 0 or patch_size <= 1:
        return out.reshape(n, 2)
    h, w, _ = confmap.shape
    r = patch_size // 2
    d = np.arange(-r, r + 1)
    yy = rows[:, None, None] + d[None, :, None]  # (n, p, 1)
    xx = cols[:, None, None] + d[None, None, :]  # (n, 1, p)
    inside = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
    patch = confmap[np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1), channels[:, None, None]]
    if clip_negative:
        patch = np.maximum(patch, 0.0)
    patch = np.where(inside, patch, 0.0).astype(np.float64)
    z = patch.sum(axis=(1, 2))
    dx = (patch * d[None, None, :]).sum(axis=(1, 2))
    dy = (patch * d[None, :, None]).sum(axis=(1, 2))
    ok = z > 0
    out[ok, 0] += dx[ok] / z[ok]
    out[ok, 1] += dy[ok] / z[ok]
    return out


def refine_gaussian(
    confmap: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    channels: np.ndarray,
    patch_size: int = DEFAULT_PATCH_SIZE,
) -> np.ndarray:
    """Sub-pixel peaks from a parabola fit to the log of the 3x3 neighbourhood.

    For ``f = exp(-(x - x0)^2 / 2s^2)`` the log is a parabola, so three samples
    give ``x0`` exactly whatever the width. Peaks on the map border or with a
    non-positive neighbour use :func:`refine_integral` instead.

    Returns
    -------
    np.ndarray
        ``(n, 2)`` refined ``(x, y)`` in grid units (offsets clipped to half a cell).
    """
    confmap = _as_hwk(confmap)
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    channels = np.asarray(channels, dtype=np.int64)
    out = refine_integral(confmap, rows, cols, channels, patch_size)
    if len(rows) == 0:
        return out
    h, w, _ = confmap.shape
    inner = (rows > 0) & (rows < h - 1) & (cols > 0) & (cols < w - 1)
    r, c, k = rows[inner], cols[inner], channels[inner]
    centre = confmap[r, c, k].astype(np.float64)
    left, right = confmap[r, c - 1, k].astype(np.float64), confmap[r, c + 1, k].astype(np.float64)
    up, down = confmap[r - 1, c, k].astype(np.float64), confmap[r + 1, c, k].astype(np.float64)
    ok = np.minimum.reduce([centre, left, right, up, down]) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        lc, ll, lr, lu, ld = (np.log(np.where(ok, v, 1.0)) for v in (centre, left, right, up, down))
        denom_x = ll - 2 * lc + lr
        denom_y = lu - 2 * lc + ld
        dx = np.where(denom_x < 0, 0.5 * (ll - lr) / denom_x, 0.0)
        dy = np.where(denom_y < 0, 0.5 * (lu - ld) / denom_y, 0.0)
    ok &= (denom_x < 0) & (denom_y < 0)
    idx = np.flatnonzero(inner)[ok]
    out[idx, 0] = c[ok] + np.clip(dx[ok], -0.5, 0.5)
    out[idx, 1] = r[ok] + np.clip(dy[ok], -0.5, 0.5)
    return out


def _refine(confmap, rows, cols, chans, refine, offsets, patch_size, clip_negative=True) -> np.ndarray:
    grid = np.stack([cols, rows], axis=-1).astype(np.float64).reshape(-1, 2)
    if refine is False or refine is None:
        return grid
    if offsets is not None:
        off = _check_offsets(offsets, confmap)
        return grid + off[rows, cols, chans]
    method = "integral" if refine is True else refine
    if method == "integral":
        return refine_integral(confmap, rows, cols, chans, patch_size, clip_negative)
    if method == "gaussian":
        return refine_gaussian(confmap, rows, cols, chans, patch_size)
    raise ValueError(f"unknown peak refinement {refine!r}; use one of {REFINEMENTS}")


def find_local_peaks(
    confmap: np.ndarray,
    threshold: float = DEFAULT_THRESHOLD,
    refine: bool | str = True,
    offsets: np.ndarray | None = None,
    patch_size: int = DEFAULT_PATCH_SIZE,
    clip_negative: bool = True,
) -> LocalPeaks:
    """Every local maximum above ``threshold``.

    A cell is a peak when it is strictly greater than its 8 neighbours
    (cells outside the map do not count) and than ``threshold``.

    Parameters
    ----------
    confmap
        ``(height, width, channels)`` (or ``(height, width)``) maps.
    threshold
        Minimum confidence of a peak.
    refine
        Sub-pixel refinement: ``False`` for grid peaks; otherwise the learned
        ``offsets`` when given, else ``"integral"`` (also ``True``) or
        ``"gaussian"``, see the module docstring.
    offsets
        Optional ``(height, width, 2 * channels)`` offset maps in grid units.
    clip_negative
        ``"integral"`` only: see :func:`refine_integral`.

    Returns
    -------
    LocalPeaks
        Peaks sorted by channel, then row, then column.
    """
    confmap = _as_hwk(confmap)
    h, w, _ = confmap.shape
    padded = np.pad(confmap, ((1, 1), (1, 1), (0, 0)), constant_values=-np.inf)
    neighbours = np.full_like(confmap, -np.inf)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy == 0 and dx == 0:
                continue
            np.maximum(neighbours, padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w], out=neighbours)
    is_peak = (confmap > neighbours) & (confmap > threshold)
    rows, cols, chans = np.nonzero(is_peak)
    order = np.lexsort((cols, rows, chans))
    rows, cols, chans = rows[order], cols[order], chans[order]
    values = confmap[rows, cols, chans]
    points = _refine(confmap, rows, cols, chans, refine, offsets, patch_size, clip_negative)
    return LocalPeaks(points=points, values=values.astype(np.float32), channels=chans.astype(np.int64))


def find_global_peaks(
    confmap: np.ndarray,
    threshold: float = DEFAULT_THRESHOLD,
    refine: bool | str = True,
    offsets: np.ndarray | None = None,
    patch_size: int = DEFAULT_PATCH_SIZE,
    clip_negative: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """One peak per channel: the global maximum.

    Parameters
    ----------
    confmap
        ``(height, width, channels)`` maps, or a batch ``(n, height, width,
        channels)``.
    threshold
        Channels whose maximum is below this get NaN coordinates (the value
        is still returned, so callers can report how close it was).
    refine, offsets, patch_size, clip_negative
        As in :func:`find_local_peaks`.

    Returns
    -------
    points : np.ndarray
        ``(channels, 2)`` (or ``(n, channels, 2)``) ``(x, y)`` in grid units,
        NaN for channels below the threshold.
    values : np.ndarray
        ``(channels,)`` (or ``(n, channels)``) peak values.
    """
    arr = np.asarray(confmap, dtype=np.float32)
    if arr.ndim == 4:
        if offsets is None:
            results = [find_global_peaks(m, threshold, refine, None, patch_size, clip_negative) for m in arr]
        else:
            results = [
                find_global_peaks(m, threshold, refine, o, patch_size, clip_negative) for m, o in zip(arr, offsets)
            ]
        k = arr.shape[-1]
        if not results:
            return np.zeros((0, k, 2)), np.zeros((0, k), np.float32)
        return np.stack([r[0] for r in results]), np.stack([r[1] for r in results])
    arr = _as_hwk(arr)
    h, w, k = arr.shape
    flat = arr.reshape(h * w, k)
    idx = np.argmax(flat, axis=0)
    rows, cols = np.divmod(idx, w)
    chans = np.arange(k)
    values = flat[idx, chans]
    points = _refine(arr, rows, cols, chans, refine, offsets, patch_size, clip_negative)
    points[~(values >= threshold)] = np.nan
    return points, values.astype(np.float32)


def grid_to_input(points: np.ndarray, output_stride: int) -> np.ndarray:
    """Map grid-unit peaks to network-input pixels (grid point ``j`` -> ``j * stride``)."""
    return np.asarray(points, dtype=np.float64) * float(output_stride)
