"""Network inputs and targets of identity models for one labeled frame (numpy only).

The same geometry as the other kinds (:mod:`.training_inputs`: one
augmentation, input scaling and stride padding for image and points), with
the class targets of :mod:`.class_targets` made from the augmented points:

* :func:`bottom_up_id_example`: whole frame, confidence maps of every part and
  class maps (+ weight channel);
* :func:`top_down_id_examples`: one crop per instance with a finite anchor,
  its centered-instance confidence maps and its class vector (+ weight).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..config.model import TrainingConfig
from .class_targets import class_maps_target, class_vector_target
from .confmaps import confidence_maps
from .training_inputs import _instances, _params, _whole_frame, centered_instance_crops, part_indices_of


def bottom_up_id_example(
    image: np.ndarray,
    instances: np.ndarray,
    classes: np.ndarray,
    cfg: TrainingConfig,
    rng: np.random.Generator | None = None,
    augment: bool = True,
    *,
    node_names: Sequence[str] | None = None,
    symmetry: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Input image, confidence maps and class maps (last channel: loss weights) of a bottom-up-id model.

    ``classes`` holds each instance's class index
    (:data:`~.class_targets.NO_CLASS` for instances left out of the class loss).
    """
    pts = _instances(instances)
    parts = part_indices_of(cfg, node_names, pts.shape[1])
    img, pts = _whole_frame(image, pts, cfg, _params(cfg, rng, augment), symmetry)
    h, w = img.shape[:2]
    cm = confidence_maps(pts[:, parts], h, w, cfg.head.sigma, cfg.model.output_stride)
    n_classes = len(cfg.identity.classes or [])
    ident = cfg.identity
    maps = class_maps_target(pts[:, parts], classes, n_classes, h, w, ident.sigma, ident.output_stride)
    return img, cm, maps


def top_down_id_examples(
    image: np.ndarray,
    instances: np.ndarray,
    classes: np.ndarray,
    cfg: TrainingConfig,
    crop_size: float | None = None,
    rng: np.random.Generator | None = None,
    augment: bool = True,
    *,
    node_names: Sequence[str] | None = None,
    symmetry: np.ndarray | None = None,
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``(crop, confmaps, class vector + weight)`` of each instance with a finite anchor."""
    crops = centered_instance_crops(
        image, instances, cfg, crop_size, rng, augment, node_names=node_names, symmetry=symmetry
    )
    n_classes = len(cfg.identity.classes or [])
    classes = np.asarray(classes, dtype=np.int64).reshape(-1)
    return [(c.image, c.confmaps, class_vector_target(int(classes[c.instance_index]), n_classes)) for c in crops]
