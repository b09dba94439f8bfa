"""Articulated augmentation: bend each limb of a training crop to a new pose.

Augmentation that only turns, scales and mirrors the whole animal shows the
network the labeled poses and no others, and a new recording is mostly other
poses (``evaluate.novelty``). This module moves the *tips* of the skeleton
(its leaf nodes: leg tips, wing tips, a tail) about the node they hang from:
each tip turns by a random angle about its parent and its distance to the
parent changes by a random share. The image follows with a smooth warp that
carries the pixels around each tip with it, so the limb's end bends to its new
place while the body and the parent stay where they are.

The warp is a backward map ``out(x) = in(x + b(x))``, ``b`` a sum of Gaussian
bumps, one per moved tip, centred on the tip's new place with a width of a
third of its limb (narrow enough that the parent barely moves). It is kept
one-to-one (no folds) by capping the field's slope, and every keypoint, moved
tip or not, is carried through the same field (solved by fixed-point
iteration), so each label stays on its own image feature.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

#: largest slope of the warp field; below 1 the warp never folds the image
MAX_SLOPE = 0.8
#: width of a tip's bump, as a share of its limb's length
BUMP_WIDTH = 0.35
_MAX_ITERATIONS = 200
_TOLERANCE = 1e-6  # pixels


def limb_pairs(node_names: Sequence[str], edges: Sequence[tuple[str, str]], anchor: int | None = None) -> np.ndarray:
    """``(m, 2)`` node indices ``(tip, parent)`` of the skeleton's limbs.

    A tip is a node with exactly one edge; its parent is the node at the other
    end. The anchor node is never a tip (it is the crop's centre), nor is a tip
    whose parent is itself a tip (a two-node skeleton has no body to bend
    about).
    """
    index = {n: i for i, n in enumerate(node_names)}
    neighbours: dict[int, set[int]] = {i: set() for i in range(len(node_names))}
    for a, b in edges:
        if a in index and b in index and a != b:
            neighbours[index[a]].add(index[b])
            neighbours[index[b]].add(index[a])
    pairs = []
    for node, near in neighbours.items():
        if len(near) != 1 or node == anchor:
            continue
        (parent,) = near
        if len(neighbours[parent]) > 1:
            pairs.append((node, parent))
    return np.array(pairs, dtype=int).reshape(-1, 2)


@dataclass(frozen=True)
class LimbBumps:
    """The warp field of one sample: Gaussian bumps and their common scale.

    ``b(x) = scale * sum_k shifts[k] * exp(-|x - centres[k]|^2 / (2 widths[k]^2))``.
    """

    centres: np.ndarray  # (m, 2) xy where each tip goes
    shifts: np.ndarray  # (m, 2) backward shift at the centre: old tip place - new
    widths: np.ndarray  # (m,)
    scale: float = 1.0

    def field(self, xy: np.ndarray) -> np.ndarray:
        """``b`` at ``(..., 2)`` points."""
        d = xy[..., None, :] - self.centres  # (..., m, 2)
        w = np.exp(-np.sum(d * d, axis=-1) / (2.0 * self.widths**2))  # (..., m)
        return self.scale * np.einsum("...m,mc->...c", w, self.shifts)


def draw_bumps(
    points: np.ndarray,
    limbs: np.ndarray,
    max_angle: float,
    max_stretch: float,
    rng: np.random.Generator,
) -> LimbBumps | None:
    """Random new places for the limb tips of one instance (``None``: nothing to move).

    Parameters
    ----------
    points
        ``(k, 2)`` xy of the instance (NaN: not labeled).
    limbs
        From :func:`limb_pairs`.
    max_angle
        Largest turn of a tip about its parent, degrees.
    max_stretch
        Largest change of a limb's length, as a share of it.
    """
    centres, shifts, widths = [], [], []
    for tip, parent in np.asarray(limbs, dtype=int).reshape(-1, 2):
        p, a = points[tip], points[parent]
        v = p - a
        length = float(np.hypot(*v))
        if not (np.isfinite(length) and length > 1.0):
            continue
        t = np.deg2rad(rng.uniform(-max_angle, max_angle))
        stretch = 1.0 + rng.uniform(-max_stretch, max_stretch)
        c, s = np.cos(t), np.sin(t)
        new = a + stretch * np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])
        width = BUMP_WIDTH * length
        move = new - p
        norm = float(np.hypot(*move))
        if norm > width:  # one bump alone stays one-to-one (slope <= 1 / sqrt(e))
            move *= width / norm
            new = p + move
        centres.append(new)
        shifts.append(-move)
        widths.append(width)
    if not centres:
        return None
    return LimbBumps(np.array(centres), np.array(shifts), np.array(widths))


def _grid_field(bumps: LimbBumps, height: int, width: int) -> tuple[np.ndarray, float]:
    """``b`` on the pixel grid, ``(H, W, 2)``, and its largest slope.

    Each bump is the outer product of a Gaussian in x and one in y, so the
    field and its derivatives are small matrix products.
    """
    xs = np.arange(width, dtype=np.float64)
    ys = np.arange(height, dtype=np.float64)
    w2 = bumps.widths[:, None] ** 2
    dx = xs[None, :] - bumps.centres[:, :1]  # (m, W)
    dy = ys[None, :] - bumps.centres[:, 1:]  # (m, H)
    gx, gy = np.exp(-(dx**2) / (2 * w2)), np.exp(-(dy**2) / (2 * w2))
    gx_d, gy_d = -dx / w2 * gx, -dy / w2 * gy  # d/dx, d/dy of the two factors
    field = np.empty((height, width, 2))
    slope2 = np.zeros((height, width))
    for c in range(2):
        s = bumps.scale * bumps.shifts[:, c : c + 1]
        field[..., c] = gy.T @ (s * gx)
        slope2 += (gy.T @ (s * gx_d)) ** 2 + (gy_d.T @ (s * gx)) ** 2
    return field, float(np.sqrt(slope2.max()))


def _capped(bumps: LimbBumps, height: int, width: int) -> tuple[LimbBumps, np.ndarray]:
    """Scale the bumps so the field's slope stays under :data:`MAX_SLOPE`; the source of every pixel."""
    b, slope = _grid_field(bumps, height, width)
    if slope > MAX_SLOPE:
        k = MAX_SLOPE / slope
        bumps = LimbBumps(bumps.centres, bumps.shifts, bumps.widths, bumps.scale * k)
        b = b * k
    ys, xs = np.mgrid[0:height, 0:width]
    return bumps, np.stack([xs, ys], axis=-1) + b


def carry_points(points: np.ndarray, bumps: LimbBumps) -> np.ndarray:
    """Where the warp takes ``(..., 2)`` points: the ``q`` with ``q + b(q) = p`` (NaN stays NaN)."""
    p = np.asarray(points, dtype=np.float64)
    q = p.copy()
    ok = np.isfinite(p).all(axis=-1)
    for _ in range(_MAX_ITERATIONS):  # a contraction: the field's slope is below 1
        new = p[ok] - bumps.field(q[ok])
        done = np.abs(new - q[ok]).max(initial=0.0) < _TOLERANCE
        q[ok] = new
        if done:
            break
    return q


def warp_limbs(
    image: np.ndarray,
    points: np.ndarray,
    limbs: np.ndarray,
    max_angle: float,
    max_stretch: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Bend the limbs of one instance in a crop.

    Parameters
    ----------
    image
        ``(H, W, C)`` float crop.
    points
        ``(k, 2)`` xy of every node in crop pixels; all are carried through
        the warp.
    limbs, max_angle, max_stretch, rng
        See :func:`draw_bumps`.

    Returns
    -------
    image, points
        The warped crop (same shape; pixels from outside are 0) and the
        points in it.
    """
    bumps = draw_bumps(np.asarray(points, dtype=np.float64), limbs, max_angle, max_stretch, rng)
    if bumps is None:
        return image, np.asarray(points, dtype=np.float64)
    h, w = image.shape[:2]
    bumps, source = _capped(bumps, h, w)
    maps = source.astype(np.float32)
    out = cv2.remap(
        np.ascontiguousarray(image),
        maps[..., 0],
        maps[..., 1],
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    if image.ndim == 3 and out.ndim == 2:
        out = out[..., None]
    return out, carry_points(points, bumps)
