"""Accuracy of predictions against user labels (numpy only).

:func:`evaluate` compares the predicted instances of one ``Labels`` with the
user instances of another on the same frames (usually the held-out
validation frames) and returns an :class:`EvaluationResult`:

* **OKS mAP / mAR**, the way SLEAP and sleap-nn compute ``oks_voc.mAP``:
  instances are matched per frame greedily by prediction score
  (:func:`.matching.match_greedy`); the matched pairs, ranked by score, are
  true positives at each OKS threshold 0.50, 0.55, ..., 0.95 their OKS reaches
  and false positives below it; average precision uses COCO's 101-point
  interpolation with every labeled instance in the recall. As in SLEAP, a
  prediction that overlaps no free ground truth is not counted at all.
* **Hungarian OKS mAP / mAR** (``oks_map_hungarian``): the one-to-one
  assignment with the largest total OKS, every prediction ranked (an unmatched
  one is a false positive at every threshold). Stricter on extra detections;
  not comparable with SLEAP's figure.
* **pixel error** per node and overall (mean, median, 90th and 95th
  percentile) over the visible ground-truth nodes of matched instances that
  the prediction has;
* **detected fraction**: the share of visible ground-truth nodes that the
  matched prediction has at all (unmatched ground truth counts as missed);
* **PCK** at 2, 5 and 10 px: the share of visible ground-truth nodes
  predicted within that distance (missed nodes count as failures).

Pixel error, detected fraction, PCK and mean OKS use the greedy pairs, as
SLEAP's distance metrics do.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import sleap_io as sio

from napari_sleap_train.outputs import write_text
from napari_sleap_train.predictions.video_pairing import pair_videos

from .matching import DEFAULT_SIGMA, match_greedy, match_hungarian

#: COCO's OKS thresholds.
OKS_THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))
#: Distances (pixels) of the PCK figures.
PCK_THRESHOLDS = (2.0, 5.0, 10.0)


class EvaluationError(ValueError):
    """The two label sets cannot be compared."""


@dataclass
class ErrorStats:
    """Summary of a set of pixel distances (``None`` when there are none)."""

    n: int = 0
    mean: float | None = None
    median: float | None = None
    p90: float | None = None
    p95: float | None = None

    @classmethod
    def of(cls, distances: Sequence[float] | np.ndarray) -> ErrorStats:
        d = np.asarray(distances, dtype=np.float64)
        d = d[np.isfinite(d)]
        if len(d) == 0:
            return cls()
        return cls(
            n=len(d),
            mean=float(d.mean()),
            median=float(np.median(d)),
            p90=float(np.percentile(d, 90)),
            p95=float(np.percentile(d, 95)),
        )


@dataclass
class EvaluationResult:
    """Accuracy figures of one evaluation (see the module docstring)."""

    node_names: list[str] = field(default_factory=list)
    n_frames: int = 0
    n_gt_instances: int = 0
    n_pred_instances: int = 0
    n_matched: int = 0
    n_false_positives: int = 0
    n_false_negatives: int = 0
    oks_sigma: float | list[float] = DEFAULT_SIGMA
    mean_oks: float | None = None  # over matched pairs
    oks_map: float | None = None  # OKS mAP over OKS_THRESHOLDS, SLEAP's oks_voc.mAP (greedy by score)
    oks_mar: float | None = None
    ap: dict[str, float] = field(default_factory=dict)  # per OKS threshold, "0.50" -> AP
    oks_map_hungarian: float | None = None  # Hungarian matching, every prediction ranked
    oks_mar_hungarian: float | None = None
    pixel_error: ErrorStats = field(default_factory=ErrorStats)
    node_pixel_error: dict[str, ErrorStats] = field(default_factory=dict)
    detected_fraction: float | None = None
    node_detected_fraction: dict[str, float | None] = field(default_factory=dict)
    pck: dict[str, float] = field(default_factory=dict)  # "2" -> fraction within 2 px
    node_pck: dict[str, dict[str, float]] = field(default_factory=dict)
    frames: list[tuple[int, int]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN becomes ``None``)."""

        def clean(v):
            if isinstance(v, float) and not math.isfinite(v):
                return None
            if isinstance(v, dict):
                return {str(k): clean(x) for k, x in v.items()}
            if isinstance(v, (list, tuple)):
                return [clean(x) for x in v]
            if isinstance(v, np.generic):
                return clean(v.item())
            return v

        return clean(asdict(self))

    def summary(self) -> str:
        """A few plain lines for a terminal or a status bar."""

        def f(v, fmt="{:.3f}"):
            return "n/a" if v is None else fmt.format(v)

        pe = self.pixel_error
        lines = [
            (
                f"{self.n_frames} frames, {self.n_gt_instances} labeled and "
                f"{self.n_pred_instances} predicted instances, {self.n_matched} matched"
            ),
            (
                f"OKS mAP {f(self.oks_map)}  mAR {f(self.oks_mar)}  mean OKS {f(self.mean_oks)}"
                f"  (Hungarian mAP {f(self.oks_map_hungarian)})"
            ),
            (
                f"pixel error: mean {f(pe.mean, '{:.2f}')}  median {f(pe.median, '{:.2f}')}  "
                f"p90 {f(pe.p90, '{:.2f}')}  p95 {f(pe.p95, '{:.2f}')}"
            ),
            (
                "PCK "
                + "  ".join(f"@{k}px {f(v)}" for k, v in self.pck.items())
                + f"  detected {f(self.detected_fraction)}"
            ),
        ]
        return "\n".join(lines)


def write_metrics(result: EvaluationResult, path: str | Path, overwrite: bool = True) -> Path:
    """Write ``result.to_dict()`` as indented JSON (e.g. ``<run>/metrics.json``).

    Written atomically (temporary name, then rename): a failed write leaves the
    previous file, or none. Raises :class:`~napari_sleap_train.outputs.OutputError`
    when the file cannot be written.
    """
    return write_text(path, json.dumps(result.to_dict(), indent=2) + "\n", overwrite=overwrite)


def _threshold_key(t: float) -> str:
    return f"{t:.2f}"


def _pck_key(t: float) -> str:
    return f"{t:g}"


def average_precision(scores: np.ndarray, is_tp: np.ndarray, n_gt: int) -> tuple[float, float]:
    """COCO 101-point interpolated AP and the final recall.

    Parameters
    ----------
    scores
        Confidence of every prediction.
    is_tp
        Whether each prediction is a true positive.
    n_gt
        Number of ground-truth instances.
    """
    if n_gt == 0:
        return float("nan"), float("nan")
    if len(scores) == 0:
        return 0.0, 0.0
    order = np.argsort(-np.asarray(scores), kind="mergesort")
    tp = np.asarray(is_tp, dtype=np.float64)[order]
    ctp = np.cumsum(tp)
    cfp = np.cumsum(1.0 - tp)
    recall = ctp / n_gt
    precision = ctp / np.maximum(ctp + cfp, np.finfo(float).eps)
    # precision envelope: best precision at any recall at least this high
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    recall_points = np.linspace(0.0, 1.0, 101)
    idx = np.searchsorted(recall, recall_points, side="left")
    sampled = np.where(idx < len(precision), precision[np.minimum(idx, len(precision) - 1)], 0.0)
    return float(sampled.mean()), float(recall[-1])


def _voc(scores: np.ndarray, match_oks: np.ndarray, n_gt: int) -> tuple[list[float], list[float]]:
    """AP and recall at each of :data:`OKS_THRESHOLDS` (SLEAP's ``compute_generalized_voc_metrics``).

    ``scores`` and ``match_oks`` are the score of each ranked detection and the
    OKS of its match; a detection is a true positive where the OKS reaches the
    threshold.
    """
    results = [average_precision(scores, match_oks >= t - 1e-12, n_gt) for t in OKS_THRESHOLDS]
    return [ap for ap, _ in results], [ar for _, ar in results]


def _video_index_map(gt: sio.Labels, pr: sio.Labels) -> dict[int, int]:
    """For each predicted video, the ground-truth video it shows (the merge's rule: ``video_pairing.pair_videos``)."""
    return {p.source_index: p.target_index for p in pair_videos(gt, pr) if p.target_index is not None}


def predicted_frames(gt_labels: sio.Labels, pr_labels: sio.Labels) -> list[tuple[int, int]]:
    """``(video index in gt_labels, frame index)`` of every frame ``pr_labels`` has predictions on."""
    vmap = _video_index_map(gt_labels, pr_labels)
    pr_index = {id(v): j for j, v in enumerate(pr_labels.videos)}
    return sorted(
        {
            (vmap[pr_index[id(lf.video)]], int(lf.frame_idx))
            for lf in pr_labels.labeled_frames
            if lf.predicted_instances and pr_index.get(id(lf.video)) in vmap
        }
    )


def _instances(lf: sio.LabeledFrame, user: bool, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(n, k, 2)`` points in ground-truth node order and ``(n,)`` scores."""
    insts = lf.user_instances if user else lf.predicted_instances
    k = len(order)
    pts = np.full((len(insts), k, 2), np.nan)
    scores = np.ones(len(insts))
    have = order >= 0
    for i, inst in enumerate(insts):
        p = np.asarray(inst.numpy(), dtype=np.float64)
        pts[i, have] = p[order[have]]
        if not user:
            s = float(getattr(inst, "score", 1.0))
            scores[i] = s if math.isfinite(s) else 0.0
    if user:
        keep = np.isfinite(pts).all(axis=-1).any(axis=-1)
        pts, scores = pts[keep], scores[keep]
    return pts, scores


def frame_keys(gt_labels: sio.Labels, frames: Sequence[tuple[int, int]] | None = None) -> list[tuple[int, int]]:
    """The sorted ``(video index, frame index)`` keys :func:`evaluate` compares (default: every user-labeled frame)."""
    if frames is not None:
        return sorted({(int(v), int(f)) for v, f in frames})
    gt_vid = {id(v): i for i, v in enumerate(gt_labels.videos)}
    return sorted(
        {
            (gt_vid[id(lf.video)], int(lf.frame_idx))
            for lf in gt_labels.labeled_frames
            if id(lf.video) in gt_vid and lf.user_instances
        }
    )


def frame_instances(
    gt_labels: sio.Labels,
    pr_labels: sio.Labels,
    keys: Sequence[tuple[int, int]],
    predicted_only: bool = True,
) -> Iterator[tuple[tuple[int, int], np.ndarray, np.ndarray, np.ndarray]]:
    """For each key, ``(key, gts, prs, scores)``: the frame's ground truth and predictions.

    ``gts`` and ``prs`` are ``(n, k, 2)`` points in the node order of
    ``gt_labels``' first skeleton (NaN where a node is missing), ``scores`` the
    predictions' scores (see :func:`evaluate` for ``predicted_only``).
    """
    node_names = list(gt_labels.skeletons[0].node_names)
    k = len(node_names)
    gt_vid = {id(v): i for i, v in enumerate(gt_labels.videos)}
    vmap = _video_index_map(gt_labels, pr_labels)
    pr_vid = {id(v): j for j, v in enumerate(pr_labels.videos)}

    gt_frames: dict[tuple[int, int], sio.LabeledFrame] = {}
    for lf in gt_labels.labeled_frames:
        if id(lf.video) in gt_vid and lf.user_instances:
            gt_frames[(gt_vid[id(lf.video)], int(lf.frame_idx))] = lf
    pr_frames: dict[tuple[int, int], list[sio.LabeledFrame]] = {}
    for lf in pr_labels.labeled_frames:
        j = pr_vid.get(id(lf.video))
        if j is not None and j in vmap:
            pr_frames.setdefault((vmap[j], int(lf.frame_idx)), []).append(lf)

    orders: dict[int, np.ndarray] = {}

    def order_for(skel: sio.Skeleton) -> np.ndarray:
        if id(skel) not in orders:
            names = {n: i for i, n in enumerate(skel.node_names)}
            orders[id(skel)] = np.array([names.get(n, -1) for n in node_names], dtype=int)
        return orders[id(skel)]

    for key in keys:
        glf = gt_frames.get(key)
        if glf is None:
            gts = np.zeros((0, k, 2))
        else:
            gts, _ = _instances(glf, True, order_for(glf.user_instances[0].skeleton))
        prs_list, scores_list = [], []
        for plf in pr_frames.get(key, []):
            insts = plf.predicted_instances if predicted_only else plf.instances
            if not insts:
                continue
            if predicted_only:
                p, s = _instances(plf, False, order_for(insts[0].skeleton))
            else:
                p_u, s_u = _instances(plf, True, order_for(insts[0].skeleton))
                p_p, s_p = _instances(plf, False, order_for(insts[0].skeleton))
                p, s = np.concatenate([p_u, p_p]), np.concatenate([s_u, s_p])
            prs_list.append(p)
            scores_list.append(s)
        prs = np.concatenate(prs_list) if prs_list else np.zeros((0, k, 2))
        scores = np.concatenate(scores_list) if scores_list else np.zeros(0)
        yield key, gts, prs, scores


def evaluate(
    gt_labels: sio.Labels,
    pr_labels: sio.Labels,
    frames: Sequence[tuple[int, int]] | None = None,
    oks_sigma: float | Sequence[float] = DEFAULT_SIGMA,
    pck_thresholds: Sequence[float] = PCK_THRESHOLDS,
    predicted_only: bool = True,
) -> EvaluationResult:
    """Compare predictions with user labels.

    Parameters
    ----------
    gt_labels
        Ground truth: its user instances are used.
    pr_labels
        Predictions: its predicted instances are used (all instances when
        ``predicted_only`` is False, e.g. to compare two annotators). May be
        the same object as ``gt_labels``.
    frames
        ``(video index in gt_labels, frame index)`` pairs to evaluate. Default:
        every frame of ``gt_labels`` with a user instance.
    oks_sigma
        Per-node OKS sigma (one value for all nodes, or one per node).
    pck_thresholds
        Distances in pixels for the PCK figures.
    predicted_only
        Use only predicted instances of ``pr_labels``.

    Returns
    -------
    EvaluationResult
    """
    if not gt_labels.skeletons:
        raise EvaluationError("The ground-truth labels have no skeleton.")
    node_names = list(gt_labels.skeletons[0].node_names)
    k = len(node_names)
    keys = frame_keys(gt_labels, frames)
    sigma_arr = np.broadcast_to(np.asarray(oks_sigma, dtype=np.float64), (k,))
    node_dist: list[list[float]] = [[] for _ in range(k)]
    node_visible = np.zeros(k, dtype=np.int64)
    node_found = np.zeros(k, dtype=np.int64)
    node_within = np.zeros((len(pck_thresholds), k), dtype=np.int64)
    thresholds = np.asarray(pck_thresholds, dtype=np.float64)
    greedy_scores: list[float] = []  # score and OKS of each greedy pair, in matching order
    greedy_oks: list[float] = []
    all_scores: list[float] = []  # every prediction, with the OKS of its Hungarian match (0: none)
    hungarian_oks: list[float] = []
    n_gt = n_pr = n_matched = 0

    for _key, gts, prs, scores in frame_instances(gt_labels, pr_labels, keys, predicted_only):
        n_gt += len(gts)
        n_pr += len(prs)

        pairs, mat = match_greedy(gts, prs, scores, sigma_arr)
        for g, p in pairs:
            greedy_scores.append(float(scores[p]))
            greedy_oks.append(float(mat[g, p]))
        n_matched += len(pairs)
        gt_match = {g: p for g, p in pairs}
        pred_oks = np.zeros(len(prs))
        for g, p in match_hungarian(gts, prs, sigma_arr)[0]:
            pred_oks[p] = mat[g, p]
        all_scores.extend(scores.tolist())
        hungarian_oks.extend(pred_oks.tolist())

        for g in range(len(gts)):
            vis = np.isfinite(gts[g]).all(axis=-1)
            node_visible += vis
            if g not in gt_match:
                continue
            p = prs[gt_match[g]]
            d = np.linalg.norm(gts[g] - p, axis=-1)
            found = vis & np.isfinite(d)
            node_found += found
            for n in np.flatnonzero(found):
                node_dist[n].append(float(d[n]))
            node_within += found[None, :] & (d[None, :] <= thresholds[:, None])

    result = EvaluationResult(
        node_names=node_names,
        n_frames=len(keys),
        n_gt_instances=n_gt,
        n_pred_instances=n_pr,
        n_matched=n_matched,
        n_false_positives=n_pr - n_matched,
        n_false_negatives=n_gt - n_matched,
        oks_sigma=float(sigma_arr[0]) if np.all(sigma_arr == sigma_arr[0]) else sigma_arr.tolist(),
        frames=list(keys),
    )
    if greedy_oks:
        result.mean_oks = float(np.mean(greedy_oks))
    if n_gt:
        ap, ar = _voc(np.asarray(greedy_scores), np.asarray(greedy_oks), n_gt)
        result.ap = {_threshold_key(t): a for t, a in zip(OKS_THRESHOLDS, ap)}
        result.oks_map, result.oks_mar = float(np.mean(ap)), float(np.mean(ar))
        ap, ar = _voc(np.asarray(all_scores), np.asarray(hungarian_oks), n_gt)
        result.oks_map_hungarian, result.oks_mar_hungarian = float(np.mean(ap)), float(np.mean(ar))

    all_d = [d for per in node_dist for d in per]
    result.pixel_error = ErrorStats.of(all_d)
    result.node_pixel_error = {name: ErrorStats.of(node_dist[i]) for i, name in enumerate(node_names)}
    total_visible = int(node_visible.sum())
    if total_visible:
        result.detected_fraction = float(node_found.sum() / total_visible)
        result.pck = {_pck_key(t): float(node_within[i].sum() / total_visible) for i, t in enumerate(thresholds)}
    result.node_detected_fraction = {
        name: (float(node_found[i] / node_visible[i]) if node_visible[i] else None) for i, name in enumerate(node_names)
    }
    result.node_pck = {
        name: {_pck_key(t): float(node_within[j, i] / node_visible[i]) for j, t in enumerate(thresholds)}
        for i, name in enumerate(node_names)
        if node_visible[i]
    }
    return result
