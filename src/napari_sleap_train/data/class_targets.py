"""Identity (class) targets from the user instances' tracks (numpy only).

Classes are track names. Each user instance gets the index of its track's
name in the model's classes, or :data:`NO_CLASS` when it has no track (or a
track the model has no class for); such instances are left out of the class
loss, not taught as "no class":

* top-down-id: one class vector per crop, one-hot, with a last entry holding
  the loss weight (1, or 0 for an instance without a class);
* bottom-up-id: one map per class (the maximum of Gaussians of ``sigma`` on
  every node of that class's instances, SLEAP's class maps) and a last
  channel holding the loss weight of each cell: 0 near the nodes of instances
  without a class, so the network is not taught that they belong to none.

The extra weight entry/channel is read by the class losses of the engine.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .confmaps import confidence_maps

#: Class index of an instance left out of the class loss.
NO_CLASS = -1
#: Cells where an unclassed instance's node Gaussian exceeds this get no class loss.
UNCLASSED_MASK_LEVEL = 0.05


def project_classes(track_names: Sequence[str], used_track_ids: Sequence[int | None]) -> list[str]:
    """Class names of a project: the names of the tracks its user instances use, in track order.

    Tracks with the same name are one class (sleap-io keeps tracks by identity).
    """
    used = {i for i in used_track_ids if i is not None}
    out: list[str] = []
    for i, name in enumerate(track_names):
        if i in used and name not in out:
            out.append(name)
    return out


def class_indices(track_ids: Sequence[int | None], track_names: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    """Class index of each instance (:data:`NO_CLASS` without a track or a class for it)."""
    index = {name: i for i, name in enumerate(classes)}
    out = [index.get(track_names[t], NO_CLASS) if t is not None else NO_CLASS for t in track_ids]
    return np.asarray(out, dtype=np.int64).reshape(-1)


def class_vector_target(class_index: int, n_classes: int) -> np.ndarray:
    """``(n_classes + 1,)`` one-hot class vector and its loss weight (last entry)."""
    out = np.zeros(n_classes + 1, dtype=np.float32)
    if class_index != NO_CLASS:
        out[int(class_index)] = 1.0
        out[-1] = 1.0
    return out


def class_maps_target(
    points: np.ndarray,
    classes: np.ndarray,
    n_classes: int,
    height: int,
    width: int,
    sigma: float,
    output_stride: int,
) -> np.ndarray:
    """Class maps of one frame and their loss weights.

    Parameters
    ----------
    points
        ``(n, k, 2)`` xy of the frame's instances in network-input pixels
        (NaN: missing node).
    classes
        ``(n,)`` class index per instance (:data:`NO_CLASS`: left out).
    n_classes
        Number of classes.
    height, width
        Network input size.
    sigma, output_stride
        Spread of the Gaussians (input pixels) and stride of the maps.

    Returns
    -------
    numpy.ndarray
        ``(ceil(height / stride), ceil(width / stride), n_classes + 1)``:
        the class maps, then the weight channel.
    """
    pts = np.asarray(points, dtype=np.float32).reshape(-1, *np.shape(points)[-2:])
    classes = np.asarray(classes, dtype=np.int64).reshape(-1)
    if len(classes) != len(pts):
        raise ValueError(f"{len(classes)} class indices for {len(pts)} instances")
    n, k = pts.shape[:2]
    empty = confidence_maps(np.zeros((0, 1, 2)), height, width, sigma, output_stride)
    oh, ow = empty.shape[:2]
    out = np.zeros((oh, ow, n_classes + 1), dtype=np.float32)
    out[..., -1] = 1.0
    for c in range(n_classes):
        mine = pts[classes == c]
        if len(mine):
            out[..., c] = confidence_maps(mine.reshape(1, -1, 2), height, width, sigma, output_stride).max(axis=-1)
    unclassed = pts[classes == NO_CLASS]
    if len(unclassed):
        near = confidence_maps(unclassed.reshape(1, -1, 2), height, width, sigma, output_stride).max(axis=-1)
        out[..., -1] = np.where(near > UNCLASSED_MASK_LEVEL, 0.0, 1.0)
    return out
