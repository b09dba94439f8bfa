"""How new each test pose is to a model, and its errors by that novelty (numpy only).

A model trained on a few poses may be excellent on those poses and poor on
any other, and a test set's pixel error then mostly says how many of its poses
the training frames show. :func:`pose_novelty` measures that for each test
instance: the distance to the nearest training pose, both aligned so that the
anchor node is at the origin and the heading (anchor to ``heading`` node)
points the same way, as root-mean-square over the nodes both instances have.
:func:`novelty_breakdown` bins the test instances by it and gives the share
of instances and the node errors (of the instances :func:`.metrics.evaluate`
matches) in each bin.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import sleap_io as sio

from .metrics import EvaluationError
from .swaps import matched_points

#: Bin edges (px) of :func:`novelty_breakdown`: near a training pose, a little off, new.
NOVELTY_EDGES_PX = (3.0, 8.0)
#: Test instances are compared with the training instances in chunks of this many.
_CHUNK = 256


def aligned_poses(points: np.ndarray, anchor: int, heading: int) -> np.ndarray:
    """``points`` (``(n, k, 2)``) moved so ``anchor`` is at the origin and ``heading`` straight up.

    Instances missing either node come back all NaN.
    """
    p = np.asarray(points, dtype=np.float64)
    p = p - p[:, anchor : anchor + 1]
    v = p[:, heading]
    angle = np.arctan2(v[:, 0], -v[:, 1])  # heading's angle from "up" (-y in image coordinates)
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    x, y = p[..., 0], p[..., 1]
    out = np.stack([c * x + s * y, c * y - s * x], axis=-1)  # turned back by that angle
    out[~np.isfinite(angle) | (np.linalg.norm(v, axis=-1) == 0)] = np.nan
    return out


def pose_novelty(train: np.ndarray, test: np.ndarray, anchor: int, heading: int) -> np.ndarray:
    """Distance (px, RMS over shared nodes) of each test pose to its nearest training pose.

    Parameters
    ----------
    train, test
        ``(m, k, 2)`` and ``(n, k, 2)`` instances, NaN where a node is missing.
    anchor, heading
        Node indices the poses are aligned by (:func:`aligned_poses`).

    Returns
    -------
    numpy.ndarray
        ``(n,)`` distances; NaN for a test instance without the anchor or
        heading node, or when no training instance shares a node with it.
    """
    tr = aligned_poses(train, anchor, heading)
    te = aligned_poses(test, anchor, heading)
    out = np.full(len(te), np.nan)
    if not len(tr):
        return out
    for start in range(0, len(te), _CHUNK):
        block = te[start : start + _CHUNK]
        sq = np.sum((block[:, None] - tr[None]) ** 2, axis=-1)  # (b, m, k), NaN where either misses a node
        shared = np.isfinite(sq)
        n_shared = shared.sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            rms = np.sqrt(np.where(shared, sq, 0.0).sum(axis=-1) / n_shared)
        rms[n_shared == 0] = np.inf
        best = rms.min(axis=1)
        out[start : start + len(block)] = np.where(np.isfinite(best), best, np.nan)
    return out


@dataclass
class NoveltyBin:
    """Test instances whose pose novelty lies in ``[low_px, high_px)``, and their node errors."""

    low_px: float
    high_px: float
    instances: int
    share: float
    median_px: float | None
    p90_px: float | None
    p95_px: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _quantiles(err: np.ndarray) -> tuple[float | None, float | None, float | None]:
    err = err[np.isfinite(err)]
    if not err.size:
        return None, None, None
    q = np.percentile(err, [50, 90, 95])
    return float(q[0]), float(q[1]), float(q[2])


def novelty_bins(
    novelty: np.ndarray, errors: np.ndarray, edges: Sequence[float] = NOVELTY_EDGES_PX
) -> list[NoveltyBin]:
    """Bin instances by ``novelty`` (``(n,)``) and summarise their node ``errors`` (``(n, k)``, NaN: not found)."""
    novelty = np.asarray(novelty, dtype=np.float64)
    errors = np.asarray(errors, dtype=np.float64).reshape(len(novelty), -1)
    known = np.isfinite(novelty)
    bounds = [0.0, *map(float, edges), float("inf")]
    bins = []
    for low, high in zip(bounds[:-1], bounds[1:]):
        inside = known & (novelty >= low) & (novelty < high)
        n = int(inside.sum())
        bins.append(NoveltyBin(low, high, n, n / max(int(known.sum()), 1), *_quantiles(errors[inside].ravel())))
    return bins


def novelty_breakdown(
    train_labels: sio.Labels,
    gt_labels: sio.Labels,
    pr_labels: sio.Labels,
    anchor: str,
    heading: str,
    edges: Sequence[float] = NOVELTY_EDGES_PX,
) -> list[NoveltyBin]:
    """:func:`novelty_bins` of the matched test instances, novelty against ``train_labels``' user instances.

    ``anchor`` and ``heading`` are node names of the ground truth's skeleton.
    """
    if not gt_labels.skeletons:
        raise EvaluationError("The ground-truth labels have no skeleton.")
    names = list(gt_labels.skeletons[0].node_names)
    missing = [n for n in (anchor, heading) if n not in names]
    if missing:
        raise EvaluationError(f"Pose novelty needs the nodes {missing}, which the skeleton lacks.")
    train = _user_points(train_labels, names)
    gt, pr = matched_points(gt_labels, pr_labels)
    novelty = pose_novelty(train, gt, names.index(anchor), names.index(heading))
    return novelty_bins(novelty, np.linalg.norm(gt - pr, axis=-1), edges)


def _user_points(labels: sio.Labels, names: list[str]) -> np.ndarray:
    """Every user instance of ``labels`` as ``(n, k, 2)`` in ``names`` order (NaN: node missing)."""
    rows = []
    for lf in labels.labeled_frames:
        for inst in lf.user_instances:
            own = {n: i for i, n in enumerate(inst.skeleton.node_names)}
            pts = inst.numpy()
            order = [own.get(n, -1) for n in names]
            rows.append(np.array([pts[i] if i >= 0 else (np.nan, np.nan) for i in order], dtype=np.float64))
    return np.stack(rows) if rows else np.zeros((0, len(names), 2))
