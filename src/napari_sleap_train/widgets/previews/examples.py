"""A random sample of training examples per model, as stacks ready for image layers.

Numpy only: frames come from the project's lazy video arrays, the network
inputs and confidence maps from :mod:`napari_sleap_train.data.training_inputs`
(the very functions the engine trains on).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from napari_sleap_train.config.model import ModelKind, PipelineConfig, TrainingConfig
from napari_sleap_train.data.class_targets import NO_CLASS, class_indices, project_classes
from napari_sleap_train.data.errors import DataError
from napari_sleap_train.data.identity_inputs import bottom_up_id_example, top_down_id_examples
from napari_sleap_train.data.labels import (
    FrameSample,
    collect_samples,
    symmetry_permutation,
)
from napari_sleap_train.data.train_crops import train_crop_size_for
from napari_sleap_train.data.training_inputs import (
    bottom_up_example,
    centered_instance_examples,
    centroid_example,
    limbs_of,
    single_instance_example,
)

from .sizes import crop_size_of


class NoExamplesError(ValueError):
    """No training example can be made (no labels, or no readable video)."""


@dataclass
class ExampleStack:
    """Examples of one model.

    Attributes
    ----------
    kind
        The model.
    images
        ``(n, h, w, C)`` float32 network inputs in ``[0, 1]``.
    confmaps
        ``(n, h / output_stride, w / output_stride)`` float32, max over channels.
    output_stride
        Confidence-map pixels per input pixel (``1 / output_stride``).
    input_scaling
        Network pixels per frame pixel.
    crop_size
        Centered instance only: crop side in frame pixels.
    pafs
        Bottom-up only: ``(n, h / paf_stride, w / paf_stride, 2 m)`` part
        affinity fields (x, y of each edge; :mod:`napari_sleap_train.data.pafs`).
    paf_stride
        Bottom-up only: output stride of the fields.
    classes
        Identity models only: the class (track) names, in output order.
    class_maps
        Bottom-up-id only: ``(n, h / class_stride, w / class_stride, len(classes))``
        class maps (their loss-weight channel left out).
    class_stride
        Bottom-up-id only: output stride of the class maps.
    example_classes
        Top-down-id only: the class of each crop (``None``: no track, left out of the class loss).
    """

    kind: ModelKind
    images: np.ndarray
    confmaps: np.ndarray
    output_stride: int
    input_scaling: float
    crop_size: int | None = None
    pafs: np.ndarray | None = None
    paf_stride: int | None = None
    classes: list[str] = field(default_factory=list)
    class_maps: np.ndarray | None = None
    class_stride: int | None = None
    example_classes: list[str | None] | None = None

    @property
    def rgb(self) -> bool:
        """Whether the inputs have three channels."""
        return self.images.shape[-1] == 3


def _pad_stack(arrays: list[np.ndarray]) -> np.ndarray:
    """Stack arrays of different ``(h, w, ...)`` by zero-padding to the largest."""
    shape = np.max([a.shape for a in arrays], axis=0)
    out = np.zeros((len(arrays), *shape), dtype=np.float32)
    for i, a in enumerate(arrays):
        out[(i, *(slice(0, s) for s in a.shape))] = a
    return out


def _readable(samples: list[FrameSample], project) -> list[FrameSample]:
    return [s for s in samples if project.video_available(s.video_index)]


def model_examples(
    project,
    cfg: TrainingConfig,
    n: int = 8,
    seed: int = 0,
    samples: list[FrameSample] | None = None,
) -> ExampleStack:
    """``n`` augmented training examples of one model from random labeled frames.

    Parameters
    ----------
    project
        The open :class:`~napari_sleap_train.project.model.SleapProject`.
    cfg
        The model's config (anchor part already synced from the pipeline).
    n
        Number of examples (frames for whole-frame models, crops for
        centered-instance models).
    seed
        Seed of the frame choice and the augmentation.
    samples
        Labeled frames (default: all user-labeled frames of the project).

    Raises
    ------
    NoExamplesError
        The project has no labeled frame in a readable video.
    """
    if samples is None:
        project.sync()
        samples = collect_samples(project.labels)
    usable = _readable(samples, project)
    if not usable:
        raise NoExamplesError(
            "No labeled frame with a readable video: label a frame (or locate the videos) to see training inputs."
        )
    rng = np.random.default_rng(seed)
    names = list(project.skeleton.node_names)
    symmetry = symmetry_permutation(project.skeleton)
    crop_size = None
    track_names = [t.name for t in project.labels.tracks]
    if cfg.kind.is_identity and not cfg.identity.classes:  # the engine's rule: the user instances' track names
        classes = project_classes(track_names, [t for s in samples for t in s.track_ids])
        cfg = dataclasses.replace(cfg, identity=dataclasses.replace(cfg.identity, classes=classes))
    classes = list(cfg.identity.classes or []) if cfg.kind.is_identity else []
    if cfg.kind.is_cropped:
        crop_size = crop_size_of(cfg, [s.instances for s in samples], names)
        if crop_size is None:
            raise NoExamplesError("No labeled instances to compute the crop size from.")
    images: list[np.ndarray] = []
    maps: list[np.ndarray] = []
    fields: list[np.ndarray] = []
    class_maps: list[np.ndarray] = []
    crop_classes: list[str | None] = []
    limbs = limbs_of(cfg, names, project.edges)  # the tips a centered-instance model bends
    order = rng.permutation(len(usable))
    attempts = 0
    while len(images) < n and attempts < 4 * n + len(usable):
        s = usable[order[attempts % len(order)]]
        attempts += 1
        frame = project.frame(s.video_index, s.frame_index)
        kw = {"rng": rng, "augment": True, "node_names": names, "symmetry": symmetry}
        if cfg.kind is ModelKind.CENTROID:
            pairs = [centroid_example(frame, s.instances, cfg, **kw)]
        elif cfg.kind is ModelKind.SINGLE_INSTANCE:
            pairs = [single_instance_example(frame, s.instances, cfg, **kw)]
        elif cfg.kind is ModelKind.MULTI_INSTANCE:
            window = train_crop_size_for(cfg, frame.shape[:2])  # the training windows, as the engine cuts them
            img, cm, paf = bottom_up_example(
                frame, s.instances, cfg, skeleton_edges=project.edges, crop_size=window, **kw
            )
            pairs = [(img, cm)]
            fields.append(paf)
        elif cfg.kind is ModelKind.MULTI_CLASS_BOTTOMUP:
            ids = class_indices(s.track_ids, track_names, classes)
            img, cm, maps_and_weight = bottom_up_id_example(frame, s.instances, ids, cfg, **kw)
            pairs = [(img, cm)]
            class_maps.append(maps_and_weight[..., :-1])  # the last channel is the loss weight
        elif cfg.kind is ModelKind.MULTI_CLASS_TOPDOWN:
            ids = class_indices(s.track_ids, track_names, classes)
            triples = top_down_id_examples(frame, s.instances, ids, cfg, crop_size, **kw)[: n - len(images)]
            pairs = [(img, cm) for img, cm, _ in triples]
            crop_classes += [_class_name(vector, classes) for _, _, vector in triples]
        else:
            pairs = centered_instance_examples(frame, s.instances, cfg, crop_size, limbs=limbs, **kw)
        for img, cm in pairs[: n - len(images)]:
            images.append(img)
            maps.append(cm.max(axis=-1) if cm.shape[-1] else np.zeros(cm.shape[:2], np.float32))
    if not images:
        raise NoExamplesError("No training example could be made from the labeled frames.")
    return ExampleStack(
        kind=cfg.kind,
        images=_pad_stack(images),
        confmaps=_pad_stack(maps),
        output_stride=cfg.model.output_stride,
        input_scaling=cfg.data.input_scaling,
        crop_size=crop_size,
        pafs=_pad_stack(fields) if fields else None,
        paf_stride=cfg.pafs.output_stride if fields else None,
        classes=classes,
        class_maps=_pad_stack(class_maps) if class_maps else None,
        class_stride=cfg.identity.output_stride if class_maps else None,
        example_classes=crop_classes if cfg.kind is ModelKind.MULTI_CLASS_TOPDOWN else None,
    )


def _class_name(vector: np.ndarray, classes: list[str]) -> str | None:
    """The class a one-hot class vector (last entry: its loss weight) names; ``None`` for no class."""
    if not len(classes) or vector[-1] == 0:
        return None
    index = int(np.argmax(vector[:-1]))
    return classes[index] if index != NO_CLASS else None


def pipeline_examples(project, pipeline: PipelineConfig, n: int = 8, seed: int = 0) -> list[ExampleStack]:
    """Examples of every model of the pipeline, in training order.

    Raises
    ------
    NoExamplesError
        See :func:`model_examples`.
    DataError
        A setting makes examples impossible (message says which).
    """
    project.sync()
    samples = collect_samples(project.labels)
    out = []
    for cfg in pipeline.trained_models().values():
        try:
            out.append(model_examples(project, cfg, n=n, seed=seed, samples=samples))
        except DataError as exc:
            raise DataError(f"{cfg.kind.value.replace('_', ' ')} model: {exc}") from exc
    return out
