"""Frame layout and intensity helpers shared by the training inputs."""

from __future__ import annotations

import numpy as np

from .errors import DataError

# ITU-R 601 luma weights, as used by most grayscale conversions
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def as_hwc(image: np.ndarray) -> np.ndarray:
    """Return the frame as ``(H, W, C)`` (adds a channel axis to ``(H, W)``)."""
    img = np.asarray(image)
    if img.ndim == 2:
        return img[..., None]
    if img.ndim != 3 or img.shape[2] not in (1, 3, 4):
        raise DataError(f"expected an (H, W), (H, W, 1) or (H, W, 3) image, got shape {img.shape}")
    return img[..., :3] if img.shape[2] == 4 else img


def convert_channels(image: np.ndarray, ensure_rgb: bool = False, ensure_grayscale: bool = False) -> np.ndarray:
    """Make an ``(H, W, C)`` frame three-channel or one-channel as the config asks."""
    img = as_hwc(image)
    if ensure_rgb and img.shape[2] == 1:
        return np.repeat(img, 3, axis=2)
    if ensure_grayscale and img.shape[2] == 3:
        gray = img.astype(np.float32) @ _LUMA
        if np.issubdtype(img.dtype, np.integer):
            gray = np.rint(gray)
        return gray.astype(img.dtype)[..., None]
    return img


def to_float255(image: np.ndarray) -> np.ndarray:
    """Float32 copy in 0..255 units (uint8 as is, other ints by their range, floats as 0..1)."""
    img = np.asarray(image)
    if img.dtype == np.uint8:
        return img.astype(np.float32)
    if np.issubdtype(img.dtype, np.integer):
        return img.astype(np.float32) * (255.0 / np.iinfo(img.dtype).max)
    return img.astype(np.float32) * 255.0
