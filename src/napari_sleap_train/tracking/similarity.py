"""Vectorised similarity of instances to track candidates.

Every function takes ``query`` ``(n, k, 2)`` (the instances of the current frame)
and ``ref`` ``(m, k, 2)`` (candidates from earlier frames), NaN for missing nodes,
and returns an ``(n, m)`` matrix where larger is more alike and NaN means "cannot
be compared" (no node in common, empty instance).
"""

from __future__ import annotations

import warnings

import numpy as np

from .settings import TrackerSettings


def _visible(points: np.ndarray) -> np.ndarray:
    return np.isfinite(points).all(axis=-1)


def _sq_dists(query: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """``(n, m, k)`` squared node distances (NaN where either node is missing)."""
    diff = query[:, None, :, :] - ref[None, :, :, :]
    return (diff**2).sum(axis=-1)


def centroids(points: np.ndarray) -> np.ndarray:
    """``(n, 2)`` median of the visible nodes (SLEAP's centroid); NaN for empty instances."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN instance
        return np.nanmedian(points, axis=1) if points.shape[1] else np.full((len(points), 2), np.nan)


def bounding_boxes(points: np.ndarray) -> np.ndarray:
    """``(n, 4)`` ``x0, y0, x1, y1`` of the visible nodes; NaN for empty instances."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.concatenate([np.nanmin(points, axis=1), np.nanmax(points, axis=1)], axis=1)


def typical_size(points: np.ndarray) -> float:
    """Median bounding-box diagonal of instances with two or more nodes (1.0 if none)."""
    if len(points) == 0:
        return 1.0
    boxes = bounding_boxes(points)
    diag = np.hypot(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    diag = diag[np.isfinite(diag) & (diag > 0)]
    return float(np.median(diag)) if len(diag) else 1.0


def instance_similarity(query: np.ndarray, ref: np.ndarray, scale: float) -> np.ndarray:
    """Mean over the candidate's visible nodes of ``exp(-d^2 / (2 scale^2))``.

    A node the query misses counts 0, so a fuller match is preferred.
    """
    d2 = _sq_dists(query, ref)
    sim = np.where(np.isfinite(d2), np.exp(-d2 / (2.0 * scale**2)), 0.0).sum(axis=-1)
    n_ref = _visible(ref).sum(axis=-1).astype(np.float64)  # (m,)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = sim / n_ref[None, :]
    common = (np.isfinite(d2)).any(axis=-1)
    return np.where(common & (n_ref[None, :] > 0), out, np.nan)


def centroid_similarity(query: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Minus the distance between centroids (pixels)."""
    cq, cr = centroids(query), centroids(ref)
    return -np.sqrt(((cq[:, None, :] - cr[None, :, :]) ** 2).sum(axis=-1))


def iou_similarity(query: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Intersection over union of the bounding boxes (0 for boxes of zero area)."""
    bq, br = bounding_boxes(query), bounding_boxes(ref)
    x0 = np.maximum(bq[:, None, 0], br[None, :, 0])
    y0 = np.maximum(bq[:, None, 1], br[None, :, 1])
    x1 = np.minimum(bq[:, None, 2], br[None, :, 2])
    y1 = np.minimum(bq[:, None, 3], br[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_q = (bq[:, 2] - bq[:, 0]) * (bq[:, 3] - bq[:, 1])
    area_r = (br[:, 2] - br[:, 0]) * (br[:, 3] - br[:, 1])
    union = area_q[:, None] + area_r[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
    empty = ~np.isfinite(bq).all(axis=1)[:, None] | ~np.isfinite(br).all(axis=1)[None, :]
    return np.where(empty, np.nan, iou)


def _per_node(values: float | tuple[float, ...], k: int) -> np.ndarray:
    """One value per node: a scalar for all, a short list padded with its last value."""
    v = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if len(v) >= k:
        return v[:k]
    return np.concatenate([v, np.full(k - len(v), v[-1])])


def oks_similarity(
    query: np.ndarray, ref: np.ndarray, errors: float | tuple[float, ...] = 1.0, normalization: str = "all"
) -> np.ndarray:
    """SLEAP's tracking OKS: ``sum exp(-d^2 / (2 e^2)) / N`` with keypoint errors ``e`` (pixels).

    ``N`` is every node (``all``), the candidate's visible nodes (``ref``) or the
    nodes visible in both (``union``).
    """
    e = _per_node(errors, query.shape[1])
    d2 = _sq_dists(query, ref)
    sim = np.where(np.isfinite(d2), np.exp(-d2 / (2.0 * e**2)), 0.0).sum(axis=-1)
    if normalization == "ref":
        n = np.broadcast_to(_visible(ref).sum(axis=-1)[None, :], sim.shape).astype(np.float64)
    elif normalization == "union":
        n = np.isfinite(d2).sum(axis=-1).astype(np.float64)
    else:
        n = np.full(sim.shape, float(query.shape[1]))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, sim / n, np.nan)


def similarity_matrix(query: np.ndarray, ref: np.ndarray, settings: TrackerSettings, scale: float = 1.0) -> np.ndarray:
    """The ``(n, m)`` similarity chosen by ``settings.similarity``.

    ``scale`` is the length scale of the ``instance`` similarity when
    ``settings.instance_scale`` is not set.
    """
    query = np.asarray(query, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if len(query) == 0 or len(ref) == 0:
        return np.zeros((len(query), len(ref)))
    kind = settings.similarity
    if kind == "instance":
        return instance_similarity(query, ref, settings.instance_scale or scale)
    if kind == "centroid":
        return centroid_similarity(query, ref)
    if kind == "iou":
        return iou_similarity(query, ref)
    if kind == "oks":
        return oks_similarity(query, ref, settings.oks_errors, settings.oks_normalization)
    raise ValueError(f"unknown similarity {kind!r}")
