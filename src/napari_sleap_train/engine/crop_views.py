"""Crops around anchors and their node peaks over test-time views (child process only).

:func:`crops_around` cuts the centered-instance crops of a batch of frames;
:func:`view_peaks` runs the network on each view of them
(:mod:`napari_sleap_train.predictions.views`) and returns the consensus of the
views' peaks, in the crops' own input pixels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from napari_sleap_train.data.image import convert_channels
from napari_sleap_train.data.labels import symmetric_pairs
from napari_sleap_train.data.training_inputs import crop_instances
from napari_sleap_train.predictions.peaks import find_global_peaks
from napari_sleap_train.predictions.views import View, apply_view, consensus, points_from_view, values_from_view

#: ``network(model, batch) -> (confidence maps, offsets or None)``.
Network = Callable[[object, np.ndarray], tuple[np.ndarray, np.ndarray | None]]


def crops_around(
    model, images: Sequence[np.ndarray], found: list[tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray, list[int]] | None:
    """The crops of a cropped model around each image's ``(n, 2)`` anchors, in one batch.

    Returns ``(crops, crop-to-frame matrices, index of each crop's image)``, or
    ``None`` when no image has an anchor.
    """
    crops, mats, owners = [], [], []
    for i, (img, (anchors, _)) in enumerate(zip(images, found)):
        if len(anchors) == 0:
            continue
        frame = convert_channels(img, model.channels == 3, model.channels == 1)
        c, m = crop_instances(frame, anchors, model.crop_size, model.input_scaling, model.max_stride)
        crops.append(c)
        mats.append(m)
        owners.extend([i] * len(c))
    if not crops:
        return None
    return np.concatenate(crops), np.concatenate(mats), owners


def channel_swap(skeleton, channel_of_node: np.ndarray, n_channels: int) -> np.ndarray | None:
    """Permutation of the model's channels that swaps left/right partners, or ``None``.

    ``None`` (mirrored views then left out) when the skeleton has no
    left/right pairs (declared or named, :func:`~.labels.symmetric_pairs`) or
    the model predicts only one node of a pair.
    """
    pairs = symmetric_pairs(skeleton)
    if not pairs:
        return None
    swap = np.arange(n_channels)
    for a, b in pairs:
        ca, cb = int(channel_of_node[a]), int(channel_of_node[b])
        if ca < 0 and cb < 0:
            continue
        if ca < 0 or cb < 0:
            return None
        swap[ca], swap[cb] = cb, ca
    return swap


def crop_peaks(
    network: Network, model, crops: np.ndarray, threshold: float, refinement: str, chunk: int
) -> tuple[np.ndarray, np.ndarray]:
    """Node peaks ``(n, k, 2)`` (xy, the crops' input pixels) and values ``(n, k)``, the network run in chunks."""
    pts, vals = [], []
    for s in range(0, len(crops), chunk):
        cms, offsets = network(model, crops[s : s + chunk])
        p, v = find_global_peaks(cms, threshold, refinement, offsets)
        pts.append(p * model.output_stride)
        vals.append(v)
    return np.concatenate(pts), np.concatenate(vals).astype(np.float64)


def view_peaks(
    network: Network,
    model,
    crops: np.ndarray,
    views: Sequence[View],
    swap: np.ndarray | None,
    threshold: float,
    refinement: str,
    chunk: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Consensus node peaks of ``(n, N, N, C)`` crops over ``views``.

    Returns
    -------
    points : numpy.ndarray
        ``(n, k, 2)`` xy in the crops' network-input pixels, NaN where no
        view found the node above ``threshold``.
    scores : numpy.ndarray
        ``(n, k)`` agreement scores (:func:`~.views.consensus`).
    """
    size = crops.shape[1]
    points, values = [], []
    for view in views:
        pts, vals = crop_peaks(network, model, apply_view(crops, view), threshold, refinement, chunk)
        points.append(points_from_view(pts, view, size, swap))
        values.append(values_from_view(vals, view, swap))
    return consensus(np.stack(points, axis=1), np.stack(values, axis=1))


__all__ = ["channel_swap", "crop_peaks", "crops_around", "view_peaks"]
