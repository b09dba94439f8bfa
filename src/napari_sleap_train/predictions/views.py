"""Test-time views of centered-instance crops and the consensus of their peaks (numpy only).

A centered-instance model trained with full rotation sees an animal the same
way at any heading, so the crop turned by 90, 180 and 270 degrees (and
mirrored, with left/right nodes swapped) are other honest looks at the same
animal. Where the model is sure, every view puts a node on the same spot;
on a pose it never saw (a spread wing, a leg in a new place) the views
disagree, and the spot most views agree on is usually the right one. The
average of the agreeing views is also more precise than one view: each
view's grid sits differently on the animal, so the sub-pixel errors of the
peak refinement average out.

Each view is exact: a quarter turn of a square crop about its centre and a
mirror are pixel permutations, so no resampling blurs the input, and a view's
peaks map back to the crop by the inverse permutation of coordinates.

:func:`view_list` names the views, :func:`apply_view` makes the network input
of one, :func:`points_from_view` maps its peaks back, and :func:`consensus`
picks, per node, the candidate with the most agreeing confidence within a
radius and averages the agreeing candidates. A node's score is the
confidence the views agree on divided by the number of views, so it is high
only where the views agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from napari_sleap_train.config.model import TEST_TIME_VIEWS as VIEW_COUNTS

#: Candidates closer than this (network-input pixels of the crop) agree.
AGREE_RADIUS = 2.0


@dataclass(frozen=True)
class View:
    """One test-time view: ``turns`` quarter turns (counterclockwise in array order), then a mirror."""

    turns: int = 0
    mirror: bool = False


def view_list(n_views: int, can_mirror: bool = True, can_turn: bool = True) -> list[View]:
    """The views of ``n_views``: 1 the crop, 2 with its half turn, 4 the four quarter turns, 8 those and their mirrors.

    Mirrors come last because they cost precision where the model knows the
    poses (fly clip, test frames of the training video: median 0.49 px with
    the four turns, 0.75 px with their mirrors too) and pay only on poses it
    never saw (frames far from the training frames: OKS mAP 0.50 -> 0.53).

    Parameters
    ----------
    n_views
        One of :data:`VIEW_COUNTS`.
    can_mirror
        False when the skeleton's left/right node pairs are unknown: a
        mirrored crop's left side could not be told from its right, so 8
        views become the 4 turns.
    can_turn
        False when the model was not trained on every heading (rotation
        augmentation short of +-180 degrees, as SLEAP's default): it would
        not know a turned animal, so the crop is predicted once.

    Raises
    ------
    ValueError
        For a count not in :data:`VIEW_COUNTS`.
    """
    if n_views not in VIEW_COUNTS:
        raise ValueError(f"Test-time views must be one of {', '.join(map(str, VIEW_COUNTS))}, got {n_views}.")
    if not can_turn or n_views == 1:
        return [View()]
    if n_views == 2:
        return [View(0), View(2)]
    turns = [View(t) for t in range(4)]
    return turns + [View(t, True) for t in range(4)] if n_views == 8 and can_mirror else turns


def turns_learned(max_rotation_deg: float) -> bool:
    """Whether rotation up to ``max_rotation_deg`` (``AugmentationConfig.max_rotation``) covered every heading."""
    return float(max_rotation_deg) >= 180.0 - 1e-6


def apply_view(crops: np.ndarray, view: View) -> np.ndarray:
    """``(n, N, N, C)`` square crops as the view shows them (contiguous, same dtype)."""
    out = np.rot90(crops, view.turns, axes=(1, 2))
    if view.mirror:
        out = out[:, :, ::-1]
    return np.ascontiguousarray(out)


def points_from_view(points: np.ndarray, view: View, size: int, swap: np.ndarray | None = None) -> np.ndarray:
    """Peaks ``(..., k, 2)`` (xy, input pixels) found in a view, back in the crop's own frame.

    Parameters
    ----------
    points
        Peaks of the view, NaN where none was found.
    view
        The view they were found in.
    size
        The crop side ``N`` in network-input pixels.
    swap
        Node permutation swapping left/right partners; applied to mirrored
        views (the mirrored crop's left wing is the animal's right one).
    """
    p = np.array(points, dtype=np.float64, copy=True)
    last = size - 1
    if view.mirror:
        p[..., 0] = last - p[..., 0]
        if swap is not None:
            p = p[..., np.asarray(swap), :]
    for _ in range(view.turns % 4):  # undo one counterclockwise quarter turn: (x, y) <- (N-1-y, x)
        x = p[..., 0].copy()
        p[..., 0] = last - p[..., 1]
        p[..., 1] = x
    return p


def values_from_view(values: np.ndarray, view: View, swap: np.ndarray | None = None) -> np.ndarray:
    """Peak values ``(..., k)`` of a view in the crop's node order (mirrors swap partners)."""
    v = np.asarray(values)
    if view.mirror and swap is not None:
        v = v[..., np.asarray(swap)]
    return v


def consensus(points: np.ndarray, values: np.ndarray, radius: float = AGREE_RADIUS) -> tuple[np.ndarray, np.ndarray]:
    """One point per node from the candidates of several views.

    Parameters
    ----------
    points
        ``(n, v, k, 2)``: instance, view, node, xy; NaN where a view found no
        peak above the threshold.
    values
        ``(n, v, k)`` peak values (ignored where the point is NaN).
    radius
        Candidates within this distance of each other agree.

    Returns
    -------
    points : numpy.ndarray
        ``(n, k, 2)``: the value-weighted mean of the candidates that agree
        with the best-supported one; NaN where no view found the node.
    scores : numpy.ndarray
        ``(n, k)``: the agreeing candidates' summed value divided by the
        number of views (0 where none was found).
    """
    p = np.asarray(points, dtype=np.float64)
    found = np.isfinite(p).all(axis=-1)
    v = np.where(found, np.nan_to_num(np.asarray(values, dtype=np.float64)), 0.0)
    n_views = p.shape[1]
    diff = p[:, :, None] - p[:, None, :]  # (n, v, v, k, 2)
    dist = np.sqrt(np.sum(diff * diff, axis=-1))
    agree = np.nan_to_num(dist, nan=np.inf) <= radius  # (n, v, v, k); NaN candidates agree with none
    support = np.sum(agree * v[:, None, :, :], axis=2)  # (n, v, k): value agreeing with each candidate
    best = np.argmax(support, axis=1)  # (n, k)
    weights = np.take_along_axis(agree, best[:, None, None, :], axis=1)[:, 0] * v  # (n, v, k)
    total = weights.sum(axis=1)  # (n, k)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.sum(weights[..., None] * np.nan_to_num(p), axis=1) / total[..., None]
    mean[total <= 0] = np.nan
    return mean, total / n_views


__all__ = [
    "AGREE_RADIUS",
    "VIEW_COUNTS",
    "View",
    "apply_view",
    "consensus",
    "points_from_view",
    "view_list",
    "values_from_view",
]
