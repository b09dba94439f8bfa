"""Random augmentation of training samples (SLEAP 1.4's set), numpy + OpenCV.

Geometry (rotation, scale, flip) is one affine transform about the image
centre ``((W - 1) / 2, (H - 1) / 2)`` applied to the image with
``cv2.warpAffine`` and to the points with the same matrix, so keypoints stay
on their image features. Uncovered pixels are filled with 0, as SLEAP does.
Photometric operations work in 0..255 intensity units like SLEAP's settings:

- uniform noise: a value from ``U(min, max)`` added to every pixel;
- gaussian noise: ``N(mean, stddev)`` added to every pixel;
- contrast: gamma ``255 * (I / 255) ** gamma``;
- brightness: one value from ``U(min, max)`` added to the image.

All randomness comes from :func:`sample_params`'s ``rng`` (noise is drawn from
a seed stored in the parameters), so a seeded ``rng`` reproduces a sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..config.model import AugmentationConfig


@dataclass
class AugmentParams:
    """One random draw of augmentation settings.

    Attributes
    ----------
    angle
        Rotation in degrees, counter-clockwise as displayed (y axis down).
    scale
        Zoom factor about the image centre (> 1 enlarges).
    flip_horizontal, flip_vertical
        Mirror left/right or top/bottom. Symmetric nodes are swapped when a
        symmetry permutation is given to :func:`augment`.
    uniform_noise
        ``(min, max)`` of per-pixel uniform noise, or ``None``.
    gaussian_noise
        ``(mean, stddev)`` of per-pixel gaussian noise, or ``None``.
    gamma
        Contrast gamma (1 leaves the image unchanged).
    brightness
        Intensity added to every pixel (0..255 units).
    noise_seed
        Seed of the per-pixel noise.
    """

    angle: float = 0.0
    scale: float = 1.0
    flip_horizontal: bool = False
    flip_vertical: bool = False
    uniform_noise: tuple[float, float] | None = None
    gaussian_noise: tuple[float, float] | None = None
    gamma: float = 1.0
    brightness: float = 0.0
    noise_seed: int = 0

    @property
    def flipped(self) -> bool:
        """True when the sample is mirrored (an odd number of flips)."""
        return self.flip_horizontal != self.flip_vertical

    @property
    def is_geometric_identity(self) -> bool:
        """True when the geometry is unchanged."""
        return self.angle == 0 and self.scale == 1 and not self.flip_horizontal and not self.flip_vertical

    @property
    def is_photometric_identity(self) -> bool:
        """True when intensities are unchanged."""
        return self.uniform_noise is None and self.gaussian_noise is None and self.gamma == 1 and self.brightness == 0


def sample_params(cfg: AugmentationConfig, rng: np.random.Generator) -> AugmentParams:
    """Draw augmentation settings for one sample.

    Rotation is uniform in ``[-rotation_max_angle, rotation_max_angle]``,
    scale uniform in ``[scale_min, scale_max]``, flips happen with
    probability 1/2 (horizontal or vertical per ``flip_horizontal``), gamma is
    uniform in ``[contrast_min_gamma, contrast_max_gamma]`` and brightness
    uniform in ``[brightness_min, brightness_max]``. Disabled options keep
    their identity value.
    """
    p = AugmentParams()
    if cfg.rotate:
        m = abs(float(cfg.rotation_max_angle))
        p.angle = float(rng.uniform(-m, m))
    if cfg.scale:
        p.scale = float(rng.uniform(cfg.scale_min, cfg.scale_max))
    if cfg.flip and rng.random() < 0.5:
        if cfg.flip_horizontal:
            p.flip_horizontal = True
        else:
            p.flip_vertical = True
    if cfg.uniform_noise:
        p.uniform_noise = (float(cfg.uniform_noise_min), float(cfg.uniform_noise_max))
    if cfg.gaussian_noise:
        p.gaussian_noise = (float(cfg.gaussian_noise_mean), float(cfg.gaussian_noise_stddev))
    if cfg.contrast:
        p.gamma = float(rng.uniform(cfg.contrast_min_gamma, cfg.contrast_max_gamma))
    if cfg.brightness:
        p.brightness = float(rng.uniform(cfg.brightness_min, cfg.brightness_max))
    p.noise_seed = int(rng.integers(0, 2**31 - 1))
    return p


def augmentation_matrix(params: AugmentParams, height: int, width: int) -> np.ndarray:
    """3x3 matrix mapping frame xy to augmented-frame xy (about the image centre)."""
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    a = np.deg2rad(params.angle)
    c, s = np.cos(a) * params.scale, np.sin(a) * params.scale
    flip = np.diag([-1.0 if params.flip_horizontal else 1.0, -1.0 if params.flip_vertical else 1.0, 1.0])
    rot = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])  # counter-clockwise on screen
    to_origin = np.array([[1.0, 0.0, -cx], [0.0, 1.0, -cy], [0.0, 0.0, 1.0]])
    back = np.array([[1.0, 0.0, cx], [0.0, 1.0, cy], [0.0, 0.0, 1.0]])
    return back @ rot @ flip @ to_origin


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2x3 or 3x3 affine matrix to ``(..., 2)`` xy points (NaN stays NaN)."""
    p = np.asarray(points, dtype=np.float64)
    m = np.asarray(matrix, dtype=np.float64)
    return p @ m[:2, :2].T + m[:2, 2]


def warp_image(image: np.ndarray, matrix: np.ndarray, height: int, width: int) -> np.ndarray:
    """Warp a frame by an affine matrix into a ``height x width`` image, zero outside.

    Keeps the channel axis for single-channel images.
    """
    out = cv2.warpAffine(
        image,
        np.asarray(matrix, dtype=np.float64)[:2],
        (int(width), int(height)),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    if image.ndim == 3 and out.ndim == 2:
        out = out[..., None]
    return out


def apply_photometric(image: np.ndarray, params: AugmentParams) -> np.ndarray:
    """Intensity augmentation of a float image in 0..255 units (result clipped to 0..255)."""
    img = np.asarray(image, dtype=np.float32)
    if params.is_photometric_identity:
        return img
    rng = np.random.default_rng(params.noise_seed)
    if params.uniform_noise is not None:
        lo, hi = params.uniform_noise
        img = img + (np.float32(lo) + np.float32(hi - lo) * rng.random(size=img.shape, dtype=np.float32))
    if params.gaussian_noise is not None:
        mean, std = params.gaussian_noise
        img = img + (np.float32(mean) + np.float32(std) * rng.standard_normal(size=img.shape, dtype=np.float32))
    if params.gamma != 1:
        img = 255.0 * np.power(np.clip(img, 0.0, 255.0) / 255.0, np.float32(params.gamma))
    if params.brightness:
        img = img + np.float32(params.brightness)
    return np.clip(img, 0.0, 255.0).astype(np.float32, copy=False)


def flip_nodes(points: np.ndarray, params: AugmentParams, symmetry: np.ndarray | None) -> np.ndarray:
    """Swap symmetric nodes (left <-> right) of ``(..., k, 2)`` points when the sample is mirrored."""
    if symmetry is None or not params.flipped:
        return points
    return np.asarray(points)[..., np.asarray(symmetry), :]


def augment(
    image: np.ndarray,
    points: np.ndarray,
    params: AugmentParams,
    symmetry: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Augment a frame and its keypoints.

    Parameters
    ----------
    image
        ``(H, W, C)`` or ``(H, W)`` frame, uint8 (0..255) or float (0..255 units).
    points
        ``(..., 2)`` xy points in frame pixels; with a ``symmetry`` they must
        be ``(..., k, 2)``.
    params
        From :func:`sample_params`.
    symmetry
        Node permutation swapping symmetric nodes, applied when the sample is
        mirrored (see :func:`~.labels.symmetry_permutation`).

    Returns
    -------
    image, points
        Image of the same shape and dtype (uint8 is rounded and clipped) and
        float64 points in augmented-frame pixels.
    """
    h, w = image.shape[:2]
    out = image
    pts = np.asarray(points, dtype=np.float64)
    if not params.is_geometric_identity:
        m = augmentation_matrix(params, h, w)
        out = warp_image(image, m, h, w)
        pts = flip_nodes(transform_points(pts, m), params, symmetry)
    if not params.is_photometric_identity:
        f = apply_photometric(out, params)
        out = np.rint(f).astype(image.dtype) if np.issubdtype(image.dtype, np.integer) else f.astype(image.dtype)
    return out, pts
