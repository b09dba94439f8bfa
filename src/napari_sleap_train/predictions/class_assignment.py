"""Identity classes for predicted instances (numpy + scipy; no TensorFlow).

Two ways, as in SLEAP 1.4 (``sleap.nn.identity``), written here from its
documented behaviour:

* top-down-id: each crop of a frame has a class probability vector; the
  frame's crops get distinct classes by Hungarian assignment on the
  probabilities (:func:`assign_classes`);
* bottom-up-id: each part's peaks are read on the class maps (one map per
  class, nearest grid cell); per part, the peaks get distinct classes by
  Hungarian assignment, and a peak assigned to a class that is not its most
  likely one is dropped (SLEAP's rule); the peaks of one class make one
  instance (:func:`group_peaks_by_class`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment


def assign_classes(probs: np.ndarray, best_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Distinct classes for the rows of a ``(n, n_classes)`` probability matrix.

    Hungarian assignment maximising the summed probability: with more rows
    than classes, the rows left over get no class.

    Parameters
    ----------
    probs
        Class probabilities (or scores) per candidate.
    best_only
        Keep only the matches whose class is the row's most likely one
        (SLEAP's rule for class maps).

    Returns
    -------
    rows, classes
        Matched row indices and their classes (int arrays, sorted by row).
    """
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2:
        raise ValueError(f"probs must be (n, n_classes), got shape {probs.shape}")
    if probs.size == 0:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    scores = np.nan_to_num(probs, nan=-1.0)  # a NaN score is the worst, never preferred
    rows, classes = linear_sum_assignment(-scores)
    if best_only:
        keep = scores[rows, classes] == scores[rows].max(axis=1)
        rows, classes = rows[keep], classes[keep]
    return rows.astype(int), classes.astype(int)


def sample_class_maps(class_maps: np.ndarray, grid_points: np.ndarray) -> np.ndarray:
    """Class map values at the nearest grid cell of each ``(x, y)`` point: ``(n, n_classes)``.

    Points off the grid read the nearest edge cell.
    """
    class_maps = np.asarray(class_maps)
    pts = np.asarray(grid_points, dtype=np.float64).reshape(-1, 2)
    h, w = class_maps.shape[:2]
    cols = np.clip(np.round(pts[:, 0]).astype(int), 0, w - 1)  # round half to even, as tf.round
    rows = np.clip(np.round(pts[:, 1]).astype(int), 0, h - 1)
    return class_maps[rows, cols].astype(np.float64)


@dataclass
class ClassGrouping:
    """Instances made of the peaks of each class.

    Attributes
    ----------
    points
        ``(n_classes, n_parts, 2)`` xy (NaN where a class got no peak of a part).
    point_scores
        ``(n_classes, n_parts)`` peak values (NaN where missing).
    class_probs
        ``(n_classes, n_parts)`` class map value of each assigned peak (NaN where missing).
    """

    points: np.ndarray
    point_scores: np.ndarray
    class_probs: np.ndarray

    @property
    def found(self) -> np.ndarray:
        """``(n_classes,)`` True for the classes that got at least one peak."""
        return ~np.all(np.isnan(self.points[..., 0]), axis=1)


def group_peaks_by_class(
    points: np.ndarray,
    values: np.ndarray,
    channels: np.ndarray,
    peak_class_probs: np.ndarray,
    n_parts: int,
) -> ClassGrouping:
    """Group the local peaks of one frame into one instance per class.

    Parameters
    ----------
    points, values, channels
        ``(n, 2)`` peak xy (any units; copied as given), their confidence-map
        values and part indices.
    peak_class_probs
        ``(n, n_classes)`` class map values at each peak
        (:func:`sample_class_maps`).
    n_parts
        Number of parts (confidence-map channels).
    """
    probs = np.asarray(peak_class_probs, dtype=np.float64)
    n_classes = probs.shape[1]
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    channels = np.asarray(channels, dtype=int).reshape(-1)
    out_pts = np.full((n_classes, n_parts, 2), np.nan)
    out_vals = np.full((n_classes, n_parts), np.nan)
    out_probs = np.full((n_classes, n_parts), np.nan)
    for part in range(n_parts):
        idx = np.flatnonzero(channels == part)
        if idx.size == 0:
            continue
        rows, classes = assign_classes(probs[idx], best_only=True)
        peaks = idx[rows]
        out_pts[classes, part] = points[peaks]
        out_vals[classes, part] = values[peaks]
        out_probs[classes, part] = probs[peaks, classes]
    return ClassGrouping(out_pts, out_vals, out_probs)
