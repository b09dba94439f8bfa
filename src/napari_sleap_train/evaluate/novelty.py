"""How new each test pose is to a model, and its errors by that novelty (numpy only).

A model trained on a few poses may be excellent on those poses and poor on
any other, and a test set's pixel error then mostly says how many of its poses
the training frames show. :func:`pose_novelty` measures that for each test
instance: the distance to the nearest training pose, root-mean-square over
the nodes both instances have, after the translation and rotation that bring
the two closest (models train with rotation augmentation, so a turned pose is
not a new one).
:func:`novelty_breakdown` bins the test instances by it and gives the share
of instances and the node errors (of the instances :func:`.metrics.evaluate`
matches) in each bin.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import sleap_io as sio

from .metrics import EvaluationError
from .swaps import matched_points

#: Bin edges (px) of :func:`novelty_breakdown`: near a training pose, a little off, new.
NOVELTY_EDGES_PX = (3.0, 8.0)
#: Test-training instance pairs held in memory at once (each array of them: 8 MB).
_PAIRS_PER_CHUNK = 1_000_000


def pose_novelty(train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Distance (px) of each test pose to its nearest training pose, after moving and turning it.

    For each pair the nodes both instances have are compared after the best
    translation and rotation (2-D Procrustes without scaling or mirroring,
    which has a closed form): the root-mean-square distance left. A mirrored
    pose is a new pose (its left and right parts trade places).

    Parameters
    ----------
    train, test
        ``(m, k, 2)`` and ``(n, k, 2)`` instances, NaN where a node is missing.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` distances; NaN for a test instance that shares fewer than
        two nodes with every training instance.
    """
    tr, te = _own_centred(train), _own_centred(test)
    out = np.full(len(te), np.nan)
    if not len(tr) or not len(te):
        return out
    # Every sum over the nodes a pair shares is a matrix product of masked arrays (zeros
    # where a node is missing), so all pairs cost a few BLAS calls instead of a loop.
    wb = np.isfinite(tr).all(-1).astype(np.float64)  # (m, k)
    bx, by = (np.where(wb > 0, tr[..., d], 0.0) for d in (0, 1))
    m = len(tr)
    b_sums = np.concatenate([bx, by, bx**2 + by**2]).T.copy()  # (k, 3m): what wa sums of b
    b_xy = np.concatenate([bx, by], axis=1).T.copy()  # (2k, m): for a . b
    b_yx = np.concatenate([by, bx], axis=1).T.copy()  # (2k, m): for a x b
    chunk = max(1, _PAIRS_PER_CHUNK // m)
    for start in range(0, len(te), chunk):
        block = te[start : start + chunk]
        wa = np.isfinite(block).all(-1).astype(np.float64)  # (c, k)
        ax, ay = (np.where(wa > 0, block[..., d], 0.0) for d in (0, 1))
        # four matrix products hold every sum: n, sum a, sum |a|^2 / sum b, sum |b|^2 / a.b / a x b
        n, sax, say, aa = np.split(np.concatenate([wa, ax, ay, ax**2 + ay**2]) @ wb.T, 4)
        sbx, sby, bb = np.split(wa @ b_sums, 3, axis=1)
        dot = np.concatenate([ax, ay], axis=1) @ b_xy
        cross = np.concatenate([ax, -ay], axis=1) @ b_yx
        sa, sb = (sax, say), (sbx, sby)
        with np.errstate(invalid="ignore", divide="ignore"):
            # centred on the pair's shared nodes: S_xy - sum_x * sum_y / n
            dot = dot - (sa[0] * sb[0] + sa[1] * sb[1]) / n
            cross = cross - (sa[0] * sb[1] - sa[1] * sb[0]) / n
            aa = aa - (sa[0] ** 2 + sa[1] ** 2) / n
            bb = bb - (sb[0] ** 2 + sb[1] ** 2) / n
            rms = np.sqrt(np.maximum(aa + bb - 2 * np.hypot(dot, cross), 0.0) / n)
        rms[n < 2] = np.inf
        best = rms.min(axis=1)
        out[start : start + len(block)] = np.where(np.isfinite(best), best, np.nan)
    return out


def _own_centred(points: np.ndarray) -> np.ndarray:
    """``(n, k, 2)`` poses, each moved to the mean of its own nodes (smaller numbers to subtract)."""
    p = np.asarray(points, dtype=np.float64).reshape(len(points), -1, 2) if len(points) else np.zeros((0, 0, 2))
    p = np.where(np.isfinite(p).all(-1, keepdims=True), p, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an instance without nodes: all NaN
        return p - np.nanmean(p, axis=1, keepdims=True)


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
    edges: Sequence[float] = NOVELTY_EDGES_PX,
) -> list[NoveltyBin]:
    """:func:`novelty_bins` of the matched test instances, novelty against ``train_labels``' user instances.

    Nodes are compared by name (the ground truth's skeleton's order).
    """
    if not gt_labels.skeletons:
        raise EvaluationError("The ground-truth labels have no skeleton.")
    names = list(gt_labels.skeletons[0].node_names)
    train = _user_points(train_labels, names)
    gt, pr = matched_points(gt_labels, pr_labels)
    novelty = pose_novelty(train, gt)
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


def pick_new_poses(known: np.ndarray, frames: Sequence[np.ndarray], count: int) -> list[tuple[int, float]]:
    """Up to ``count`` of ``frames`` whose poses the labels show least, each pick counted as labeled.

    Greedy farthest-point selection: a frame's novelty is that of its most
    novel instance (:func:`pose_novelty` against ``known`` and the frames
    picked before it), so the picks are new to the labels *and* to each other
    (two frames of one new pose are not both picked while another new pose
    waits).

    Parameters
    ----------
    known
        ``(m, k, 2)`` labeled poses (may be empty).
    frames
        Per candidate frame, its ``(n_i, k, 2)`` predicted poses.
    count
        Most frames to pick.

    Returns
    -------
    list of (int, float)
        ``(index into frames, novelty px when picked)``, most novel first.
        An instance with fewer than two nodes counts as known; with nothing
        labeled the first pick's novelty is ``inf``.
    """
    sizes = [len(f) for f in frames]
    if not sum(sizes) or count <= 0:
        return []
    flat = np.concatenate([np.asarray(f, dtype=np.float64).reshape(len(f), -1, 2) for f in frames if len(f)])
    owner = np.repeat(np.arange(len(frames)), sizes)
    judged = np.isfinite(flat).all(-1).sum(-1) >= 2
    dist = pose_novelty(known, flat) if len(known) else np.full(len(flat), np.inf)
    dist = np.where(judged & np.isnan(dist), np.inf, np.where(judged, dist, 0.0))
    frame_score = np.full(len(frames), -np.inf)
    picks: list[tuple[int, float]] = []
    taken = np.zeros(len(frames), bool)
    while len(picks) < min(count, int(np.count_nonzero(sizes))):
        frame_score[:] = -np.inf
        np.maximum.at(frame_score, owner, dist)
        frame_score[taken] = -np.inf
        best = int(np.argmax(frame_score))
        picks.append((best, float(frame_score[best])))
        taken[best] = True
        near = pose_novelty(flat[owner == best], flat)
        dist = np.where(judged, np.fmin(dist, near), 0.0)  # fmin: a NaN (no shared nodes) changes nothing
    return picks
