"""Sampling weights that balance repeated poses in the training frames (no TensorFlow).

Labeled frames are rarely spread evenly over the poses a video shows: an
animal that rests for most of a clip gives hundreds of frames of one pose and
a few of everything else, and uniform sampling then spends most of the
training budget on the pose the model learns first. :func:`frame_weights`
gives each training frame a weight inversely proportional to how many
training instances show (nearly) the same pose, so every distinct pose is
drawn about equally often; a frame of a pose nobody else shows keeps weight 1.

Two instances show the same pose when their egocentric node positions (each
minus the instance's mean, so position in the frame does not matter; heading
does) differ by less than ``radius`` times the typical instance size, root
mean square over the nodes. The weight of a frame is the mean weight of its
instances; a frame without a usable instance keeps weight 1.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from scipy.spatial import cKDTree

#: Poses closer than this share of the median instance size (RMS over nodes) count as one.
SAME_POSE_RADIUS = 0.05


def egocentric_poses(instances: np.ndarray) -> np.ndarray:
    """``(n, n_nodes, 2)`` poses minus each instance's mean visible point (NaN where missing)."""
    points = np.asarray(instances, np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an instance without any point: all-NaN mean
        centre = np.nanmean(points, axis=1, keepdims=True)
    return points - centre


def instance_weights(instances: np.ndarray, radius: float = SAME_POSE_RADIUS) -> np.ndarray:
    """One weight per instance: 1 / (instances with nearly the same pose, itself included).

    Parameters
    ----------
    instances
        ``(n, n_nodes, 2)`` xy, NaN for missing nodes.
    radius
        Same-pose distance as a share of the median instance size (the median
        over instances of the largest node distance from the instance's mean).

    Returns
    -------
    numpy.ndarray
        ``(n,)`` weights in (0, 1]; NaN for an instance without any point.
    """
    ego = egocentric_poses(instances)
    n = len(ego)
    weights = np.full(n, np.nan)
    usable = ~np.all(np.isnan(ego), axis=(1, 2))
    if not usable.any():
        return weights
    ego = ego[usable]
    size = float(np.median(np.nanmax(np.linalg.norm(ego, axis=2), axis=1)))
    if not np.isfinite(size) or size <= 0:
        weights[usable] = 1.0
        return weights
    # A missing node stands at the instance's mean (0, 0): two instances missing
    # the same node still match, one missing a node the other has is farther.
    flat = np.nan_to_num(ego, nan=0.0).reshape(len(ego), -1)
    n_nodes = ego.shape[1]
    # RMS over nodes < radius * size  <=>  Euclidean norm < radius * size * sqrt(n_nodes)
    counts = cKDTree(flat).query_ball_point(flat, radius * size * np.sqrt(n_nodes), return_length=True)
    weights[usable] = 1.0 / np.maximum(np.asarray(counts, np.float64), 1.0)
    return weights


def frame_weights(frames: Sequence[np.ndarray], radius: float = SAME_POSE_RADIUS) -> np.ndarray:
    """One sampling weight per frame: the mean weight of its instances (see the module docstring).

    Parameters
    ----------
    frames
        Per frame, its ``(n_inst, n_nodes, 2)`` instances (every frame the same node count).
    radius
        See :func:`instance_weights`.

    Returns
    -------
    numpy.ndarray
        ``(len(frames),)`` weights in (0, 1] (1 for a frame without a usable instance).
    """
    counts = [len(f) for f in frames]
    if not frames or sum(counts) == 0:
        return np.ones(len(frames))
    per_instance = instance_weights(np.concatenate([np.asarray(f, np.float64) for f in frames if len(f)]), radius)
    out = np.ones(len(frames))
    start = 0
    for i, k in enumerate(counts):
        chunk = per_instance[start : start + k]
        start += k
        if k and np.isfinite(chunk).any():
            out[i] = float(np.nanmean(chunk))
    return out
