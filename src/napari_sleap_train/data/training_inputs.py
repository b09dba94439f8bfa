"""Network inputs and targets of one labeled frame, for every model kind.

The engine trains on exactly these arrays and the widget's "View Training
Image Inputs" shows exactly these, so the geometry lives in one place:

- **centroid**: the frame (augmented about its centre), resized by
  ``input_scaling``, zero-padded to a multiple of ``max_stride``; target is
  one channel of Gaussians on every instance anchor.
- **centered instance**: for each instance, a square crop centred on its
  anchor covering ``effective_crop_size`` original pixels, resized by
  ``input_scaling`` to ``crop_network_size`` pixels; target is one channel
  per node of *that* instance.
- **single instance**: the whole frame as for the centroid model; target is
  one channel per node (maximum over instances if more than one is labeled).
- **multi instance** (bottom-up): the whole frame as for the centroid model;
  targets are one confidence-map channel per node (maximum over instances)
  and the part affinity fields of the edges (:mod:`.pafs`), each on its own
  output stride.

Images come out float32 in ``[0, 1]``, ``(h, w, C)``; confidence maps float32
``(h / output_stride, w / output_stride, channels)``. ``sigma`` is in network
input pixels (after scaling), as in SLEAP. Augmentation is drawn once per
frame (all crops of a frame share it) and anchors are computed on the
augmented points.

Pass the skeleton's ``node_names`` when the head names an anchor part or
restricts ``part_names``, and a ``symmetry`` permutation to swap left/right
nodes on flips (see :mod:`.labels`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..config.model import ModelKind, TrainingConfig
from .anchors import anchor_points
from .augmentation import (
    AugmentParams,
    apply_photometric,
    augmentation_matrix,
    flip_nodes,
    sample_params,
    transform_points,
    warp_image,
)
from .confmaps import centroid_map, confidence_maps
from .crops import auto_crop_size, crop_network_size
from .errors import DataError
from .image import as_hwc, convert_channels, to_float255
from .labels import node_index
from .limb_warp import limb_pairs, warp_limbs
from .pafs import edge_indices, part_affinity_fields
from .scaling import pad_to_stride, resize, scale_points
from .train_crops import bottom_up_crop_example


@dataclass
class InstanceCrop:
    """One centered-instance example with its geometry.

    Attributes
    ----------
    image
        ``(N, N, C)`` float32 network input in ``[0, 1]``.
    confmaps
        ``(N / output_stride, N / output_stride, k)`` float32 targets.
    points
        ``(k, 2)`` node xy in crop (network input) pixels, NaN = missing.
    matrix
        ``(3, 3)`` affine from original frame xy to crop xy (includes the
        augmentation); invert it to map crop predictions back to the frame.
    instance_index
        Row of ``instances`` this crop was made from.
    """

    image: np.ndarray
    confmaps: np.ndarray
    points: np.ndarray
    matrix: np.ndarray
    instance_index: int


def anchor_index_of(cfg: TrainingConfig, node_names: Sequence[str] | None) -> int | None:
    """Index of ``cfg.head.anchor_part`` in ``node_names`` (``None``: bounding-box midpoint)."""
    if cfg.head.anchor_part is None:
        return None
    if node_names is None:
        raise DataError(f"anchor part {cfg.head.anchor_part!r} is set: pass the skeleton's node names")
    return node_index(list(node_names), cfg.head.anchor_part)


def limbs_of(cfg: TrainingConfig, node_names: Sequence[str], edges: Sequence[tuple[str, str]]) -> np.ndarray | None:
    """The ``(tip, parent)`` pairs a model's augmentation bends, ``None`` when it bends none.

    Only centered-instance models bend limbs (``limb_angle`` / ``limb_stretch``);
    the anchor part is never a tip (see :func:`~.limb_warp.limb_pairs`).
    """
    if cfg.kind is not ModelKind.CENTERED_INSTANCE or not cfg.augmentation.bends_limbs:
        return None
    return limb_pairs(node_names, edges, anchor_index_of(cfg, node_names))


def auto_crop_size_for(
    cfg: TrainingConfig, instances_list: Sequence[np.ndarray], node_names: Sequence[str] | None = None
) -> int:
    """Auto crop side (original pixels) a centered-instance model trains with.

    The one place that turns a config into :func:`~napari_sleap_train.data.crops.auto_crop_size`
    arguments, so the crop boxes drawn in napari are the crops the engine cuts:
    padding from the config, rotation and scale only when those augmentations
    are on, and sized around the anchor part when one is set (a crop centred on
    an off-centre anchor must still hold the whole animal).
    """
    aug = cfg.augmentation
    return auto_crop_size(
        instances_list,
        input_scaling=cfg.data.input_scaling,
        max_stride=cfg.model.max_stride,
        padding=cfg.data.crop_padding,
        max_rotation_deg=aug.max_rotation,
        scale_max=aug.scale_max if aug.scale else 1.0,
        anchor_index=anchor_index_of(cfg, node_names),
    )


def part_indices_of(cfg: TrainingConfig, node_names: Sequence[str] | None, n_nodes: int) -> np.ndarray:
    """Node indices predicted by the head (all nodes unless ``cfg.head.part_names`` is set)."""
    if cfg.head.part_names is None:
        return np.arange(n_nodes)
    if node_names is None:
        raise DataError("the head predicts selected part names: pass the skeleton's node names")
    return np.array([node_index(list(node_names), n) for n in cfg.head.part_names], dtype=int)


def _instances(instances: np.ndarray) -> np.ndarray:
    pts = np.asarray(instances, dtype=np.float64)
    if pts.ndim == 2:
        pts = pts[None]
    if pts.ndim != 3 or pts.shape[-1] != 2:
        raise DataError(f"instances must have shape (n, k, 2), got {np.shape(instances)}")
    return pts


def _params(cfg: TrainingConfig, rng: np.random.Generator | None, augment: bool) -> AugmentParams:
    if not augment:
        return AugmentParams()
    return sample_params(cfg.augmentation, rng if rng is not None else np.random.default_rng())


def _whole_frame(
    image: np.ndarray,
    instances: np.ndarray,
    cfg: TrainingConfig,
    params: AugmentParams,
    symmetry: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Augmented, scaled, padded float image in [0, 1] and points in its pixels."""
    img = convert_channels(image, cfg.data.ensure_rgb, cfg.data.ensure_grayscale)
    pts = _instances(instances)
    h, w = img.shape[:2]
    if not params.is_geometric_identity:
        m = augmentation_matrix(params, h, w)
        img = warp_image(img, m, h, w)
        pts = flip_nodes(transform_points(pts, m), params, symmetry)
    img = resize(img, cfg.data.input_scaling)
    pts = scale_points(pts, cfg.data.input_scaling)
    out = apply_photometric(to_float255(img), params) * np.float32(1.0 / 255.0)
    return pad_to_stride(out, cfg.model.max_stride), pts


def centroid_example(
    image: np.ndarray,
    instances: np.ndarray,
    cfg: TrainingConfig,
    rng: np.random.Generator | None = None,
    augment: bool = True,
    *,
    node_names: Sequence[str] | None = None,
    symmetry: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Input image and anchor confidence map of a centroid model.

    Parameters
    ----------
    image
        ``(H, W[, C])`` frame (uint8).
    instances
        ``(n, k, 2)`` xy in original frame pixels, NaN = missing.
    cfg
        Centroid model config (input scaling, max/output stride, sigma,
        anchor part, augmentation).
    rng
        Random generator of the augmentation (a fresh one when ``None``).
    augment
        Apply ``cfg.augmentation``; ``False`` gives the plain input.
    node_names
        Skeleton node names, needed when ``cfg.head.anchor_part`` is set.
    symmetry
        Left/right node permutation for flips.

    Returns
    -------
    image, confmap
        ``(h, w, C)`` float32 in ``[0, 1]`` (``h, w`` multiples of
        ``max_stride``) and ``(h / output_stride, w / output_stride, 1)``.
    """
    anchor = anchor_index_of(cfg, node_names)
    params = _params(cfg, rng, augment)
    img, pts = _whole_frame(image, instances, cfg, params, symmetry)
    anchors = anchor_points(pts, anchor)
    cm = centroid_map(anchors, img.shape[0], img.shape[1], cfg.head.sigma, cfg.model.output_stride)
    return img, cm


def single_instance_example(
    image: np.ndarray,
    instances: np.ndarray,
    cfg: TrainingConfig,
    rng: np.random.Generator | None = None,
    augment: bool = True,
    *,
    node_names: Sequence[str] | None = None,
    symmetry: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Input image and per-node confidence maps of a single-instance model.

    Same input as :func:`centroid_example`; the target has one channel per
    predicted node (``cfg.head.part_names`` or all), maximum over instances.
    """
    pts = _instances(instances)
    parts = part_indices_of(cfg, node_names, pts.shape[1])
    params = _params(cfg, rng, augment)
    img, pts = _whole_frame(image, pts, cfg, params, symmetry)
    cm = confidence_maps(pts[:, parts], img.shape[0], img.shape[1], cfg.head.sigma, cfg.model.output_stride)
    return img, cm


def part_names_of(cfg: TrainingConfig, node_names: Sequence[str]) -> list[str]:
    """Names of the nodes the head predicts, in channel order."""
    return list(node_names) if cfg.head.part_names is None else list(cfg.head.part_names)


def paf_edges_of(
    cfg: TrainingConfig, node_names: Sequence[str] | None, skeleton_edges: Sequence[Sequence[str]] | None
) -> np.ndarray:
    """``(m, 2)`` edge indices into the predicted parts (:func:`part_names_of`).

    The edges are ``cfg.pafs.edges``, or every skeleton edge when that is ``None``.

    Raises
    ------
    DataError
        Node or edge names are needed and missing, or an edge names a node
        the head does not predict.
    """
    if node_names is None:
        raise DataError("bottom-up models need the skeleton's node names")
    names = cfg.pafs.edges if cfg.pafs.edges is not None else skeleton_edges
    if names is None:
        raise DataError("bottom-up models need the skeleton's edges (or edges in the config)")
    return edge_indices(names, part_names_of(cfg, node_names))


def bottom_up_example(
    image: np.ndarray,
    instances: np.ndarray,
    cfg: TrainingConfig,
    rng: np.random.Generator | None = None,
    augment: bool = True,
    *,
    node_names: Sequence[str] | None = None,
    skeleton_edges: Sequence[Sequence[str]] | None = None,
    symmetry: np.ndarray | None = None,
    crop_size: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Input image, confidence maps and part affinity fields of a bottom-up model.

    Same input as :func:`centroid_example`. Both targets are made from the
    augmented points (symmetric nodes already swapped on flips), so the
    fields follow the image. With a ``crop_size`` (original pixels; training
    uses ``cfg.optimization.train_crop_size``) the example is a random window
    of that side of the whole-frame example (:mod:`.train_crops`).

    Returns
    -------
    image, confmaps, pafs
        ``(h, w, C)`` float32 in ``[0, 1]``; ``(h / output_stride, w /
        output_stride, k)`` maps (maximum over instances); ``(h /
        pafs.output_stride, w / pafs.output_stride, 2 m)`` fields.
    """
    pts = _instances(instances)
    parts = part_indices_of(cfg, node_names, pts.shape[1])
    edges = paf_edges_of(cfg, node_names, skeleton_edges)
    params = _params(cfg, rng, augment)
    if crop_size is not None:
        gen = rng if rng is not None else np.random.default_rng()
        return bottom_up_crop_example(image, pts, params, cfg, parts, edges, gen, crop_size, symmetry)
    img, pts = _whole_frame(image, pts, cfg, params, symmetry)
    h, w = img.shape[:2]
    cm = confidence_maps(pts[:, parts], h, w, cfg.head.sigma, cfg.model.output_stride)
    pafs = part_affinity_fields(pts[:, parts], edges, h, w, cfg.pafs.sigma, cfg.pafs.output_stride)
    return img, cm, pafs


def instance_crop_matrix(
    anchor_xy: Sequence[float] | np.ndarray, network_size: int, input_scaling: float
) -> np.ndarray:
    """3x3 affine from frame xy to the xy of a crop centred on ``anchor_xy``.

    The anchor lands on the crop centre ``(N - 1) / 2`` and the frame is
    scaled by ``input_scaling`` about it; use with
    :func:`~.augmentation.warp_image` (``N x N`` output) and invert the
    matrix to map crop predictions back to the frame.
    """
    ax, ay = (float(v) for v in anchor_xy)
    s = float(input_scaling)
    c = (network_size - 1) / 2.0
    return np.array([[s, 0.0, c - s * ax], [0.0, s, c - s * ay], [0.0, 0.0, 1.0]])


def crop_instances(
    image: np.ndarray,
    anchors: np.ndarray,
    crop_size: float,
    input_scaling: float = 1.0,
    max_stride: int = 16,
) -> tuple[np.ndarray, np.ndarray]:
    """Network-input crops around given anchors (inference side of the centered-instance model).

    Parameters
    ----------
    image
        ``(H, W[, C])`` uint8 frame.
    anchors
        ``(n, 2)`` xy anchors in frame pixels (e.g. predicted centroids).
    crop_size
        Crop side in original pixels (``cfg.data.crop_size``).
    input_scaling, max_stride
        Model settings.

    Returns
    -------
    crops, matrices
        ``(n, N, N, C)`` float32 in ``[0, 1]`` and ``(n, 3, 3)`` frame-to-crop
        affines; frame xy of a crop point ``q`` is
        ``transform_points(q, np.linalg.inv(matrices[i]))``.
    """
    img = as_hwc(image)
    n_size = crop_network_size(crop_size, input_scaling, max_stride)
    a = np.asarray(anchors, dtype=np.float64).reshape(-1, 2)
    crops = np.zeros((len(a), n_size, n_size, img.shape[2]), dtype=np.float32)
    mats = np.zeros((len(a), 3, 3))
    for i, anchor in enumerate(a):
        mats[i] = instance_crop_matrix(anchor, n_size, input_scaling)
        crops[i] = to_float255(warp_image(img, mats[i], n_size, n_size))
    crops *= np.float32(1.0 / 255.0)
    return crops, mats


def centered_instance_crops(
    image: np.ndarray,
    instances: np.ndarray,
    cfg: TrainingConfig,
    crop_size: float | None = None,
    rng: np.random.Generator | None = None,
    augment: bool = True,
    *,
    node_names: Sequence[str] | None = None,
    symmetry: np.ndarray | None = None,
    limbs: np.ndarray | None = None,
) -> list[InstanceCrop]:
    """Centered-instance examples of one frame with their geometry (see :class:`InstanceCrop`).

    Parameters
    ----------
    image, instances, rng, augment, node_names, symmetry
        See :func:`centroid_example`.
    cfg
        Centered-instance config.
    crop_size
        Crop side in original pixels; ``None`` uses ``cfg.data.crop_size``.
        Compute it once for the whole dataset with
        :func:`~.crops.auto_crop_size`.
    limbs
        ``(tip, parent)`` node pairs (:func:`~.limb_warp.limb_pairs`) bent by
        the augmentation's ``limb_angle`` / ``limb_stretch`` when augmenting.

    Returns
    -------
    list of InstanceCrop
        One per instance with a finite anchor, in instance order.
    """
    size = crop_size if crop_size is not None else cfg.data.crop_size
    if size is None:
        raise DataError("centered-instance models need a crop size: set one or compute it with auto_crop_size()")
    n_size = crop_network_size(size, cfg.data.input_scaling, cfg.model.max_stride)
    pts = _instances(instances)
    anchor = anchor_index_of(cfg, node_names)
    parts = part_indices_of(cfg, node_names, pts.shape[1])
    params = _params(cfg, rng, augment)
    img = convert_channels(image, cfg.data.ensure_rgb, cfg.data.ensure_grayscale)
    h, w = img.shape[:2]
    aug = augmentation_matrix(params, h, w)
    aug_pts = flip_nodes(transform_points(pts, aug), params, symmetry)
    anchors = anchor_points(aug_pts, anchor)
    jitter = float(cfg.augmentation.anchor_jitter) * float(size) if augment else 0.0
    out: list[InstanceCrop] = []
    for i in np.flatnonzero(np.isfinite(anchors).all(axis=1)):
        center = anchors[i]
        if jitter > 0:
            center = center + (rng if rng is not None else np.random.default_rng()).uniform(-jitter, jitter, 2)
        to_crop = instance_crop_matrix(center, n_size, cfg.data.input_scaling)
        m = to_crop @ aug  # one warp: augmentation, crop and input scaling together
        crop = to_float255(warp_image(img, m, n_size, n_size))
        q = transform_points(aug_pts[i], to_crop)
        if augment and limbs is not None and len(limbs) and cfg.augmentation.bends_limbs:
            a = cfg.augmentation
            crop, q = warp_limbs(crop, q, limbs, a.limb_angle, a.limb_stretch, rng or np.random.default_rng())
        crop = apply_photometric(crop, params) * np.float32(1.0 / 255.0)
        q = q[parts]
        cm = confidence_maps(q, n_size, n_size, cfg.head.sigma, cfg.model.output_stride)
        out.append(InstanceCrop(crop, cm, q, m, int(i)))
    return out


def centered_instance_examples(
    image: np.ndarray,
    instances: np.ndarray,
    cfg: TrainingConfig,
    crop_size: float | None = None,
    rng: np.random.Generator | None = None,
    augment: bool = True,
    *,
    node_names: Sequence[str] | None = None,
    symmetry: np.ndarray | None = None,
    limbs: np.ndarray | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(crop, confmaps)`` pairs of a centered-instance model; see :func:`centered_instance_crops`."""
    crops = centered_instance_crops(
        image, instances, cfg, crop_size, rng, augment, node_names=node_names, symmetry=symmetry, limbs=limbs
    )
    return [(c.image, c.confmaps) for c in crops]
