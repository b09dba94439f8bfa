"""Grouping body-part peaks into animals with part affinity fields (numpy only).

The bottom-up model gives every peak of every part in the frame and, for each
skeleton edge, a field of unit vectors along that edge
(:mod:`napari_sleap_train.data.pafs`). Grouping follows SLEAP 1.4
(``sleap/nn/paf_grouping.py``) in three steps:

1. **Score candidates.** Every (source peak, destination peak) pair of an edge
   is a candidate. ``n_points`` points are sampled evenly along its segment
   (rounded to the nearest field pixel) and the field there is dotted with the
   segment's unit vector; the score is the mean of those dot products plus a
   distance penalty ``min(max_edge_length / length - 1, 0) * dist_penalty_weight``,
   with ``max_edge_length = max_edge_length_ratio * max(field height, width) *
   stride`` (a quarter of the image side by default). Optionally a candidate
   must also have ``min_sample_fraction`` of its samples above
   ``sample_threshold`` (the OpenPose criterion; off by default, as in SLEAP).
2. **Match per edge.** The candidates of each edge are matched one to one by
   the Hungarian algorithm on their scores (each peak is used at most once per
   edge); matches below ``min_line_score`` are dropped.
3. **Assemble.** Edges are visited breadth first from the skeleton's root(s);
   each match starts an instance, extends the instance of one of its peaks, or
   joins two instances that share no body part. Instances with fewer than
   ``min_instance_peaks`` parts are dropped; the score of an instance is the
   sum of its matches' scores, and with ``max_instances`` only the best-scored
   are kept.

Peaks and results are in network-input pixels (the caller divides by the
input scaling); fields are ``(height, width, 2 * n_edges)`` on their own
stride, channel ``2 i`` / ``2 i + 1`` the x / y of edge ``i``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment


@dataclass
class GroupingSettings:
    """How peaks are joined into instances (SLEAP 1.4's defaults)."""

    n_points: int = 10
    max_edge_length_ratio: float = 0.25
    dist_penalty_weight: float = 1.0
    min_line_score: float = 0.25
    min_sample_fraction: float = 0.0
    sample_threshold: float = 0.05
    min_instance_peaks: int | float = 0  # a float in (0, 1] is a fraction of the nodes
    max_instances: int | None = None


@dataclass
class Candidates:
    """Scored candidate connections of all edges of one frame.

    Attributes
    ----------
    edge
        ``(c,)`` edge index of each candidate.
    src, dst
        ``(c,)`` indices into the frame's peaks.
    score
        ``(c,)`` line score (NaN for zero-length or rejected candidates).
    """

    edge: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    score: np.ndarray


@dataclass
class GroupedInstances:
    """Instances of one frame.

    Attributes
    ----------
    points
        ``(n, k, 2)`` xy in network-input pixels, NaN for parts not found.
    point_scores
        ``(n, k)`` confidence-map value of each part (NaN where missing).
    scores
        ``(n,)`` sum of the instance's matched line scores.
    """

    points: np.ndarray
    point_scores: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.scores)


def edge_order(edges: np.ndarray) -> list[int]:
    """Edge indices breadth first from the skeleton's roots (nodes no edge points to).

    Edges not reachable from a root (cycles) follow in their own order, so
    every edge is visited once.
    """
    e = np.asarray(edges, dtype=int).reshape(-1, 2)
    targets = set(e[:, 1].tolist())
    roots = list(dict.fromkeys(int(s) for s in e[:, 0] if s not in targets))
    order: list[int] = []
    seen_nodes: set[int] = set()
    for root in roots:
        queue = deque([root])
        seen_nodes.add(root)
        while queue:
            node = queue.popleft()
            for i in np.flatnonzero(e[:, 0] == node):
                if int(i) in order:
                    continue
                order.append(int(i))
                dst = int(e[i, 1])
                if dst not in seen_nodes:
                    seen_nodes.add(dst)
                    queue.append(dst)
    order += [i for i in range(len(e)) if i not in order]
    return order


def score_candidates(
    pafs: np.ndarray,
    peaks: np.ndarray,
    channels: np.ndarray,
    edges: np.ndarray,
    pafs_stride: int,
    settings: GroupingSettings | None = None,
) -> Candidates:
    """Every candidate connection of every edge with its PAF line score.

    Parameters
    ----------
    pafs
        ``(h, w, 2 m)`` fields of one frame.
    peaks
        ``(p, 2)`` xy peaks in network-input pixels.
    channels
        ``(p,)`` node index of each peak.
    edges
        ``(m, 2)`` ``[source, destination]`` node indices.
    pafs_stride
        Output stride of the fields.
    settings
        Scoring settings (defaults: SLEAP's).
    """
    s = settings or GroupingSettings()
    pafs = np.asarray(pafs, dtype=np.float32)
    peaks = np.asarray(peaks, dtype=np.float64).reshape(-1, 2)
    channels = np.asarray(channels, dtype=int).reshape(-1)
    e = np.asarray(edges, dtype=int).reshape(-1, 2)
    by_node = {int(n): np.flatnonzero(channels == n) for n in np.unique(channels)}
    none = np.zeros(0, dtype=int)
    parts = []
    for k, (a, b) in enumerate(e):
        src, dst = by_node.get(int(a), none), by_node.get(int(b), none)
        ss, dd = np.meshgrid(src, dst, indexing="ij")
        parts.append((np.full(ss.size, k), ss.ravel(), dd.ravel()))
    edge = np.concatenate([p[0] for p in parts]) if parts else none
    src = np.concatenate([p[1] for p in parts]) if parts else none
    dst = np.concatenate([p[2] for p in parts]) if parts else none
    if len(edge) == 0:
        return Candidates(edge, src, dst, np.zeros(0, dtype=np.float64))
    h, w = pafs.shape[:2]
    p0, p1 = peaks[src], peaks[dst]
    vec = p1 - p0
    length = np.linalg.norm(vec, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = vec / length[:, None]
    t = np.linspace(0.0, 1.0, s.n_points)
    line = p0[:, None, :] + t[None, :, None] * vec[:, None, :]  # (c, n, 2)
    grid = np.round(line / float(pafs_stride)).astype(int)
    cols = np.clip(grid[..., 0], 0, w - 1)
    rows = np.clip(grid[..., 1], 0, h - 1)
    fx = pafs[rows, cols, 2 * edge[:, None]]
    fy = pafs[rows, cols, 2 * edge[:, None] + 1]
    dots = fx * unit[:, None, 0] + fy * unit[:, None, 1]  # (c, n)
    max_length = s.max_edge_length_ratio * max(h, w) * pafs_stride
    with np.errstate(divide="ignore"):
        penalty = np.minimum(max_length / length - 1.0, 0.0) * s.dist_penalty_weight
    score = dots.mean(axis=1) + penalty
    score[~(length > 0)] = np.nan
    if s.min_sample_fraction > 0:
        enough = (dots > s.sample_threshold).mean(axis=1) >= s.min_sample_fraction
        score[~enough] = np.nan
    return Candidates(edge, src, dst, score)


def match_candidates(cands: Candidates, n_edges: int, min_line_score: float) -> list[tuple[int, int, int, float]]:
    """One-to-one matches per edge (Hungarian on the scores), ``(edge, src peak, dst peak, score)``."""
    out: list[tuple[int, int, int, float]] = []
    for k in range(n_edges):
        sel = np.flatnonzero(cands.edge == k)
        if len(sel) == 0:
            continue
        src_ids, src_inv = np.unique(cands.src[sel], return_inverse=True)
        dst_ids, dst_inv = np.unique(cands.dst[sel], return_inverse=True)
        scores = np.full((len(src_ids), len(dst_ids)), np.nan)
        scores[src_inv, dst_inv] = cands.score[sel]
        valid = np.isfinite(scores)
        if not valid.any():
            continue
        cost = np.where(valid, -scores, 1e6)  # invalid pairs are matched only when nothing else is left
        rows, cols = linear_sum_assignment(cost)
        for r, c in zip(rows, cols):
            if valid[r, c] and scores[r, c] >= min_line_score:
                out.append((k, int(src_ids[r]), int(dst_ids[c]), float(scores[r, c])))
    return out


def assemble(
    matches: list[tuple[int, int, int, float]],
    edges: np.ndarray,
    channels: np.ndarray,
) -> tuple[dict[int, int], dict[int, float]]:
    """Peak -> instance assignment from matches visited in :func:`edge_order`.

    Returns
    -------
    assignment, scores
        Instance id of each assigned peak, and each instance's summed match score.
    """
    e = np.asarray(edges, dtype=int).reshape(-1, 2)
    rank = {k: i for i, k in enumerate(edge_order(e))}
    assignment: dict[int, int] = {}
    members: dict[int, set[int]] = {}  # instance -> its peaks
    scores: dict[int, float] = {}
    next_id = 0

    def nodes(inst: int) -> set[int]:
        return {int(channels[p]) for p in members[inst]}

    for _edge, a, b, score in sorted(matches, key=lambda m: (rank[m[0]], -m[3])):
        ia, ib = assignment.get(a), assignment.get(b)
        if ia is None and ib is None:
            assignment[a] = assignment[b] = next_id
            members[next_id] = {a, b}
            scores[next_id] = score
            next_id += 1
        elif ib is None or ia is None:
            inst, new = (ia, b) if ib is None else (ib, a)
            if int(channels[new]) in nodes(inst):
                continue  # the instance already has this part
            assignment[new] = inst
            members[inst].add(new)
            scores[inst] += score
        elif ia != ib:
            if nodes(ia) & nodes(ib):
                continue  # two animals that share a part are not one
            for p in members.pop(ib):
                assignment[p] = ia
                members[ia].add(p)
            scores[ia] += scores.pop(ib) + score
        else:
            scores[ia] += score
    return assignment, scores


def group_instances(
    peaks: np.ndarray,
    values: np.ndarray,
    channels: np.ndarray,
    pafs: np.ndarray,
    edges: np.ndarray,
    n_nodes: int,
    pafs_stride: int,
    settings: GroupingSettings | None = None,
) -> GroupedInstances:
    """Instances of one frame from its peaks and part affinity fields.

    Parameters
    ----------
    peaks, values, channels
        ``(p, 2)`` xy in network-input pixels, ``(p,)`` confidence and
        ``(p,)`` node index of every peak.
    pafs
        ``(h, w, 2 m)`` fields on stride ``pafs_stride``.
    edges
        ``(m, 2)`` node indices, the fields' edge order.
    n_nodes
        Number of parts (confidence-map channels).
    settings
        Grouping settings (defaults: SLEAP's).
    """
    s = settings or GroupingSettings()
    peaks = np.asarray(peaks, dtype=np.float64).reshape(-1, 2)
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    channels = np.asarray(channels, dtype=int).reshape(-1)
    e = np.asarray(edges, dtype=int).reshape(-1, 2)
    cands = score_candidates(pafs, peaks, channels, e, pafs_stride, s)
    matches = match_candidates(cands, len(e), s.min_line_score)
    assignment, inst_scores = assemble(matches, e, channels)
    ids = sorted(inst_scores)
    points = np.full((len(ids), n_nodes, 2), np.nan)
    point_scores = np.full((len(ids), n_nodes), np.nan)
    row = {inst: i for i, inst in enumerate(ids)}
    for peak, inst in assignment.items():
        points[row[inst], channels[peak]] = peaks[peak]
        point_scores[row[inst], channels[peak]] = values[peak]
    scores = np.array([inst_scores[i] for i in ids], dtype=np.float64)
    keep = np.ones(len(ids), dtype=bool)
    if s.min_instance_peaks:
        need = s.min_instance_peaks
        if isinstance(need, float) and need <= 1:
            need = int(need * n_nodes)
        keep &= np.isfinite(points[..., 0]).sum(axis=1) >= need
    order = np.flatnonzero(keep)
    order = order[np.argsort(-scores[order], kind="stable")]
    if s.max_instances is not None:
        order = order[: s.max_instances]
    return GroupedInstances(points[order], point_scores[order], scores[order])


def group_frames(
    peaks_per_frame: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
    pafs: np.ndarray,
    edges: np.ndarray,
    n_nodes: int,
    pafs_stride: int,
    settings: GroupingSettings | None = None,
) -> list[GroupedInstances]:
    """:func:`group_instances` for a batch: ``peaks_per_frame[i]`` is ``(peaks, values, channels)`` of ``pafs[i]``."""
    return [
        group_instances(p, v, c, f, edges, n_nodes, pafs_stride, settings)
        for (p, v, c), f in zip(peaks_per_frame, pafs)
    ]
