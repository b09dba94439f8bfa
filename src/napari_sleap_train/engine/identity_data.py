"""Training examples of identity models for :class:`~napari_sleap_train.engine.dataset.ExampleMaker`.

Each sample's instances get class indices from their tracks
(:func:`~napari_sleap_train.data.class_targets.class_indices`); examples are
:func:`~napari_sleap_train.data.identity_inputs.bottom_up_id_example` (input,
confidence maps, class maps + weights) or
:func:`~napari_sleap_train.data.identity_inputs.top_down_id_examples` (one
crop per instance: input, confidence maps, class vector + weight).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from napari_sleap_train.config.model import ModelKind, TrainingConfig
from napari_sleap_train.data.class_targets import NO_CLASS, class_indices
from napari_sleap_train.data.identity_inputs import bottom_up_id_example, top_down_id_examples
from napari_sleap_train.engine.errors import EngineConfigError


@dataclass
class IdentityTargets:
    """Class index of every instance of every sample, and the class head's target shape."""

    classes: list[str]
    per_sample: list[np.ndarray]

    @classmethod
    def of(cls, cfg: TrainingConfig, data) -> IdentityTargets:
        classes = list(cfg.identity.classes or [])
        if len(classes) < 2:
            raise EngineConfigError(
                "An identity model needs at least two classes (track names); "
                f"it has {len(classes)}: {', '.join(classes) or 'none'}."
            )
        names = [t.name for t in data.labels.tracks]
        return cls(classes, [class_indices(s.track_ids, names, classes) for s in data.samples])

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def unclassed(self, indices) -> tuple[int, int]:
        """Instances without a class and all instances, over the given samples."""
        chosen = [self.per_sample[int(i)] for i in indices]
        return sum(int((c == NO_CLASS).sum()) for c in chosen), sum(len(c) for c in chosen)


def make_identity_example(maker, index: int, augment: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(input, confmaps, class targets)`` of one sample (stacked per instance for top-down-id)."""
    sample = maker.data.samples[int(index)]
    image = maker.frames[sample.key]
    kwargs = dict(node_names=maker.data.node_names, symmetry=maker.data.symmetry)
    classes = maker.identity.per_sample[int(index)]
    rng = maker._rng()
    n = maker.identity.n_classes
    if maker.kind == ModelKind.MULTI_CLASS_TOPDOWN:
        triples = top_down_id_examples(
            image, sample.instances, classes, maker.cfg, maker.crop_size, rng, augment, **kwargs
        )
        if not triples:
            c, k = maker.channels, maker.n_outputs
            return (
                np.zeros((0, *maker.input_hw, c), np.float32),
                np.zeros((0, *maker.output_hw, k), np.float32),
                np.zeros((0, n + 1), np.float32),
            )
        return tuple(np.stack([t[j] for t in triples]) for j in range(3))
    x, cm, maps = bottom_up_id_example(image, sample.instances, classes, maker.cfg, rng, augment, **kwargs)
    return maker._pad(x, maker.input_hw), maker._pad(cm, maker.output_hw), maker._pad(maps, maker.class_hw)


def identity_map_fn(maker, augment: bool):
    """tf.data map of an identity model: input and the two targets ``(confmaps, classes)``."""
    per_instance = maker.kind == ModelKind.MULTI_CLASS_TOPDOWN
    n = maker.identity.n_classes

    def build(index):
        return tuple(a.astype(np.float32, copy=False) for a in make_identity_example(maker, int(index), augment))

    def tf_build(index):
        x, cm, cls = tf.numpy_function(build, [index], (tf.float32,) * 3, stateful=augment)
        lead = (None,) if per_instance else ()
        x.set_shape((*lead, *maker.input_hw, maker.channels))
        cm.set_shape((*lead, *maker.output_hw, maker.n_outputs))
        cls.set_shape((*lead, n + 1) if per_instance else (*maker.class_hw, n + 1))
        return x, (cm, cls)

    return tf_build
