"""Synthetic crossing animals: textured blobs on a flat background, and their points."""

from __future__ import annotations

import cv2
import numpy as np

#: Half side of each blob's square (pixels).
HALF = 12
#: Frame size.
H, W = 160, 320


def crossing_paths(n_frames: int = 8, speed: float = 36.0, dy: float = 28.0) -> np.ndarray:
    """``(n_frames, 2, 2)`` centres of two animals that pass each other.

    Animal 0 moves right along ``y = 65``, animal 1 moves left along
    ``y = 65 + dy``; they are level half-way between the two middle frames, where
    the other animal's last position (``dy`` away) is nearer than one's own
    (``speed`` away), so matching each instance to the nearest earlier one swaps them.
    """
    t = np.arange(n_frames) - (n_frames - 1) / 2
    cx = W / 2
    a = np.stack([cx + speed * t, np.full(n_frames, 65.0)], axis=1)
    b = np.stack([cx - speed * t, np.full(n_frames, 65.0 + dy)], axis=1)
    return np.stack([a, b], axis=1)


def instance_points(centres: np.ndarray) -> np.ndarray:
    """``(..., 2 nodes, 2)``: a node 6 px left and one 6 px right of each centre."""
    off = np.array([[-HALF / 2, 0.0], [HALF / 2, 0.0]])
    return centres[..., None, :] + off


def render(centres: np.ndarray, seed: int = 0) -> np.ndarray:
    """``(n_frames, H, W)`` uint8 frames: each animal a bright blob with its own smooth texture.

    The texture is blurred noise under a Gaussian envelope, so the coarse
    levels of the flow pyramid still see structure.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[-HALF:HALF, -HALF:HALF] + 0.5
    envelope = np.exp(-(xx**2 + yy**2) / (2 * (0.6 * HALF) ** 2))
    textures = []
    for _ in range(centres.shape[1]):
        noise = cv2.GaussianBlur(rng.random((2 * HALF, 2 * HALF)), (0, 0), 2.0)
        noise = (noise - noise.min()) / (np.ptp(noise) + 1e-9)
        textures.append((20 + 230 * envelope * (0.4 + 0.6 * noise)).astype(np.uint8))
    frames = np.full((len(centres), H, W), 20, np.uint8)
    for f, cs in enumerate(centres):
        for tex, (x, y) in zip(textures, cs):
            x0, y0 = int(round(x)) - HALF, int(round(y)) - HALF
            xs0, ys0 = max(x0, 0), max(y0, 0)
            xs1, ys1 = min(x0 + 2 * HALF, W), min(y0 + 2 * HALF, H)
            if xs1 > xs0 and ys1 > ys0:
                region = frames[f, ys0:ys1, xs0:xs1]
                frames[f, ys0:ys1, xs0:xs1] = np.maximum(region, tex[ys0 - y0 : ys1 - y0, xs0 - x0 : xs1 - x0])
    return frames
