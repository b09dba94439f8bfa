"""Object keypoint similarity (OKS) and instance matching, numpy only.

OKS follows COCO: for ground truth ``g`` and prediction ``p`` with ``m``
visible ground-truth nodes,

``OKS = 1/m * sum_i exp(-d_i^2 / (2 * area * (2 * sigma_i)^2))``

where ``d_i`` is the distance at node ``i`` (a node the prediction misses
contributes 0), ``area`` is the area of the ground truth's bounding box and
``sigma_i`` the per-node falloff (uniform 0.025 by default, SLEAP's value).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

#: SLEAP's default per-node OKS standard deviation (fraction of object scale).
DEFAULT_SIGMA = 0.025


def bbox_area(points: np.ndarray, min_area: float = 1.0) -> float:
    """Area of the bounding box of the visible ``(k, 2)`` points (at least ``min_area``)."""
    pts = np.asarray(points, dtype=np.float64)
    vis = np.isfinite(pts).all(axis=-1)
    if vis.sum() < 1:
        return float(min_area)
    p = pts[vis]
    w, h = p.max(axis=0) - p.min(axis=0)
    return float(max(w * h, min_area))


def node_sigmas(n_nodes: int, sigmas: float | np.ndarray | None = None) -> np.ndarray:
    """Per-node sigmas: a scalar is used for every node."""
    if sigmas is None:
        sigmas = DEFAULT_SIGMA
    s = np.broadcast_to(np.asarray(sigmas, dtype=np.float64), (n_nodes,)).copy()
    if np.any(s <= 0):
        raise ValueError("OKS sigmas must be positive")
    return s


def oks(
    gt: np.ndarray,
    pr: np.ndarray,
    sigmas: float | np.ndarray | None = None,
    area: float | None = None,
) -> float:
    """OKS between one ground-truth and one predicted ``(k, 2)`` instance.

    Returns NaN when the ground truth has no visible node.
    """
    gt = np.asarray(gt, dtype=np.float64)
    pr = np.asarray(pr, dtype=np.float64)
    vis = np.isfinite(gt).all(axis=-1)
    if not vis.any():
        return float("nan")
    s = node_sigmas(len(gt), sigmas)
    a = bbox_area(gt) if area is None else float(area)
    d2 = ((gt - pr) ** 2).sum(axis=-1)
    sim = np.exp(-d2 / (2.0 * a * (2.0 * s) ** 2))
    sim = np.where(np.isfinite(sim), sim, 0.0)  # missing predicted node -> 0
    return float(sim[vis].mean())


def oks_matrix(gts: np.ndarray, prs: np.ndarray, sigmas: float | np.ndarray | None = None) -> np.ndarray:
    """OKS of every ground truth ``(n, k, 2)`` against every prediction ``(m, k, 2)`` -> ``(n, m)``."""
    gts = np.asarray(gts, dtype=np.float64).reshape(-1, *np.shape(gts)[-2:]) if len(gts) else np.zeros((0, 0, 2))
    prs = np.asarray(prs, dtype=np.float64).reshape(-1, *np.shape(prs)[-2:]) if len(prs) else np.zeros((0, 0, 2))
    out = np.zeros((len(gts), len(prs)))
    for i, g in enumerate(gts):
        a = bbox_area(g)
        for j, p in enumerate(prs):
            out[i, j] = oks(g, p, sigmas, a)
    return out


def match_instances(
    gts: np.ndarray, prs: np.ndarray, sigmas: float | np.ndarray | None = None, min_oks: float = 0.0
) -> tuple[list[tuple[int, int]], np.ndarray]:
    """One-to-one matching that maximises total OKS (Hungarian algorithm).

    Parameters
    ----------
    gts, prs
        ``(n, k, 2)`` ground truth and ``(m, k, 2)`` predictions of one frame.
    sigmas
        Per-node OKS sigmas.
    min_oks
        Pairs with OKS at or below this are not matched (default: any overlap).

    Returns
    -------
    pairs : list of (gt index, prediction index)
    oks : np.ndarray
        The ``(n, m)`` OKS matrix.
    """
    mat = oks_matrix(gts, prs, sigmas)
    if mat.size == 0:
        return [], mat
    score = np.nan_to_num(mat, nan=0.0)
    rows, cols = linear_sum_assignment(score, maximize=True)
    pairs = [(int(r), int(c)) for r, c in zip(rows, cols) if score[r, c] > min_oks]
    return pairs, mat
