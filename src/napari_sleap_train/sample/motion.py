"""Smooth, deterministic walking paths for the procedural animals.

Each animal is a simple agent: it walks forward along its heading with a slowly
varying speed, turns with a slowly varying angular velocity (sums of sinusoids
with random frequencies and phases), steers back toward the arena centre when
it looks ahead into a wall, and turns away from animals in front of it, so
overlaps stay rare. The body bends with the turn (curvature = turn rate /
speed) and the tail wags. All randomness comes from one ``numpy`` Generator,
so a seed fixes every path exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .body import keypoints


@dataclass
class Poses:
    """Per-frame pose parameters of every animal.

    All arrays have shape ``(n_frames, n_animals)`` except ``length``
    (``(n_animals,)``).

    Attributes
    ----------
    x, y : np.ndarray
        Trunk position in pixels (x right, y down).
    heading : np.ndarray
        Direction the nose points, radians, ``atan2(dy, dx)`` in image coordinates.
    bend : np.ndarray
        Body curvature in 1/pixels (positive bends toward +heading rotation).
    wag : np.ndarray
        Tail wag amplitude in radians (signed).
    length : np.ndarray
        Nose-to-tail-base length of each animal in pixels.
    """

    x: np.ndarray
    y: np.ndarray
    heading: np.ndarray
    bend: np.ndarray
    wag: np.ndarray
    length: np.ndarray


def _smooth_signal(
    rng: np.random.Generator, t: np.ndarray, n_terms: int, period_range: tuple[float, float]
) -> np.ndarray:
    """Zero-mean, unit-ish amplitude sum of sinusoids with random periods (in frames)."""
    periods = rng.uniform(*period_range, size=n_terms)
    phases = rng.uniform(0, 2 * np.pi, size=n_terms)
    weights = rng.uniform(0.5, 1.0, size=n_terms)
    s = (weights[:, None] * np.sin(2 * np.pi * t[None, :] / periods[:, None] + phases[:, None])).sum(0)
    return s / weights.sum() * np.sqrt(n_terms)


def _wrap(angle: np.ndarray | float) -> np.ndarray | float:
    """Wrap angles to [-pi, pi)."""
    return (np.asarray(angle) + np.pi) % (2 * np.pi) - np.pi


def simulate_poses(
    rng: np.random.Generator,
    n_frames: int,
    n_animals: int,
    height: int,
    width: int,
    body_length: float,
    edge: float = 4.0,
) -> Poses:
    """Simulate smooth walking paths for ``n_animals`` in a ``height x width`` arena.

    Parameters
    ----------
    rng : np.random.Generator
        Source of all randomness (determinism: same state, same paths).
    n_frames, n_animals : int
        Number of frames and animals.
    height, width : int
        Frame size in pixels.
    body_length : float
        Mean nose-to-tail-base length in pixels; each animal varies by +-8 %.
    edge : float
        Every keypoint stays at least this many pixels inside the frame: when a
        step would put one closer, the animal slides along the wall instead.

    Returns
    -------
    Poses
        Pose parameters per frame and animal.
    """
    t = np.arange(n_frames, dtype=np.float64)
    length = body_length * rng.uniform(0.92, 1.08, size=n_animals)
    speed_scale = body_length / 64.0  # ~1.3 px/frame for a 64 px mouse

    turn = np.stack([0.045 * _smooth_signal(rng, t, 4, (40, 160)) for _ in range(n_animals)], 1)
    speed = np.stack(
        [speed_scale * np.clip(1.3 + 0.7 * _smooth_signal(rng, t, 3, (60, 200)), 0.25, None) for _ in range(n_animals)],
        1,
    )
    wag = np.stack([0.3 * _smooth_signal(rng, t, 2, (25, 60)) for _ in range(n_animals)], 1)

    # Start positions spread on a ring around the centre, headings random.
    cx, cy = (width - 1) / 2, (height - 1) / 2
    ring = 0.25 * min(width, height)
    start_angle = rng.uniform(0, 2 * np.pi) + 2 * np.pi * np.arange(n_animals) / n_animals
    pos = np.stack([cx + ring * np.cos(start_angle), cy + ring * np.sin(start_angle)], 1)
    heading = rng.uniform(-np.pi, np.pi, size=n_animals)

    xs = np.empty((n_frames, n_animals))
    ys = np.empty((n_frames, n_animals))
    hs = np.empty((n_frames, n_animals))
    bends = np.empty((n_frames, n_animals))
    margin = 0.9 * length  # trunk-to-wall distance at which steering starts
    max_turn = 0.09
    bend = np.zeros(n_animals)
    turn_rate = np.zeros(n_animals)
    for f in range(n_frames):
        omega = turn[f].copy()
        for a in range(n_animals):
            # Steer toward the centre when the look-ahead point leaves the inner box.
            ahead = pos[a] + 1.2 * length[a] * np.array([np.cos(heading[a]), np.sin(heading[a])])
            over = max(
                margin[a] - ahead[0],
                ahead[0] - (width - 1 - margin[a]),
                margin[a] - ahead[1],
                ahead[1] - (height - 1 - margin[a]),
                0.0,
            )
            if over > 0:
                to_centre = np.arctan2(cy - pos[a, 1], cx - pos[a, 0])
                omega[a] += min(1.0, over / length[a]) * 0.25 * _wrap(to_centre - heading[a])
            # Turn away from animals close ahead.
            for b in range(n_animals):
                if b == a:
                    continue
                d = pos[b] - pos[a]
                dist = np.hypot(*d)
                if dist < 1.6 * length[a]:
                    rel = _wrap(np.arctan2(d[1], d[0]) - heading[a])
                    if abs(rel) < np.pi / 2:
                        strength = (1.6 * length[a] - dist) / (1.6 * length[a])
                        omega[a] -= np.sign(rel or 1.0) * 0.2 * strength
        # Low-pass the turn rate: steering terms switch on and off, the body should not jerk.
        turn_rate = 0.7 * turn_rate + 0.3 * np.clip(omega, -max_turn, max_turn)
        # A turning mouse bends its body; low-pass so the bend changes smoothly.
        target_bend = np.clip(turn_rate / np.maximum(speed[f], 0.3 * speed_scale), -1.3 / length, 1.3 / length)
        bend = 0.9 * bend + 0.1 * target_bend
        heading = _wrap(heading + turn_rate)
        pos = pos + speed[f][:, None] * np.stack([np.cos(heading), np.sin(heading)], 1)
        for a in range(n_animals):
            kp = keypoints(pos[a, 0], pos[a, 1], heading[a], bend[a], wag[f, a], length[a])
            lo, hi = kp.min(0), kp.max(0)
            limit = np.array([width - 1 - edge, height - 1 - edge])
            pos[a] += np.maximum(edge - lo, 0) - np.maximum(hi - limit, 0)
        xs[f], ys[f], hs[f], bends[f] = pos[:, 0], pos[:, 1], heading, bend
    return Poses(x=xs, y=ys, heading=hs, bend=bends, wag=wag, length=length)
