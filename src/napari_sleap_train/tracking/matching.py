"""One-to-one matching of instances to tracks from a similarity matrix.

Both functions take an ``(n_instances, n_tracks)`` similarity (larger is better,
NaN = not allowed) and return ``(instance, track)`` index pairs.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


def greedy_matching(similarity: np.ndarray) -> list[tuple[int, int]]:
    """Take the most similar free pair, again and again (SLEAP's ``greedy``)."""
    sim = np.asarray(similarity, dtype=np.float64)
    if sim.size == 0:
        return []
    order = np.argsort(-np.where(np.isfinite(sim), sim, -np.inf), axis=None, kind="stable")
    rows, cols = np.unravel_index(order, sim.shape)
    used_r = np.zeros(sim.shape[0], bool)
    used_c = np.zeros(sim.shape[1], bool)
    pairs: list[tuple[int, int]] = []
    for r, c in zip(rows, cols):
        if used_r[r] or used_c[c] or not np.isfinite(sim[r, c]):
            continue
        pairs.append((int(r), int(c)))
        used_r[r] = used_c[c] = True
        if used_r.all() or used_c.all():
            break
    return pairs


def hungarian_matching(similarity: np.ndarray) -> list[tuple[int, int]]:
    """Pairs with the largest total similarity (``scipy.optimize.linear_sum_assignment``)."""
    sim = np.asarray(similarity, dtype=np.float64)
    if sim.size == 0:
        return []
    ok = np.isfinite(sim)
    if not ok.any():
        return []
    # forbidden pairs cost more than any allowed set of pairs, then are dropped
    span = float(np.ptp(sim[ok])) + 1.0
    cost = np.where(ok, -sim, -sim[ok].min() + span * (min(sim.shape) + 1))
    rows, cols = linear_sum_assignment(cost)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if ok[r, c]]


def match(similarity: np.ndarray, kind: str) -> list[tuple[int, int]]:
    """Dispatch on ``kind`` (``greedy`` or ``hungarian``)."""
    if kind == "greedy":
        return greedy_matching(similarity)
    if kind == "hungarian":
        return hungarian_matching(similarity)
    raise ValueError(f"unknown matching {kind!r}")
