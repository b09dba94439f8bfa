"""Anchor (centroid) of each instance: where centroid models aim and crops centre."""

from __future__ import annotations

import warnings

import numpy as np


def bbox_midpoints(instances: np.ndarray) -> np.ndarray:
    """Midpoint of the bounding box of the visible nodes of each instance.

    Parameters
    ----------
    instances
        ``(n, k, 2)`` xy points, NaN for missing nodes.

    Returns
    -------
    numpy.ndarray
        ``(n, 2)`` float xy; NaN for instances without any visible node.
    """
    pts = np.asarray(instances, dtype=np.float64)
    if pts.shape[0] == 0:
        return np.zeros((0, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN instance -> NaN
        lo = np.nanmin(pts, axis=1)
        hi = np.nanmax(pts, axis=1)
    return (lo + hi) / 2.0


def anchor_points(instances: np.ndarray, anchor_index: int | None) -> np.ndarray:
    """Anchor of each instance, as SLEAP 1.4 defines it.

    The anchor is the ``anchor_index`` node when it is visible, otherwise (or
    when ``anchor_index`` is ``None``) the midpoint of the bounding box of the
    visible nodes.

    Parameters
    ----------
    instances
        ``(n, k, 2)`` xy points in any pixel frame, NaN for missing nodes.
    anchor_index
        Index of the anchor node, or ``None`` for the bounding-box midpoint.

    Returns
    -------
    numpy.ndarray
        ``(n, 2)`` float64 xy anchors in the same pixel frame as ``instances``;
        NaN rows for instances with no visible node.
    """
    pts = np.asarray(instances, dtype=np.float64)
    if pts.ndim != 3 or pts.shape[-1] != 2:
        raise ValueError(f"instances must have shape (n, k, 2), got {pts.shape}")
    anchors = bbox_midpoints(pts)
    if anchor_index is not None:
        if not -pts.shape[1] <= anchor_index < pts.shape[1]:
            raise ValueError(f"anchor node index {anchor_index} is out of range for {pts.shape[1]} nodes")
        node = pts[:, anchor_index]
        visible = np.all(np.isfinite(node), axis=1)
        anchors[visible] = node[visible]
    return anchors
