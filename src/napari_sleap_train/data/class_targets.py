"""Identity (class) targets from the user instances' tracks (numpy only).

Classes are track names. Each user instance gets the index of its track's
name in the model's classes, or :data:`NO_CLASS` when it has no track (or a
track the model has no class for); such instances are left out of the class
loss, not taught as "no class":

* top-down-id: one class vector per crop, one-hot, with a last entry holding
  the loss weight (1, or 0 for an instance without a class);
* bottom-up-id: one map per class, 1 on the cells its instances cover (where
  their confidence maps exceed 0.2, SLEAP's class maps), and a last channel
  holding the loss weight of each cell: 0 on the cells of instances without
  a class, so the network is not taught that they belong to none.

The extra weight entry/channel is read by the class losses of the engine.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .confmaps import confidence_maps

#: Class index of an instance left out of the class loss.
NO_CLASS = -1
#: An instance covers the cells where its confidence map is above this (SLEAP 1.4's threshold).
CLASS_MAP_THRESHOLD = 0.2


def too_few_classes(what: str, classes: Sequence[str]) -> tuple[str, str]:
    """Why an identity model (``what``: "top-down-id" or "bottom-up-id") cannot train, and the hint.

    One wording for the engine's refusal and the dock's note next to Run.
    """
    on = f"only the track {classes[0]!r}" if classes else "no track"
    message = (
        f"The {what} model learns who is who from the tracks of the labeled animals, but the "
        f"project's user instances are on {on}."
    )
    hint = (
        "put each animal's labeled instances on its own track (at least two tracks, e.g. "
        "female and male), or train a top-down or bottom-up pipeline"
    )
    return message, hint


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
    """Class maps of one frame and their loss weights, as SLEAP 1.4 makes them.

    Each instance covers the cells where its confidence map (the maximum of
    Gaussians on its nodes, of ``sigma`` grid cells, i.e. ``sigma *
    output_stride`` input pixels, SLEAP's units) is above
    :data:`CLASS_MAP_THRESHOLD`; there its class map is 1, shared by the
    instances' relative map values where animals overlap.

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
        Spread of the instances' maps (grid cells) and stride of the maps.

    Returns
    -------
    numpy.ndarray
        ``(ceil(height / stride), ceil(width / stride), n_classes + 1)``:
        the class maps, then the weight channel (0 on the cells of
        instances without a class, 1 elsewhere).
    """
    pts = np.asarray(points, dtype=np.float32).reshape(-1, *np.shape(points)[-2:])
    classes = np.asarray(classes, dtype=np.int64).reshape(-1)
    if len(classes) != len(pts):
        raise ValueError(f"{len(classes)} class indices for {len(pts)} instances")
    sigma_px = float(sigma) * int(output_stride)
    empty = confidence_maps(np.zeros((0, 1, 2)), height, width, sigma_px, output_stride)
    oh, ow = empty.shape[:2]
    out = np.zeros((oh, ow, n_classes + 1), dtype=np.float32)
    out[..., -1] = 1.0
    if len(pts) == 0:
        return out
    # (h, w, n): each instance's map, the maximum over its nodes
    maps = np.stack(
        [confidence_maps(p[None], height, width, sigma_px, output_stride).max(axis=-1) for p in pts], axis=-1
    )
    total = maps.sum(axis=-1, keepdims=True)
    share = np.where(maps > CLASS_MAP_THRESHOLD, maps / np.maximum(total, 1e-12), 0.0)
    for c in range(n_classes):
        mine = classes == c
        if mine.any():
            out[..., c] = share[..., mine].max(axis=-1)
    unclassed = classes == NO_CLASS
    if unclassed.any():
        out[..., -1] = np.where(share[..., unclassed].max(axis=-1) > 0, 0.0, 1.0)
    return out
