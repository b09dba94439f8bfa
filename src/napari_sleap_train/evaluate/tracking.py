"""Identity metrics of tracks against ground-truth tracks: ID switches, MOTA, IDF1.

Per video, the definitions of CLEAR MOT (Bernardin & Stiefelhagen 2008) and of
the identity measures (Ristani et al. 2016), as in py-motmetrics:

* per frame, ground-truth instances and predictions are paired when close
  enough (mean node distance at most ``max_distance`` pixels over the nodes both
  have, or OKS at least ``min_oks``); a pair kept from the previous frame stays
  when still close enough, the others are matched by the Hungarian algorithm;
* an **ID switch** is a ground-truth track matched to a different predicted
  track than the last time it was matched;
* ``MOTA = 1 - (misses + false positives + ID switches) / ground-truth instances``;
* **IDF1** pairs whole tracks one to one (Hungarian on the number of frames on
  which the two are close enough), ``IDF1 = 2 IDTP / (ground truth + predicted)``
  instances.

Predicted instances on no track each count as a track of their own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import sleap_io as sio
from scipy.optimize import linear_sum_assignment

from .matching import DEFAULT_SIGMA, oks_matrix
from .metrics import EvaluationError, _video_index_map


@dataclass
class TrackedFrame:
    """Ground truth and predictions of one frame.

    Attributes
    ----------
    gt_ids, pr_ids
        ``(n,)`` and ``(m,)`` track ids (any hashable ints).
    gt_points, pr_points
        ``(n, k, 2)`` and ``(m, k, 2)`` points, NaN for missing nodes.
    """

    gt_ids: np.ndarray
    gt_points: np.ndarray
    pr_ids: np.ndarray
    pr_points: np.ndarray


@dataclass
class TrackingMetrics:
    """Identity figures of one video (or the sum over videos)."""

    n_frames: int = 0
    n_gt: int = 0
    n_pred: int = 0
    n_gt_tracks: int = 0
    n_pred_tracks: int = 0
    matches: int = 0
    misses: int = 0
    false_positives: int = 0
    id_switches: int = 0
    idtp: int = 0
    mota: float | None = None
    idf1: float | None = None
    idp: float | None = None
    idr: float | None = None
    mean_match_distance: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def finish(self, distances: Sequence[float] = ()) -> TrackingMetrics:
        """Fill the ratios from the counts."""
        self.mota = 1.0 - (self.misses + self.false_positives + self.id_switches) / self.n_gt if self.n_gt else None
        total = self.n_gt + self.n_pred
        self.idf1 = 2.0 * self.idtp / total if total else None
        self.idp = self.idtp / self.n_pred if self.n_pred else None
        self.idr = self.idtp / self.n_gt if self.n_gt else None
        d = [x for x in distances if math.isfinite(x)]
        if d:
            self.mean_match_distance = float(np.mean(d))
        return self


@dataclass
class TrackingEvaluation:
    """Tracking metrics per video (keyed by the ground truth's video index) and in total."""

    per_video: dict[int, TrackingMetrics] = field(default_factory=dict)
    total: TrackingMetrics = field(default_factory=TrackingMetrics)
    criterion: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "criterion": self.criterion,
            "total": self.total.to_dict(),
            "per_video": {str(k): v.to_dict() for k, v in self.per_video.items()},
        }

    def summary(self) -> str:
        t = self.total
        fmt = lambda v: "n/a" if v is None else f"{v:.4f}"  # noqa: E731
        return (
            f"tracks: ID switches {t.id_switches}, MOTA {fmt(t.mota)}, IDF1 {fmt(t.idf1)} "
            f"({t.n_gt} ground-truth instances, {t.n_pred} predicted, {t.n_gt_tracks} vs "
            f"{t.n_pred_tracks} tracks; {self.criterion})"
        )


def mean_node_distance(gts: np.ndarray, prs: np.ndarray) -> np.ndarray:
    """``(n, m)`` mean distance over the nodes both instances have (NaN if none)."""
    if len(gts) == 0 or len(prs) == 0:
        return np.zeros((len(gts), len(prs)))
    d = np.sqrt(((gts[:, None] - prs[None]) ** 2).sum(axis=-1))
    ok = np.isfinite(d)
    n = ok.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.where(ok, d, 0.0).sum(axis=-1) / n, np.nan)


def _cost_and_valid(
    frame: TrackedFrame, max_distance: float | None, min_oks: float | None, sigma: float | np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cost (lower is better), validity mask and distances of every (gt, pred) pair."""
    dist = mean_node_distance(frame.gt_points, frame.pr_points)
    if min_oks is not None:
        sim = np.nan_to_num(oks_matrix(frame.gt_points, frame.pr_points, sigma), nan=0.0)
        return -sim, sim >= min_oks, dist
    valid = np.isfinite(dist) & (dist <= max_distance)
    return np.where(np.isfinite(dist), dist, np.inf), valid, dist


def track_metrics(
    frames: Sequence[TrackedFrame],
    max_distance: float | None = 10.0,
    min_oks: float | None = None,
    sigma: float | np.ndarray = DEFAULT_SIGMA,
) -> TrackingMetrics:
    """CLEAR MOT and identity metrics of one video's frames (in frame order).

    Parameters
    ----------
    frames
        One :class:`TrackedFrame` per frame.
    max_distance
        Pairs match when their mean node distance is at most this (pixels).
    min_oks
        Match on OKS at least this instead (with per-node ``sigma``).
    """
    m = TrackingMetrics(n_frames=len(frames))
    last: dict[int, int] = {}  # gt id -> pred id it was last matched to
    pair_counts: dict[tuple[int, int], int] = {}
    gt_tracks: set[int] = set()
    pr_tracks: set[int] = set()
    distances: list[float] = []
    for fr in frames:
        gi = [int(x) for x in fr.gt_ids]
        pi = [int(x) for x in fr.pr_ids]
        gt_tracks.update(gi)
        pr_tracks.update(pi)
        m.n_gt += len(gi)
        m.n_pred += len(pi)
        if not gi or not pi:
            m.misses += len(gi)
            m.false_positives += len(pi)
            continue
        cost, valid, dist = _cost_and_valid(fr, max_distance, min_oks, sigma)
        for a, b in zip(*np.nonzero(valid)):
            pair_counts[(gi[a], pi[b])] = pair_counts.get((gi[a], pi[b]), 0) + 1
        # CLEAR MOT: keep last frame's pairs that are still valid, match the rest
        pairs: list[tuple[int, int]] = []
        free_g = np.ones(len(gi), bool)
        free_p = np.ones(len(pi), bool)
        pcol = {p: j for j, p in enumerate(pi)}
        for a, g in enumerate(gi):
            j = pcol.get(last.get(g, -(2**62)))
            if j is not None and free_p[j] and valid[a, j]:
                pairs.append((a, j))
                free_g[a] = free_p[j] = False
        rows, cols = np.flatnonzero(free_g), np.flatnonzero(free_p)
        if len(rows) and len(cols):
            sub_valid = valid[np.ix_(rows, cols)]
            big = np.abs(cost[np.isfinite(cost)]).max(initial=0.0) * 10 + 1e6
            sub = np.where(sub_valid, cost[np.ix_(rows, cols)], big)
            r, c = linear_sum_assignment(sub)
            for a, b in zip(r, c):
                if sub_valid[a, b]:
                    g = gi[rows[a]]
                    if g in last and last[g] != pi[cols[b]]:
                        m.id_switches += 1
                    pairs.append((int(rows[a]), int(cols[b])))
        for a, b in pairs:
            last[gi[a]] = pi[b]
            distances.append(float(dist[a, b]))
        m.matches += len(pairs)
        m.misses += len(gi) - len(pairs)
        m.false_positives += len(pi) - len(pairs)
    m.n_gt_tracks, m.n_pred_tracks = len(gt_tracks), len(pr_tracks)
    # identity: one-to-one track pairing that maximises frames matched
    if pair_counts:
        g_list, p_list = sorted(gt_tracks), sorted(pr_tracks)
        gx = {g: i for i, g in enumerate(g_list)}
        px = {p: j for j, p in enumerate(p_list)}
        w = np.zeros((len(g_list), len(p_list)))
        for (g, p), c in pair_counts.items():
            w[gx[g], px[p]] = c
        r, c = linear_sum_assignment(w, maximize=True)
        m.idtp = int(w[r, c].sum())
    return m.finish(distances)


# -- Labels -> frames ---------------------------------------------------------------------
def has_tracks(labels: sio.Labels, user: bool) -> bool:
    """True when some (user or predicted) instance of ``labels`` is on a track."""
    for lf in labels.labeled_frames:
        for inst in lf.user_instances if user else lf.predicted_instances:
            if inst.track is not None:
                return True
    return False


def _order(skel: sio.Skeleton, names: list[str]) -> np.ndarray:
    idx = {n: i for i, n in enumerate(skel.node_names)}
    return np.array([idx.get(n, -1) for n in names], dtype=int)


def _points(insts: list, names: list[str]) -> np.ndarray:
    out = np.full((len(insts), len(names), 2), np.nan)
    for i, inst in enumerate(insts):
        order = _order(inst.skeleton, names)
        have = order >= 0
        out[i, have] = np.asarray(inst.numpy(), dtype=np.float64)[order[have], :2]
    return out


def evaluate_tracks(
    gt_labels: sio.Labels,
    pr_labels: sio.Labels,
    max_distance: float | None = None,
    min_oks: float | None = None,
    sigma: float | np.ndarray = DEFAULT_SIGMA,
    frames: Sequence[tuple[int, int]] | None = None,
) -> TrackingEvaluation:
    """Tracking metrics of the predicted instances of ``pr_labels`` against the user tracks of ``gt_labels``.

    Nodes are compared by name (the nodes both skeletons have). Every frame with a
    ground-truth user instance on a track, or with predictions, of a video both
    files show is used (or only ``frames``, ``(ground-truth video index, frame
    index)`` pairs). ``max_distance`` defaults to half the median size
    (bounding-box diagonal) of the ground-truth instances.

    Raises
    ------
    EvaluationError
        No tracks in the ground truth, no node in common, or no video in common.
    """
    if not gt_labels.skeletons or not pr_labels.skeletons:
        raise EvaluationError("both files need a skeleton to compare tracks")
    if not has_tracks(gt_labels, user=True):
        raise EvaluationError("the ground truth has no user instances on tracks")
    pr_names = {n for s in pr_labels.skeletons for n in s.node_names}
    names = [n for n in gt_labels.skeletons[0].node_names if n in pr_names]
    if not names:
        raise EvaluationError("the two skeletons have no node name in common")
    vmap = _video_index_map(gt_labels, pr_labels)
    if not vmap:
        raise EvaluationError("the predictions are on none of the ground truth's videos")
    gt_vid = {id(v): i for i, v in enumerate(gt_labels.videos)}
    pr_vid = {id(v): j for j, v in enumerate(pr_labels.videos)}
    track_id = {id(t): i for i, t in enumerate(gt_labels.tracks)}
    pr_track_id = {id(t): i for i, t in enumerate(pr_labels.tracks)}

    gt_by: dict[tuple[int, int], list] = {}
    for lf in gt_labels.labeled_frames:
        insts = [i for i in lf.user_instances if i.track is not None]
        if insts and id(lf.video) in gt_vid:
            gt_by.setdefault((gt_vid[id(lf.video)], int(lf.frame_idx)), []).extend(insts)
    pr_by: dict[tuple[int, int], list] = {}
    for lf in pr_labels.labeled_frames:
        j = pr_vid.get(id(lf.video))
        if j in vmap and lf.predicted_instances:
            pr_by.setdefault((vmap[j], int(lf.frame_idx)), []).extend(lf.predicted_instances)

    if frames is not None:
        wanted = {(int(v), int(f)) for v, f in frames}
        gt_by = {k: v for k, v in gt_by.items() if k in wanted}
        pr_by = {k: v for k, v in pr_by.items() if k in wanted}
    if max_distance is None and min_oks is None:
        sizes = []
        for insts in gt_by.values():
            pts = _points(insts, names)
            lo, hi = np.nanmin(pts, axis=1), np.nanmax(pts, axis=1)
            sizes += list(np.hypot(*(hi - lo).T))
        sizes = [s for s in sizes if np.isfinite(s) and s > 0]
        max_distance = 0.5 * float(np.median(sizes)) if sizes else 10.0
    criterion = (
        f"OKS >= {min_oks}"
        if min_oks is not None
        else f"mean node distance <= {max_distance:.1f} px over {', '.join(names)}"
    )

    out = TrackingEvaluation(criterion=criterion)
    untracked = -1
    for vi in sorted({k[0] for k in gt_by} | {k[0] for k in pr_by}):
        frames = []
        for key in sorted(k for k in set(gt_by) | set(pr_by) if k[0] == vi):
            g, p = gt_by.get(key, []), pr_by.get(key, [])
            pids = []
            for inst in p:  # untracked predictions: a track of their own each
                if inst.track is None or id(inst.track) not in pr_track_id:
                    pids.append(untracked)
                    untracked -= 1
                else:
                    pids.append(pr_track_id[id(inst.track)])
            frames.append(
                TrackedFrame(
                    np.array([track_id[id(i.track)] for i in g], dtype=np.int64),
                    _points(g, names),
                    np.array(pids, dtype=np.int64),
                    _points(p, names),
                )
            )
        out.per_video[vi] = track_metrics(frames, max_distance=max_distance, min_oks=min_oks, sigma=sigma)
    tot = TrackingMetrics()
    for v in out.per_video.values():
        for f in (
            "n_frames",
            "n_gt",
            "n_pred",
            "n_gt_tracks",
            "n_pred_tracks",
            "matches",
            "misses",
            "false_positives",
            "id_switches",
            "idtp",
        ):
            setattr(tot, f, getattr(tot, f) + getattr(v, f))
    dists = [
        v.mean_match_distance
        for v in out.per_video.values()
        for _ in range(v.matches)
        if v.mean_match_distance is not None
    ]
    out.total = tot.finish(dists)
    return out


def write_tracking_metrics(result: TrackingEvaluation, path: str | Path) -> Path:
    """Write the figures as JSON (temp name in the same folder, then rename)."""
    import json
    import os

    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(json.dumps(result.to_dict(), indent=2))
    os.replace(tmp, target)
    return target
