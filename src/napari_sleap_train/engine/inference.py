"""Top-down, bottom-up and single-instance inference (child process only: imports Keras).

:func:`load_predictor` turns model folders (ours or SLEAP 1.4's) into a
:class:`Predictor`; :meth:`Predictor.predict` runs it on frames of a project
and returns a new ``sio.Labels`` of predicted instances. Model inference
only: the jobs that load projects, write files and emit events are in
:mod:`napari_sleap_train.engine.prediction_jobs`.

Geometry (shared with training through :mod:`napari_sleap_train.data`):

* whole-frame models (centroid, single instance): frame -> channels as the
  config asks -> resize by ``input_scaling`` -> float in ``[0, 1]`` ->
  zero-pad bottom/right to ``max_stride``; a grid peak ``j`` on the output is
  at input pixel ``j * output_stride`` and maps back to the frame by the
  inverse of the input scaling;
* centered instance: a crop centred on each centroid (anchor on the crop
  centre ``(N - 1) / 2``, sub-pixel), resized by its ``input_scaling``;
  peaks map back through the inverse crop affine.

Peaks: centroids are local maxima (3x3 NMS, threshold), nodes are the global
maximum of their channel; both are refined with the offset head when the
model has one, else by ``refinement`` (see
:mod:`napari_sleap_train.predictions.peaks`). Point scores are the peak
values; an instance's score is the mean of its point scores.

Bottom-up models are run by :mod:`napari_sleap_train.engine.bottom_up` (local
peaks of every part grouped by part affinity fields; an instance's score is
the sum of its edges' line scores); :class:`Predictor` only dispatches.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sleap_io as sio

from napari_sleap_train.config.model import ModelKind
from napari_sleap_train.data.augmentation import transform_points
from napari_sleap_train.data.image import convert_channels, to_float255
from napari_sleap_train.data.scaling import pad_to_stride, resize, unscale_points
from napari_sleap_train.engine.crop_views import channel_swap, crop_peaks, crops_around, view_peaks
from napari_sleap_train.engine.errors import EngineConfigError, EngineDataError
from napari_sleap_train.engine.sleap_weights import (
    POINTS_MULTIPLY,
    LoadedModel,
    load_model_folder,
)
from napari_sleap_train.predictions.paf_grouping import GroupingSettings
from napari_sleap_train.predictions.peaks import (
    DEFAULT_THRESHOLD,
    find_global_peaks,
    find_local_peaks,
)
from napari_sleap_train.predictions.views import turns_learned, view_list


@dataclass
class FramePrediction:
    """Instances found on one frame, in frame pixels.

    Attributes
    ----------
    points
        ``(n, k, 2)`` xy, NaN where a node's peak is below the threshold.
    point_scores
        ``(n, k)`` peak values.
    scores
        ``(n,)`` instance scores (mean point score).
    centroids, centroid_scores
        ``(n, 2)`` and ``(n,)`` for top-down models (NaN for single instance).
    classes, class_scores
        Identity models: ``(n,)`` class index of each instance (distinct) and
        its identity score; ``None`` for the other models.
    """

    points: np.ndarray
    point_scores: np.ndarray
    scores: np.ndarray
    centroids: np.ndarray
    centroid_scores: np.ndarray
    classes: np.ndarray | None = None
    class_scores: np.ndarray | None = None

    @classmethod
    def empty(cls, k: int, identity: bool = False) -> FramePrediction:
        ids = (np.zeros(0, dtype=int), np.zeros(0)) if identity else (None, None)
        return cls(np.zeros((0, k, 2)), np.zeros((0, k)), np.zeros(0), np.zeros((0, 2)), np.zeros(0), *ids)

    def __len__(self) -> int:
        return len(self.scores)


def _model_output(model: LoadedModel, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Run the network; return confidence maps and offsets (or None)."""
    out = model.predict_fn(np.ascontiguousarray(batch, dtype=np.float32))
    if isinstance(out, (list, tuple)):
        cms = np.asarray(out[0])
        offsets = np.asarray(out[1]) if model.has_offsets and len(out) > 1 else None
    elif isinstance(out, dict):
        values = list(out.values())
        cms = np.asarray(values[0])
        offsets = np.asarray(values[1]) if model.has_offsets and len(values) > 1 else None
    else:
        cms, offsets = np.asarray(out), None
    return cms, offsets


def _unscale(points: np.ndarray, model: LoadedModel) -> np.ndarray:
    """Network-input pixels back to frame pixels for a whole-frame model."""
    s = model.input_scaling
    if s == 1:
        return points
    if model.point_convention == POINTS_MULTIPLY:
        return np.asarray(points, dtype=np.float64) / s
    return unscale_points(points, s)


def _prepare_frame(image: np.ndarray, model: LoadedModel) -> np.ndarray:
    """Frame -> network input (channels, input scaling, [0, 1], stride padding)."""
    img = convert_channels(image, model.channels == 3, model.channels == 1)
    img = resize(img, model.input_scaling)
    img = to_float255(img) * np.float32(1.0 / 255.0)
    return pad_to_stride(img, model.max_stride)


def _stack_inputs(images: Sequence[np.ndarray]) -> np.ndarray:
    """Stack network inputs of possibly different sizes (zero-pad to the largest)."""
    h = max(i.shape[0] for i in images)
    w = max(i.shape[1] for i in images)
    out = np.zeros((len(images), h, w, images[0].shape[2]), dtype=np.float32)
    for n, img in enumerate(images):
        out[n, : img.shape[0], : img.shape[1]] = img
    return out


class Predictor:
    """Top-down (centroid + centered instance) or single-instance predictor.

    Parameters
    ----------
    models
        Loaded models: a centroid and a centered-instance model, or one
        single-instance model.
    peak_threshold
        Minimum confidence of a centroid or node peak.
    max_instances
        Keep at most this many centroids per frame (highest first); ``None``
        keeps all.
    batch_size
        Frames per network call.
    refinement
        Sub-pixel refinement without an offset head: ``"integral"`` or
        ``"gaussian"``.
    grouping
        Bottom-up only: how peaks are joined into instances (SLEAP's defaults);
        ``max_instances`` is applied on top.
    views
        Top-down: test-time views of each centered-instance crop (1, 2, 4 or
        8; :mod:`~napari_sleap_train.predictions.views`). Mirrored views need
        the skeleton's left/right pairs, which :meth:`predict` takes from the
        project (:meth:`predict_instances` alone turns the crop only); turned
        views need a model trained with +-180 degree rotation (a model trained
        with SLEAP's default of 15 degrees predicts each crop once).
    """

    def __init__(
        self,
        models: Sequence[LoadedModel],
        peak_threshold: float = DEFAULT_THRESHOLD,
        max_instances: int | None = None,
        batch_size: int = 4,
        refinement: str = "integral",
        grouping: GroupingSettings | None = None,
        views: int = 1,
    ):
        by_kind = {m.kind: m for m in models}
        if len(by_kind) != len(models):
            raise EngineConfigError("Give each kind of model once (e.g. one centroid and one centered-instance model).")
        self.centroid = by_kind.get(ModelKind.CENTROID)
        self.centered = by_kind.get(ModelKind.CENTERED_INSTANCE)
        self.single = by_kind.get(ModelKind.SINGLE_INSTANCE)
        self.multi = by_kind.get(ModelKind.MULTI_INSTANCE)
        self.multi_id = by_kind.get(ModelKind.MULTI_CLASS_BOTTOMUP)
        self.centered_id = by_kind.get(ModelKind.MULTI_CLASS_TOPDOWN)
        if self.centered_id is not None and self.centered is not None:
            raise EngineConfigError("Give a centered-instance or a top-down-id model, not both.")
        self.centered = self.centered or self.centered_id
        alone_kinds = ((self.single, "single-instance"), (self.multi, "bottom-up"), (self.multi_id, "bottom-up-id"))
        for alone, what in alone_kinds:
            if alone is not None and len(models) > 1:
                raise EngineConfigError(f"A {what} model is used alone, not with other models.")
        if self.centered_id is not None and self.centroid is None and len(models) == 1:
            pass  # top-down-id alone runs on given anchors (the user instances', as SLEAP does)
        elif all(m is None for m in (self.single, self.multi, self.multi_id)) and not (self.centroid and self.centered):
            have = ", ".join(m.kind.value for m in models) or "none"
            raise EngineConfigError(
                f"Top-down prediction needs a centroid model and a centered-instance model (given: {have})."
            )
        if self.centered is not None and not self.centered.crop_size:
            raise EngineConfigError(
                f"The centered-instance model in {self.centered.path} does not record its crop size."
            )
        if batch_size < 1:
            raise EngineConfigError(f"Batch size must be at least 1, got {batch_size}.")
        self.models = list(models)
        self.peak_threshold = float(peak_threshold)
        self.max_instances = max_instances
        self.batch_size = int(batch_size)
        self.refinement = refinement
        grouping = grouping or GroupingSettings()
        if max_instances is not None:
            grouping = dataclasses.replace(grouping, max_instances=max_instances)
        self.grouping = grouping
        try:  # a count it does not know fails here, before any frame is read
            view_list(views)
        except ValueError as exc:
            raise EngineConfigError(str(exc)) from None
        self.views = int(views)
        self.swap: np.ndarray | None = None  # channel permutation of left/right partners (set by predict)

    @property
    def node_model(self) -> LoadedModel:
        """The model that predicts the nodes."""
        return next(m for m in (self.single, self.multi, self.multi_id, self.centered) if m is not None)

    @property
    def classes(self) -> list[str] | None:
        """Class (track) names of an identity pipeline, else ``None``."""
        ident = self.multi_id or self.centered_id
        return None if ident is None else list(ident.classes or [])

    @property
    def n_parts(self) -> int:
        return self.node_model.n_outputs

    # -------------------------------------------------------------- numpy level

    def find_centroids(self, images: Sequence[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Centroids ``(n, 2)`` (frame pixels) and their scores ``(n,)`` for each image."""
        model = self.centroid
        batch = _stack_inputs([_prepare_frame(img, model) for img in images])
        cms, offsets = _model_output(model, batch)
        out = []
        for i in range(len(images)):
            peaks = find_local_peaks(
                cms[i, ..., :1],
                threshold=self.peak_threshold,
                refine=self.refinement,
                offsets=None if offsets is None else offsets[i, ..., :2],
            )
            pts = _unscale(peaks.points * model.output_stride, model)
            vals = peaks.values.astype(np.float64)
            order = np.argsort(-vals, kind="stable")
            if self.max_instances is not None:
                order = order[: self.max_instances]
            out.append((pts[order].reshape(-1, 2), vals[order]))
        return out

    def predict_instances(
        self, images: Sequence[np.ndarray], centroids: Sequence[np.ndarray] | None = None
    ) -> list[FramePrediction]:
        """Predict every image of a batch.

        Parameters
        ----------
        images
            ``(H, W, C)`` uint8 frames.
        centroids
            Top-down only: use these ``(n, 2)`` centroids per image instead of
            the centroid model (e.g. ground-truth anchors, to test the
            centered-instance model alone); their scores are 1.
        """
        if self.single is not None:
            return self._predict_single(images)
        if self.multi is not None:
            from napari_sleap_train.engine.bottom_up import predict_bottom_up

            return predict_bottom_up(self.multi, images, self.peak_threshold, self.refinement, self.grouping)
        if self.multi_id is not None:
            from napari_sleap_train.engine.identity import predict_bottom_up_id

            return predict_bottom_up_id(self.multi_id, images, self.peak_threshold, self.refinement)
        if centroids is None and self.centroid is None:
            raise EngineConfigError("A top-down-id model without a centroid model needs the anchors of each frame.")
        if centroids is None:
            found = self.find_centroids(images)
        else:
            found = [(np.asarray(c, dtype=np.float64).reshape(-1, 2), np.ones(len(c))) for c in centroids]
        if self.centered_id is not None:
            from napari_sleap_train.engine.identity import predict_top_down_id

            return predict_top_down_id(self.centered_id, images, found, self.peak_threshold, self.refinement)
        return self._predict_centered(images, found)

    def _predict_single(self, images: Sequence[np.ndarray]) -> list[FramePrediction]:
        model = self.single
        batch = _stack_inputs([_prepare_frame(img, model) for img in images])
        cms, offsets = _model_output(model, batch)
        pts, vals = find_global_peaks(cms, self.peak_threshold, self.refinement, offsets)
        out = []
        for i in range(len(images)):
            p = _unscale(pts[i] * model.output_stride, model)
            v = vals[i].astype(np.float64)
            out.append(
                FramePrediction(
                    points=p[None],
                    point_scores=v[None],
                    scores=np.array([float(np.mean(v))]),
                    centroids=np.full((1, 2), np.nan),
                    centroid_scores=np.full(1, np.nan),
                )
            )
        return out

    def _predict_centered(
        self, images: Sequence[np.ndarray], found: list[tuple[np.ndarray, np.ndarray]]
    ) -> list[FramePrediction]:
        model = self.centered
        k = model.n_outputs
        gathered = crops_around(model, images, found)
        if gathered is None:
            return [FramePrediction.empty(k) for _ in images]
        crops_arr, mats_arr, owners = gathered
        # several crops per frame: run them in chunks of a few batches' worth
        chunk = max(1, self.batch_size * 4)
        views = view_list(self.views, self.swap is not None, turns_learned(model.config.augmentation.max_rotation))
        if len(views) > 1:
            pts, vals = view_peaks(
                _model_output, model, crops_arr, views, self.swap, self.peak_threshold, self.refinement, chunk
            )
        else:  # crop (network input) pixels; below-threshold values kept as the nodes' scores
            pts, vals = crop_peaks(_model_output, model, crops_arr, self.peak_threshold, self.refinement, chunk)
        frame_pts = np.stack([transform_points(pts[j], np.linalg.inv(mats_arr[j])) for j in range(len(pts))])
        owners_arr = np.asarray(owners)
        out = []
        for i, (cents, cvals) in enumerate(found):
            sel = owners_arr == i
            if not sel.any():
                out.append(FramePrediction.empty(k))
                continue
            v = vals[sel]
            out.append(
                FramePrediction(
                    points=frame_pts[sel],
                    point_scores=v,
                    scores=v.mean(axis=1),
                    centroids=cents,
                    centroid_scores=cvals,
                )
            )
        return out

    # -------------------------------------------------------------- labels level

    def _part_order(self, skeleton: sio.Skeleton) -> np.ndarray:
        """Channel index of each skeleton node (-1 when the model does not predict it)."""
        names = list(skeleton.node_names)
        parts = self.node_model.part_names
        if parts is None:
            if len(names) != self.n_parts:
                raise EngineDataError(
                    f"The model predicts {self.n_parts} body parts but the project's skeleton has "
                    f"{len(names)} ({', '.join(names)})."
                )
            return np.arange(len(names))
        index = {n: i for i, n in enumerate(parts)}
        order = np.array([index.get(n, -1) for n in names], dtype=int)
        if np.all(order < 0):
            raise EngineDataError(
                f"None of the model's body parts ({', '.join(parts)}) are in the project's skeleton "
                f"({', '.join(names)})."
            )
        return order

    def iter_batches(
        self, labels: sio.Labels, frames: Sequence[tuple[int, int]]
    ) -> Iterator[tuple[list[tuple[int, int]], list[np.ndarray]]]:
        """Decode frames batch by batch, one batch ahead in a background thread."""
        frames = [(int(v), int(f)) for v, f in frames]
        chunks = [frames[i : i + self.batch_size] for i in range(0, len(frames), self.batch_size)]

        def decode(chunk):
            images = []
            for vi, fi in chunk:
                if not 0 <= vi < len(labels.videos):
                    raise EngineDataError(f"Video {vi} does not exist (the project has {len(labels.videos)}).")
                try:
                    img = labels.videos[vi][fi]
                except Exception as exc:
                    raise EngineDataError(
                        f"Frame {fi} of {Path(str(labels.videos[vi].filename)).name} cannot be read "
                        f"({type(exc).__name__}: {exc})."
                    ) from exc
                img = np.asarray(img)
                if img.ndim == 4:
                    img = img[0]
                images.append(img)
            return images

        if not chunks:
            return
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(decode, chunks[0])
            for n, chunk in enumerate(chunks):
                images = pending.result()
                if n + 1 < len(chunks):
                    pending = pool.submit(decode, chunks[n + 1])
                yield chunk, images

    def predict(
        self,
        labels: sio.Labels,
        frames: Sequence[tuple[int, int]],
        progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> sio.Labels:
        """Predict on ``(video index, frame index)`` frames of a project.

        Returns
        -------
        sio.Labels
            New labels that share the project's videos and skeleton and hold
            only predicted instances (frames where nothing was found are
            left out).
        """
        if not labels.skeletons:
            raise EngineDataError("The project has no skeleton.")
        skeleton = labels.skeletons[0]
        order = self._part_order(skeleton)
        have = order >= 0
        self.swap = channel_swap(skeleton, order, self.n_parts)
        out = sio.Labels(videos=list(labels.videos), skeletons=[skeleton])
        tracks = None
        if self.classes is not None:
            from napari_sleap_train.engine.identity import class_tracks, user_anchors

            tracks = class_tracks(self.classes, labels)
            out.tracks = list(tracks)
        total = len(frames)
        done = 0
        for chunk, images in self.iter_batches(labels, frames):
            if should_stop is not None and should_stop():
                break
            anchors = None
            if self.centered_id is not None and self.centroid is None:
                anchors = user_anchors(labels, chunk, self.centered_id.config.head.anchor_part)
            for (vi, fi), pred in zip(chunk, self.predict_instances(images, anchors)):
                if len(pred) == 0:
                    continue
                instances = []
                for j in range(len(pred)):
                    pts = np.full((len(order), 2), np.nan)
                    scores = np.zeros(len(order))
                    pts[have] = pred.points[j][order[have]]
                    scores[have] = pred.point_scores[j][order[have]]
                    instances.append(
                        sio.PredictedInstance.from_numpy(
                            pts, skeleton=skeleton, point_scores=scores, score=float(pred.scores[j])
                        )
                    )
                    if tracks is not None:  # identity models: the class is the track
                        instances[-1].track = tracks[int(pred.classes[j])]
                        instances[-1].tracking_score = float(pred.class_scores[j])
                out.append(sio.LabeledFrame(video=labels.videos[vi], frame_idx=fi, instances=instances), update=False)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
        out.update()
        return out


def load_predictor(
    model_dirs: Sequence[str | Path],
    peak_threshold: float = DEFAULT_THRESHOLD,
    max_instances: int | None = None,
    batch_size: int = 4,
    refinement: str = "integral",
    views: int = 1,
) -> Predictor:
    """Load model folders (SLEAP 1.4 or ours) into a :class:`Predictor` (``views``: see there)."""
    if not model_dirs:
        raise EngineConfigError("No model folders given.")
    models = [load_model_folder(d) for d in model_dirs]
    return Predictor(models, peak_threshold, max_instances, batch_size, refinement, views=views)


__all__ = ["FramePrediction", "Predictor", "load_predictor"]
