"""Cull instances before tracking: overlap suppression, then keep the best-scoring ones."""

from __future__ import annotations

import numpy as np

from .settings import CullSettings
from .similarity import bounding_boxes, iou_similarity


def cull_mask(
    points: np.ndarray, scores: np.ndarray, settings: CullSettings, protected: np.ndarray | None = None
) -> np.ndarray:
    """``(n,)`` True for the instances of one frame to keep.

    With ``settings.iou_threshold`` set and more than ``max_instances``
    instances, an instance whose box overlaps a better-scoring kept one by more
    than the threshold is dropped first (non-maximum suppression); then, if
    still too many, the lowest scores go. ``protected`` instances (user
    instances) are always kept and count toward ``max_instances``.
    """
    n = len(points)
    keep = np.ones(n, bool)
    target = int(settings.max_instances)
    if target <= 0 or n <= target:
        return keep
    protected = np.zeros(n, bool) if protected is None else np.asarray(protected, bool)
    # best first; protected before all others
    order = np.lexsort((-np.nan_to_num(scores, nan=-np.inf), ~protected))
    if settings.iou_threshold is not None:
        iou = np.nan_to_num(iou_similarity(points, points), nan=0.0)
        empty = ~np.isfinite(bounding_boxes(points)).all(axis=1)
        kept: list[int] = []
        for i in order:
            if not protected[i] and (empty[i] or any(iou[i, j] > settings.iou_threshold for j in kept)):
                keep[i] = False
            else:
                kept.append(int(i))
        if keep.sum() < target:  # suppression went too far: add back the best removed
            removed = [int(i) for i in order if not keep[i]]
            keep[removed[: target - int(keep.sum())]] = True
    if keep.sum() > target:
        kept_order = [int(i) for i in order if keep[i]]
        keep[kept_order[max(target, int(protected.sum())) :]] = False
    return keep
