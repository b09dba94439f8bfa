"""Object keypoint similarity (OKS) and instance matching, numpy only.

OKS follows COCO and SLEAP (``sleap.nn.evals.compute_oks``): for ground truth
``g`` and prediction ``p`` with ``m`` visible ground-truth nodes,

``OKS = 1/m * sum_i exp(-d_i^2 / (2 * area * (2 * sigma_i)^2))``

where ``d_i`` is the distance at node ``i`` (a node the prediction misses
contributes 0), ``area`` is the area of the ground truth's bounding box and
``sigma_i`` the per-node falloff (uniform 0.025 by default, SLEAP's value).

Two ways to pair the instances of one frame:

* :func:`match_greedy`, the rule of SLEAP's and sleap-nn's evaluation (and of
  COCO): predictions in descending score order each take the unmatched ground
  truth with the highest OKS above ``min_oks``. The headline OKS mAP uses it,
  so it stands beside SLEAP's ``oks_voc.mAP``.
* :func:`match_hungarian`: the one-to-one assignment with the largest total
  OKS, whatever the scores (kept as a second figure).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

#: SLEAP's default per-node OKS standard deviation (fraction of object scale).
DEFAULT_SIGMA = 0.025


def _as_instances(points: np.ndarray) -> np.ndarray:
    """``(n, k, 2)`` float array from a stack of instances (an empty one becomes ``(0, 0, 2)``)."""
    arr = np.asarray(points, dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, arr.shape[-2] if arr.ndim == 3 else 0, 2))
    return arr.reshape(-1, *arr.shape[-2:])


def bbox_areas(points: np.ndarray, min_area: float = 1.0) -> np.ndarray:
    """Areas of the bounding boxes of the visible nodes of ``(n, k, 2)`` instances (at least ``min_area``).

    The floor keeps instances with one visible node (or all on a line) from
    dividing by zero.
    """
    pts = _as_instances(points)
    vis = np.isfinite(pts).all(axis=-1, keepdims=True)
    lo = np.where(vis, pts, np.inf).min(axis=1, initial=np.inf)
    hi = np.where(vis, pts, -np.inf).max(axis=1, initial=-np.inf)
    size = np.where(np.isfinite(hi - lo), hi - lo, 0.0)
    return np.maximum(size.prod(axis=-1), min_area)


def bbox_area(points: np.ndarray, min_area: float = 1.0) -> float:
    """Area of the bounding box of the visible ``(k, 2)`` points (at least ``min_area``)."""
    return float(bbox_areas(np.asarray(points)[None], min_area)[0])


def node_sigmas(n_nodes: int, sigmas: float | np.ndarray | None = None) -> np.ndarray:
    """Per-node sigmas: a scalar is used for every node."""
    if sigmas is None:
        sigmas = DEFAULT_SIGMA
    s = np.broadcast_to(np.asarray(sigmas, dtype=np.float64), (n_nodes,)).copy()
    if np.any(s <= 0):
        raise ValueError("OKS sigmas must be positive")
    return s


def oks_matrix(
    gts: np.ndarray,
    prs: np.ndarray,
    sigmas: float | np.ndarray | None = None,
    areas: np.ndarray | None = None,
) -> np.ndarray:
    """OKS of every ground truth ``(n, k, 2)`` against every prediction ``(m, k, 2)`` -> ``(n, m)``.

    One broadcast over all pairs and nodes. A ground truth without visible
    nodes has NaN against every prediction.
    """
    g, p = _as_instances(gts), _as_instances(prs)
    if len(g) == 0 or len(p) == 0:
        return np.zeros((len(g), len(p)))
    k = g.shape[1]
    s = node_sigmas(k, sigmas)
    a = bbox_areas(g) if areas is None else np.broadcast_to(np.asarray(areas, dtype=np.float64), (len(g),))
    vis = np.isfinite(g).all(axis=-1)  # (n, k)
    d2 = ((g[:, None] - p[None]) ** 2).sum(axis=-1)  # (n, m, k); NaN where either misses the node
    sim = np.exp(-d2 / (2.0 * a[:, None, None] * (2.0 * s) ** 2))
    sim = np.where(vis[:, None, :] & np.isfinite(sim), sim, 0.0)
    n_vis = vis.sum(axis=-1)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_vis > 0, sim.sum(axis=-1) / n_vis, np.nan)


def oks(
    gt: np.ndarray,
    pr: np.ndarray,
    sigmas: float | np.ndarray | None = None,
    area: float | None = None,
) -> float:
    """OKS between one ground-truth and one predicted ``(k, 2)`` instance.

    Returns NaN when the ground truth has no visible node.
    """
    areas = None if area is None else np.array([float(area)])
    return float(oks_matrix(np.asarray(gt)[None], np.asarray(pr)[None], sigmas, areas)[0, 0])


def match_greedy(
    gts: np.ndarray,
    prs: np.ndarray,
    scores: np.ndarray,
    sigmas: float | np.ndarray | None = None,
    min_oks: float = 0.0,
) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Match by prediction score, as SLEAP, sleap-nn and COCO do.

    Predictions are taken in descending score order (ties keep their order);
    each takes the still unmatched ground truth with the highest OKS above
    ``min_oks`` (ties: the first), or stays unmatched.

    Parameters
    ----------
    gts, prs
        ``(n, k, 2)`` ground truth and ``(m, k, 2)`` predictions of one frame.
    scores
        ``(m,)`` instance scores of the predictions.
    sigmas
        Per-node OKS sigmas.
    min_oks
        Pairs with OKS at or below this are not matched (default: any overlap).

    Returns
    -------
    pairs : list of (gt index, prediction index)
        In the order they were made (descending prediction score).
    oks : np.ndarray
        The ``(n, m)`` OKS matrix.
    """
    mat = oks_matrix(gts, prs, sigmas)
    pairs: list[tuple[int, int]] = []
    free = np.ones(mat.shape[0], dtype=bool)
    for p in np.argsort(-np.asarray(scores, dtype=np.float64), kind="mergesort"):
        if not free.any():
            break
        column = mat[:, p]
        candidates = np.where(free & (column > min_oks), column, -np.inf)  # NaN > x is False
        g = int(np.argmax(candidates))
        if candidates[g] == -np.inf:
            continue
        free[g] = False
        pairs.append((g, int(p)))
    return pairs, mat


def match_hungarian(
    gts: np.ndarray, prs: np.ndarray, sigmas: float | np.ndarray | None = None, min_oks: float = 0.0
) -> tuple[list[tuple[int, int]], np.ndarray]:
    """One-to-one matching that maximises total OKS (Hungarian algorithm), whatever the scores.

    Parameters and return values as in :func:`match_greedy` (without scores);
    the pairs are in ground-truth order.
    """
    mat = oks_matrix(gts, prs, sigmas)
    if mat.size == 0:
        return [], mat
    score = np.nan_to_num(mat, nan=0.0)
    rows, cols = linear_sum_assignment(score, maximize=True)
    pairs = [(int(r), int(c)) for r, c in zip(rows, cols) if score[r, c] > min_oks]
    return pairs, mat
