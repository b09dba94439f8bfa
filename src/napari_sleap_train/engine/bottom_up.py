"""Bottom-up inference: one network call per batch, then peaks and PAF grouping (child process only).

The frame goes in whole, as for single-instance models (channels, input
scaling, stride padding: :func:`~napari_sleap_train.engine.inference._prepare_frame`);
the network gives confidence maps of every part (on the model's output
stride) and part affinity fields (on their own stride). Every local maximum
of every part's map above the threshold is a peak (refined by the offset
head when there is one); the peaks, in network-input pixels, are grouped into
instances by :func:`~napari_sleap_train.predictions.paf_grouping.group_instances`
and mapped back to the frame by the inverse input scaling.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from napari_sleap_train.engine.inference import FramePrediction, _prepare_frame, _stack_inputs, _unscale
from napari_sleap_train.engine.sleap_weights import LoadedModel
from napari_sleap_train.predictions.paf_grouping import GroupingSettings, group_instances
from napari_sleap_train.predictions.peaks import find_local_peaks


def bottom_up_outputs(model: LoadedModel, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Confidence maps, part affinity fields and offsets (or ``None``) of a batch."""
    out = model.predict_fn(np.ascontiguousarray(batch, dtype=np.float32))
    values = list(out.values()) if isinstance(out, dict) else list(out)
    cms, pafs = np.asarray(values[0]), np.asarray(values[1])
    offsets = np.asarray(values[2]) if model.has_offsets and len(values) > 2 else None
    return cms, pafs, offsets


def predict_bottom_up(
    model: LoadedModel,
    images: Sequence[np.ndarray],
    peak_threshold: float,
    refinement: str,
    settings: GroupingSettings,
) -> list[FramePrediction]:
    """Instances of each image, in frame pixels."""
    if model.paf_edges is None:  # pragma: no cover - load_model_folder always sets them
        raise ValueError("a bottom-up model needs its part affinity field edges")
    batch = _stack_inputs([_prepare_frame(img, model) for img in images])
    cms, pafs, offsets = bottom_up_outputs(model, batch)
    k = model.n_outputs
    out = []
    for i in range(len(images)):
        peaks = find_local_peaks(
            cms[i], threshold=peak_threshold, refine=refinement, offsets=None if offsets is None else offsets[i]
        )
        grouped = group_instances(
            peaks.points * model.output_stride,
            peaks.values,
            peaks.channels,
            pafs[i],
            model.paf_edges,
            k,
            model.pafs_stride,
            settings,
        )
        n = len(grouped)
        out.append(
            FramePrediction(
                points=_unscale(grouped.points, model).reshape(n, k, 2),
                point_scores=np.nan_to_num(grouped.point_scores, nan=0.0),
                scores=grouped.scores,
                centroids=np.full((n, 2), np.nan),
                centroid_scores=np.full(n, np.nan),
            )
        )
    return out
