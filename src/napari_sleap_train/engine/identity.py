"""Identity inference: top-down-id and bottom-up-id models (child process only).

Bottom-up-id: the whole frame goes through the network (as for bottom-up
models: :func:`~napari_sleap_train.engine.inference._prepare_frame`); every
local peak of every part's confidence map is read on the class maps and the
peaks are grouped one instance per class
(:func:`~napari_sleap_train.predictions.class_assignment.group_peaks_by_class`).

Top-down-id: crops around the anchors (from the centroid model, or given, e.g.
the user instances' anchor part as SLEAP does when no centroid model is
passed) give each a pose (global peaks, as a centered-instance model) and a
class probability vector; the crops of a frame get distinct classes by
Hungarian assignment (:func:`~napari_sleap_train.predictions.class_assignment.assign_classes`).
A crop left without a class (more anchors than classes) is dropped.

Either way an instance's score is the mean of its point scores and its
identity score is the mean class probability of its points (top-down: of its
crop), SLEAP's ``instance_score`` and ``tracking_score``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from napari_sleap_train.data.augmentation import transform_points
from napari_sleap_train.data.image import convert_channels, to_float255
from napari_sleap_train.data.scaling import pad_to_stride
from napari_sleap_train.engine.crop_views import crops_around
from napari_sleap_train.engine.inference import FramePrediction, _prepare_frame, _stack_inputs, _unscale
from napari_sleap_train.engine.sleap_weights import POINTS_MULTIPLY, LoadedModel
from napari_sleap_train.predictions.class_assignment import (
    assign_classes,
    group_peaks_by_class,
    sample_class_maps,
)
from napari_sleap_train.predictions.peaks import find_global_peaks, find_local_peaks


def _outputs(model: LoadedModel, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Confidence maps, class maps or vectors, and offsets (or ``None``) of a batch."""
    out = model.predict_fn(np.ascontiguousarray(batch, dtype=np.float32))
    values = list(out.values()) if isinstance(out, dict) else list(out)
    offsets = np.asarray(values[2]) if model.has_offsets and len(values) > 2 else None
    return np.asarray(values[0]), np.asarray(values[1]), offsets


def _is_sleaps(model: LoadedModel) -> bool:
    """A SLEAP 1.4 model: refined as SLEAP does (integral refinement without clipping)."""
    return model.point_convention == POINTS_MULTIPLY


def _prepare(image: np.ndarray, model: LoadedModel) -> np.ndarray:
    """Frame -> network input; SLEAP's models get SLEAP's order.

    SLEAP 1.4 converts to float in ``[0, 1]`` before resizing, with bilinear
    (half-pixel centres, no antialiasing) interpolation; resizing the uint8
    frame first rounds each pixel and moved peaks by up to a pixel.
    """
    if not _is_sleaps(model) or model.input_scaling == 1:
        return _prepare_frame(image, model)
    import cv2

    img = convert_channels(image, model.channels == 3, model.channels == 1)
    img = to_float255(img) * np.float32(1.0 / 255.0)
    s = model.input_scaling
    out = cv2.resize(img, (0, 0), fx=s, fy=s, interpolation=cv2.INTER_LINEAR)
    if out.ndim == 2:
        out = out[..., None]
    return pad_to_stride(out, model.max_stride)


def _to_frame(points: np.ndarray, model: LoadedModel) -> np.ndarray:
    """Network-input pixels of a whole-frame identity model back to frame pixels.

    SLEAP 1.4 adds half a pixel after undoing input scaling in its identity
    predictors, which its own predictions carry; its models get the same here.
    """
    out = _unscale(points, model)
    if _is_sleaps(model) and model.input_scaling != 1:
        out = out + 0.5
    return out


def predict_bottom_up_id(
    model: LoadedModel, images: Sequence[np.ndarray], peak_threshold: float, refinement: str
) -> list[FramePrediction]:
    """One instance per class found on each image, in frame pixels, ordered by class."""
    batch = _stack_inputs([_prepare(img, model) for img in images])
    cms, class_maps, offsets = _outputs(model, batch)
    k = model.n_outputs
    class_stride = int(model.config.identity.output_stride)
    out = []
    for i in range(len(images)):
        peaks = find_local_peaks(
            cms[i],
            threshold=peak_threshold,
            refine=refinement,
            offsets=None if offsets is None else offsets[i],
            clip_negative=not _is_sleaps(model),
        )
        pts = peaks.points * model.output_stride  # network-input pixels
        probs = sample_class_maps(class_maps[i], pts / class_stride)
        grouped = group_peaks_by_class(pts, peaks.values, peaks.channels, probs, k)
        found = np.flatnonzero(grouped.found)
        scores = grouped.point_scores[found]
        out.append(
            FramePrediction(
                points=_to_frame(grouped.points[found].reshape(-1, 2), model).reshape(len(found), k, 2),
                point_scores=np.nan_to_num(scores, nan=0.0),
                scores=np.nanmean(scores, axis=1) if len(found) else np.zeros(0),
                centroids=np.full((len(found), 2), np.nan),
                centroid_scores=np.full(len(found), np.nan),
                classes=found,
                class_scores=np.nanmean(grouped.class_probs[found], axis=1) if len(found) else np.zeros(0),
            )
        )
    return out


def predict_top_down_id(
    model: LoadedModel,
    images: Sequence[np.ndarray],
    found: Sequence[tuple[np.ndarray, np.ndarray]],
    peak_threshold: float,
    refinement: str,
    chunk: int = 16,
) -> list[FramePrediction]:
    """Pose and class of the crop around each anchor; distinct classes per frame.

    ``found`` holds each image's ``(n, 2)`` anchors in frame pixels and their scores.
    """
    k = model.n_outputs
    gathered = crops_around(model, images, found)
    if gathered is None:
        return [FramePrediction.empty(k, identity=True) for _ in images]
    crops_arr, mats_arr, owners = gathered
    pts_all, vals_all, probs_all = [], [], []
    for s in range(0, len(crops_arr), chunk):
        cms, vectors, offsets = _outputs(model, crops_arr[s : s + chunk])
        p, v = find_global_peaks(cms, peak_threshold, refinement, offsets, clip_negative=not _is_sleaps(model))
        pts_all.append(p)
        vals_all.append(v)
        probs_all.append(vectors)
    pts = np.concatenate(pts_all) * model.output_stride
    vals = np.concatenate(vals_all).astype(np.float64)
    probs = np.concatenate(probs_all).astype(np.float64)
    frame_pts = np.stack([transform_points(pts[j], np.linalg.inv(mats_arr[j])) for j in range(len(pts))])
    owners_arr = np.asarray(owners)
    out = []
    for i, (anchors, anchor_scores) in enumerate(found):
        sel = np.flatnonzero(owners_arr == i)
        rows, classes = assign_classes(probs[sel])
        order = np.argsort(classes, kind="stable")
        rows, classes = sel[rows[order]], classes[order]
        v = vals[rows]
        local = rows - (sel[0] if len(sel) else 0)
        out.append(
            FramePrediction(
                points=frame_pts[rows].reshape(len(rows), k, 2),
                point_scores=v.reshape(len(rows), k),
                scores=v.mean(axis=1) if len(rows) else np.zeros(0),
                centroids=np.asarray(anchors, dtype=np.float64).reshape(-1, 2)[local],
                centroid_scores=np.asarray(anchor_scores, dtype=np.float64).reshape(-1)[local],
                classes=classes,
                class_scores=probs[rows, classes],
            )
        )
    return out


def user_anchors(labels, frames: Sequence[tuple[int, int]], anchor_part: str | None) -> list[np.ndarray]:
    """Anchors of the user instances on each ``(video, frame)``: ``(n, 2)`` frame xy per frame.

    What a top-down-id model runs on when no centroid model is given (SLEAP
    does the same): the anchor part when visible, else the bounding-box
    midpoint; instances with no visible node are skipped.
    """
    from napari_sleap_train.data.anchors import anchor_points

    names = list(labels.skeletons[0].node_names)
    index = names.index(anchor_part) if anchor_part in names else None
    by_key = {(labels.videos.index(lf.video), int(lf.frame_idx)): lf for lf in labels.labeled_frames}
    out = []
    for key in frames:
        lf = by_key.get((int(key[0]), int(key[1])))
        users = [] if lf is None else list(lf.user_instances)
        if not users:
            out.append(np.zeros((0, 2)))
            continue
        anchors = anchor_points(np.stack([inst.numpy() for inst in users]), index)
        out.append(anchors[~np.isnan(anchors).any(axis=1)])
    return out


def class_tracks(classes: Sequence[str], labels) -> list:
    """One track per class, named after it (the project's own track of that name when it has one)."""
    import sleap_io as sio

    existing = {t.name: t for t in labels.tracks}
    return [existing.get(name) or sio.Track(name=name) for name in classes]
