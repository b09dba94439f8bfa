"""Random training crops of bottom-up models: windows of the whole-frame example.

A bottom-up network is fully convolutional, so it can learn from windows of
the frame and still predict on whole frames. On a CPU that matters: a 192 px
window of a 512 px input costs about a seventh of the whole frame per step,
so many more animals are seen in the same time. A crop here is *exactly* a
window of :func:`~.training_inputs.bottom_up_example`'s arrays for the same
augmentation: the frame is warped (augmentation and the crop's shift in one
warp), cut to the window, resized like the whole frame, and the targets are
made for the window's grid. The window's corner lies on the network's
``max_stride`` grid of the scaled frame (when ``max_stride / input_scaling``
is a whole number of original pixels), so confidence maps and part affinity
fields of the window are the whole frame's, sliced; an instance partly
outside the window keeps its parts and field pieces inside it.

Where the window goes: usually around a labeled animal (the mean of its
visible points after augmentation, moved by up to a quarter of the window
either way), sometimes (``background_fraction``) anywhere in the frame, so
the network also sees empty floor and frame edges. Windows are kept inside
the frame where the frame is larger than the window.
"""

from __future__ import annotations

import numpy as np

from ..config.model import TrainingConfig
from .augmentation import (
    AugmentParams,
    apply_photometric,
    augmentation_matrix,
    flip_nodes,
    transform_points,
    warp_image,
)
from .confmaps import confidence_maps
from .crops import crop_network_size
from .image import convert_channels, to_float255
from .pafs import part_affinity_fields
from .scaling import padded_shape, resize, scale_points, scaled_shape

#: Fraction of crops placed anywhere in the frame rather than around an animal.
BACKGROUND_FRACTION = 0.15


def crop_grid_step(input_scaling: float, max_stride: int) -> int:
    """Step (original pixels) of the window corners: one network ``max_stride`` when whole, else 1."""
    step = max_stride / float(input_scaling)
    return int(round(step)) if abs(step - round(step)) < 1e-6 and step >= 1 else 1


def window_origin(
    points: np.ndarray,
    frame_hw: tuple[int, int],
    side: int,
    step: int,
    rng: np.random.Generator,
    background_fraction: float = BACKGROUND_FRACTION,
) -> tuple[int, int]:
    """Top-left ``(x0, y0)`` (original pixels, multiples of ``step``) of a training window.

    Parameters
    ----------
    points
        ``(n, k, 2)`` augmented xy of the frame's instances (NaN = missing).
    frame_hw
        Frame height and width.
    side
        Window side in original pixels.
    step
        Grid of the corners (:func:`crop_grid_step`).
    rng
        Random generator.
    background_fraction
        Chance of a window placed anywhere instead of around an animal.
    """
    h, w = frame_hw
    seen = [p[np.isfinite(p).all(axis=1)] for p in np.asarray(points, dtype=np.float64)]
    seen = [p for p in seen if len(p)]
    if seen and rng.random() >= background_fraction:
        centre = seen[int(rng.integers(len(seen)))].mean(axis=0) + rng.uniform(-side / 4, side / 4, size=2)
    else:
        centre = rng.uniform([0.0, 0.0], [w, h])
    origin = []
    for c, size in zip(centre, (w, h)):
        lo = (c - side / 2.0) if size > side else 0.0
        lo = min(max(lo, 0.0), max(size - side, 0))
        origin.append(int(np.floor(lo / step)) * step)
    return origin[0], origin[1]


def bottom_up_crop_example(
    image: np.ndarray,
    points: np.ndarray,
    params: AugmentParams,
    cfg: TrainingConfig,
    parts: np.ndarray,
    edges: np.ndarray,
    rng: np.random.Generator,
    crop_size: int,
    symmetry: np.ndarray | None = None,
    origin: tuple[int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Input window, confidence maps and part affinity fields of one training crop.

    Parameters
    ----------
    image
        ``(H, W[, C])`` frame (uint8).
    points
        ``(n, k, 2)`` xy of the frame's instances (original pixels, NaN = missing).
    params
        The sample's :class:`~.augmentation.AugmentParams`.
    cfg
        Bottom-up config (input scaling, strides, sigmas).
    parts, edges
        Predicted node indices and ``(m, 2)`` field edges into ``parts``.
    rng
        Random generator of the window's place.
    crop_size
        Window side in original pixels (``cfg.optimization.train_crop_size``).
    symmetry
        Left/right node permutation for flips.
    origin
        Top-left of the window in the augmented frame (original pixels); ``None``
        picks one (:func:`window_origin`).

    Returns
    -------
    image, confmaps, pafs
        ``(S, S, C)`` float32 in ``[0, 1]`` with ``S`` the window's network side
        (:func:`~.crops.crop_network_size`, a multiple of ``max_stride``), and
        the targets on the window's grids.
    """
    s = float(cfg.data.input_scaling)
    net = crop_network_size(crop_size, s, cfg.model.max_stride)
    side = int(round(net / s))  # the window in original pixels: resized, it is net pixels
    img = convert_channels(image, cfg.data.ensure_rgb, cfg.data.ensure_grayscale)
    h, w = img.shape[:2]
    aug = np.eye(3) if params.is_geometric_identity else augmentation_matrix(params, h, w)
    pts = flip_nodes(transform_points(np.asarray(points, dtype=np.float64), aug), params, symmetry)
    if origin is None:
        origin = window_origin(pts, (h, w), side, crop_grid_step(s, cfg.model.max_stride), rng)
    x0, y0 = origin
    shift = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0], [0.0, 0.0, 1.0]])
    window = warp_image(img, shift @ aug, side, side)
    # the whole-frame example is warped into the frame's own size: nothing beyond its edges
    window[max(h - y0, 0) :] = 0
    window[:, max(w - x0, 0) :] = 0
    window = resize(window, s)
    out = np.zeros((net, net, window.shape[2]), np.float32)
    hh, ww = min(net, window.shape[0]), min(net, window.shape[1])
    out[:hh, :ww] = apply_photometric(to_float255(window[:hh, :ww]), params) * np.float32(1.0 / 255.0)
    q = scale_points(transform_points(pts, shift), s)[:, np.asarray(parts, dtype=int)]
    cm = confidence_maps(q, net, net, cfg.head.sigma, cfg.model.output_stride)
    pafs = part_affinity_fields(q, edges, net, net, cfg.pafs.sigma, cfg.pafs.output_stride)
    return out, cm, pafs


def train_crop_side(cfg: TrainingConfig, input_hw: tuple[int, int]) -> int | None:
    """Network side of the training windows of ``cfg`` for whole-frame inputs of ``input_hw``.

    ``None`` (train on whole frames) without ``cfg.optimization.train_crop_size``
    or when the window would be as large as the input (it would only add
    empty padding).
    """
    size = cfg.optimization.train_crop_size
    if size is None:
        return None
    side = crop_network_size(size, cfg.data.input_scaling, cfg.model.max_stride)
    return side if side < min(input_hw) else None


def train_crop_size_for(cfg: TrainingConfig, frame_hw: tuple[int, int]) -> int | None:
    """``cfg.optimization.train_crop_size`` when a frame of ``frame_hw`` trains on windows, else ``None``."""
    hw = padded_shape(*scaled_shape(*frame_hw, cfg.data.input_scaling), cfg.model.max_stride)
    return cfg.optimization.train_crop_size if train_crop_side(cfg, hw) is not None else None
