"""Training data: labeled frames decoded once, examples built per epoch, tf.data batching.

The geometry of every example comes from :mod:`napari_sleap_train.data.training_inputs`
(the same functions the GUI previews use); this module only organises them:

* :class:`~napari_sleap_train.engine.labeled_data.FrameStore` (no TensorFlow)
  decodes each labeled frame once and keeps it in memory within a budget;
* :class:`ExampleMaker` turns one labeled frame into network inputs/targets for
  a model kind, padded to one shape for the whole project (bottom-up models
  have two targets, confidence maps and part affinity fields, each on its
  own stride);
* :func:`make_datasets` builds the shuffled, augmented, batched, prefetched
  ``tf.data`` pipelines (example building runs in parallel map calls so both
  cores stay busy while the model trains).
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from napari_sleap_train.config.model import ModelKind, TrainingConfig
from napari_sleap_train.data.anchors import anchor_points
from napari_sleap_train.data.confmaps import output_shape
from napari_sleap_train.data.crops import crop_network_size
from napari_sleap_train.data.errors import DataError
from napari_sleap_train.data.image import as_hwc, convert_channels
from napari_sleap_train.data.pose_balance import frame_weights
from napari_sleap_train.data.scaling import padded_shape, scaled_shape
from napari_sleap_train.data.train_crops import train_crop_side
from napari_sleap_train.data.training_inputs import (
    anchor_index_of,
    auto_crop_size_for,
    bottom_up_example,
    centered_instance_examples,
    centroid_example,
    limbs_of,
    paf_edges_of,
    part_indices_of,
    single_instance_example,
)
from napari_sleap_train.engine.errors import EngineDataError
from napari_sleap_train.engine.labeled_data import FrameStore, LabeledData


class ExampleMaker:
    """Builds network inputs and targets of one model kind from labeled frames.

    Whole-frame models (centroid, single instance) pad every example to the
    largest frame of the project so frames of different videos batch together;
    padding is added at the bottom/right, which leaves coordinates unchanged.
    """

    def __init__(
        self,
        cfg: TrainingConfig,
        data: LabeledData,
        frames: FrameStore,
        crop_size: int | None = None,
        seed: int = 0,
    ):
        self.cfg = cfg
        self.data = data
        self.frames = frames
        self.kind = cfg.kind
        self._counter = itertools.count()
        self._counter_lock = threading.Lock()
        self.seed = seed
        try:
            self.anchor_index = anchor_index_of(cfg, data.node_names)
            n_nodes = len(data.node_names)
            self.parts = part_indices_of(cfg, data.node_names, n_nodes)
        except DataError as exc:
            raise EngineDataError(str(exc), hint="check the anchor part and part names") from exc
        self.multi = self.kind == ModelKind.MULTI_INSTANCE
        self.edges = np.zeros((0, 2), dtype=int)
        if self.multi:
            try:
                self.edges = paf_edges_of(cfg, data.node_names, data.edge_names)
            except DataError as exc:
                raise EngineDataError(
                    str(exc), hint="add edges to the skeleton or fix the part affinity field edges"
                ) from exc
        self.n_edges = len(self.edges)
        # centered-instance crops may bend the skeleton's limb tips (data/limb_warp.py)
        self.limbs = limbs_of(cfg, data.node_names, data.edge_names)
        first = as_hwc(frames[data.samples[0].key])
        self.channels = convert_channels(first, cfg.data.ensure_rgb, cfg.data.ensure_grayscale).shape[2]
        stride, out_stride = cfg.model.max_stride, cfg.model.output_stride
        if ModelKind(self.kind).is_cropped:
            self.crop_size = crop_size or cfg.data.crop_size or self._auto_crop_size()
            side = crop_network_size(self.crop_size, cfg.data.input_scaling, stride)
            self.input_hw = (side, side)
        else:
            self.crop_size = None
            shapes = []
            for v in {s.video_index for s in data.samples}:
                h, w = frames.labels.videos[v].shape[1:3] if frames.labels.videos[v].shape else first.shape[:2]
                shapes.append(padded_shape(*scaled_shape(h, w, cfg.data.input_scaling), stride))
            self.input_hw = (max(s[0] for s in shapes), max(s[1] for s in shapes))
        self.output_hw = (math.ceil(self.input_hw[0] / out_stride), math.ceil(self.input_hw[1] / out_stride))
        self.n_outputs = 1 if self.kind == ModelKind.CENTROID else len(self.parts)
        paf_stride = cfg.pafs.output_stride
        self.paf_hw = (math.ceil(self.input_hw[0] / paf_stride), math.ceil(self.input_hw[1] / paf_stride))
        # bottom-up models may train on random windows (data/train_crops.py); validation sees whole
        # frames. A window as large as the frame's input would only add empty padding: whole frames then.
        side = train_crop_side(cfg, self.input_hw) if self.multi else None
        self.train_crop_size = cfg.optimization.train_crop_size if side is not None else None
        self.train_hw = (side, side) if side is not None else self.input_hw
        # identity models: class indices from the tracks (engine/identity_data.py)
        self.identity = None
        if ModelKind(self.kind).is_identity:
            from napari_sleap_train.engine.identity_data import IdentityTargets

            self.identity = IdentityTargets.of(cfg, data)
            cs = cfg.identity.output_stride
            self.class_hw = (math.ceil(self.input_hw[0] / cs), math.ceil(self.input_hw[1] / cs))

    def edge_names(self) -> list[list[str]]:
        """The part affinity field edges as ``[source, destination]`` node names."""
        names = [self.data.node_names[i] for i in self.parts]
        return [[names[a], names[b]] for a, b in self.edges]

    def _auto_crop_size(self) -> int:
        # the same rule the crop-box preview in napari uses
        return auto_crop_size_for(self.cfg, [s.instances for s in self.data.samples], self.data.node_names)

    def count_examples(self, indices: Sequence[int]) -> int:
        """Examples the samples give: one per frame, or one per instance with an anchor."""
        if not ModelKind(self.kind).is_cropped:
            return len(indices)
        total = 0
        for i in indices:
            anchors = anchor_points(self.data.samples[i].instances, self.anchor_index)
            total += int(np.isfinite(anchors).all(axis=1).sum())
        return total

    def _rng(self) -> np.random.Generator:
        with self._counter_lock:
            n = next(self._counter)
        return np.random.default_rng((self.seed, n))

    def _pad(self, array: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
        dh, dw = hw[0] - array.shape[0], hw[1] - array.shape[1]
        if dh == 0 and dw == 0:
            return array
        return np.pad(array, ((0, dh), (0, dw), (0, 0)))

    def make(self, index: int, augment: bool) -> tuple[np.ndarray, ...]:
        """Inputs and targets of sample ``index``.

        Returns ``(h, w, C)`` / ``(h', w', k)`` for whole-frame models,
        ``(n, S, S, C)`` / ``(n, S', S', k)`` (one per instance) for centered
        instance, and ``(h, w, C)`` / ``(h', w', k)`` / ``(h'', w'', 2 m)``
        (input, maps, fields) for bottom-up.
        """
        if self.identity is not None:
            from napari_sleap_train.engine.identity_data import make_identity_example

            return make_identity_example(self, index, augment)
        sample = self.data.samples[int(index)]
        image = self.frames[sample.key]
        kwargs = dict(node_names=self.data.node_names, symmetry=self.data.symmetry)
        rng = self._rng()
        if self.kind == ModelKind.CENTERED_INSTANCE:
            pairs = centered_instance_examples(
                image, sample.instances, self.cfg, self.crop_size, rng, augment, limbs=self.limbs, **kwargs
            )
            c, k = self.channels, self.n_outputs
            if not pairs:
                return (np.zeros((0, *self.input_hw, c), np.float32), np.zeros((0, *self.output_hw, k), np.float32))
            return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
        if self.multi:
            crop = self.train_crop_size if augment else None
            kwargs.update(skeleton_edges=self.edge_names(), crop_size=crop)
            x, cm, pafs = bottom_up_example(image, sample.instances, self.cfg, rng, augment, **kwargs)
            if crop is not None:  # every window has the same shape already
                return x, cm, pafs
            return self._pad(x, self.input_hw), self._pad(cm, self.output_hw), self._pad(pafs, self.paf_hw)
        fn = centroid_example if self.kind == ModelKind.CENTROID else single_instance_example
        x, y = fn(image, sample.instances, self.cfg, rng, augment, **kwargs)
        return self._pad(x, self.input_hw), self._pad(y, self.output_hw)


@dataclass
class Datasets:
    """The tf.data pipelines of one model and their sizes."""

    train: tf.data.Dataset
    val: tf.data.Dataset
    n_train: int  # examples per pass over the training frames
    n_val: int
    batches_per_epoch: int
    val_batches: int  # validation batches per epoch (default: the whole validation set)
    distinct_poses: float | None = None  # balanced sampling: the training frames' distinct poses


def _map_fn(maker: ExampleMaker, augment: bool):
    c, k = maker.channels, maker.n_outputs
    per_instance = maker.kind == ModelKind.CENTERED_INSTANCE
    if maker.multi:
        return _map_fn_bottom_up(maker, augment)
    if maker.identity is not None:
        from napari_sleap_train.engine.identity_data import identity_map_fn

        return identity_map_fn(maker, augment)

    def build(index):
        x, y = maker.make(int(index), augment)
        return x.astype(np.float32, copy=False), y.astype(np.float32, copy=False)

    def tf_build(index):
        x, y = tf.numpy_function(build, [index], (tf.float32, tf.float32), stateful=augment)
        if per_instance:
            x.set_shape((None, *maker.input_hw, c))
            y.set_shape((None, *maker.output_hw, k))
        else:
            x.set_shape((*maker.input_hw, c))
            y.set_shape((*maker.output_hw, k))
        return x, y

    return tf_build


def _map_fn_bottom_up(maker: ExampleMaker, augment: bool):
    """Map of a bottom-up model: input and the two targets ``(confmaps, pafs)``."""

    def build(index):
        return tuple(a.astype(np.float32, copy=False) for a in maker.make(int(index), augment))

    hw = maker.train_hw if augment else maker.input_hw
    cfg = maker.cfg

    def tf_build(index):
        x, cm, pafs = tf.numpy_function(build, [index], (tf.float32,) * 3, stateful=augment)
        x.set_shape((*hw, maker.channels))
        cm.set_shape((*output_shape(*hw, cfg.model.output_stride), maker.n_outputs))
        pafs.set_shape((*output_shape(*hw, cfg.pafs.output_stride), 2 * maker.n_edges))
        return x, (cm, pafs)

    return tf_build


def make_datasets(
    maker: ExampleMaker,
    batch_size: int,
    batches_per_epoch: int | None,
    min_batches_per_epoch: int,
    val_batches_per_epoch: int | None,
    seed: int = 0,
    balance_poses: bool = False,
) -> Datasets:
    """Shuffled, augmented, batched training data and deterministic validation data.

    The training pipeline repeats forever; an epoch is ``batches_per_epoch``
    batches (default: one pass over the training examples, at least
    ``min_batches_per_epoch``, as SLEAP). With ``balance_poses`` the training
    frames are drawn with replacement, weighted by
    :func:`~napari_sleap_train.data.pose_balance.frame_weights`, instead of
    shuffled passes.
    """
    data = maker.data
    per_instance = ModelKind(maker.kind).is_cropped
    n_train = maker.count_examples(data.train_idx)
    n_val = maker.count_examples(data.val_idx)
    if n_train == 0:
        raise EngineDataError("No training examples: no labeled instance has a usable anchor point.")
    options = tf.data.Options()
    options.deterministic = False
    options.experimental_optimization.map_parallelization = True

    distinct = None
    if balance_poses:
        draws, distinct = balanced_draws(data, seed)
        train = tf.data.Dataset.from_tensor_slices(draws).repeat()
    else:
        train = tf.data.Dataset.from_tensor_slices(np.asarray(data.train_idx, np.int64))
        train = train.shuffle(len(data.train_idx), seed=seed, reshuffle_each_iteration=True).repeat()
    train = train.map(_map_fn(maker, augment=True), num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
    if per_instance:
        train = train.unbatch().shuffle(max(8, 4 * batch_size), seed=seed)
    # Full batches only (the stream never ends anyway): one static batch shape,
    # one trace of the training step.
    train = train.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE).with_options(options)

    if val_batches_per_epoch is None:
        val_batches_per_epoch = math.ceil(n_val / batch_size)
    val = tf.data.Dataset.from_tensor_slices(np.asarray(data.val_idx, np.int64))
    val = val.map(_map_fn(maker, augment=False), num_parallel_calls=tf.data.AUTOTUNE)
    if per_instance:
        val = val.unbatch()
    # The same examples every epoch, in full batches: the last batch is topped
    # up from the start of the set instead of being short (a short batch would
    # trace the evaluation step a second time).
    val = val.repeat().take(int(val_batches_per_epoch) * batch_size)
    example_bytes = 4 * (
        np.prod(maker.input_hw) * maker.channels
        + np.prod(maker.output_hw) * maker.n_outputs
        + np.prod(maker.paf_hw) * 2 * maker.n_edges
    )
    if val_batches_per_epoch * batch_size * example_bytes < 512 * 1024**2:
        val = val.cache()  # validation examples never change: build them once
    # Repeat + explicit steps: Keras then never runs off the end of the data.
    val = val.batch(batch_size, drop_remainder=True).repeat().prefetch(tf.data.AUTOTUNE)

    if batches_per_epoch is None:
        batches_per_epoch = max(math.ceil(n_train / batch_size), min_batches_per_epoch)
    return Datasets(train, val, n_train, n_val, int(batches_per_epoch), val_batches_per_epoch, distinct)


#: Frames drawn per pass of a balanced stream (it then repeats): enough that the
#: repetition is far apart, small enough to hold (8 bytes each).
BALANCED_DRAWS = 100_000


def balanced_draws(data: LabeledData, seed: int = 0, n: int = BALANCED_DRAWS) -> tuple[np.ndarray, float]:
    """``n`` training-frame indices drawn with replacement, weighted to balance repeated poses.

    Returns the draws and about how many distinct poses the training
    instances show (the sum of their weights).
    """
    idx = np.asarray(data.train_idx, np.int64)
    instances = [data.samples[int(i)].instances for i in idx]
    weights = frame_weights(instances)
    draws = np.random.default_rng(seed).choice(idx, size=n, p=weights / weights.sum())
    return draws, float(sum(w * len(f) for w, f in zip(weights, instances)))
