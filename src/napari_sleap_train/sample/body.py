"""Geometry of one procedural mouse: keypoints and the drawing primitives.

The body is a spine curve through the trunk point. From the nose back to the
tail base it is a circular arc of curvature ``bend``; the tail continues from
the tail base with the same bend plus a travelling wag. The animal is drawn as
tapered capsules along that curve (head brighter than the body, a bright nose
tip, a large bright LEFT ear and a small dark RIGHT ear, dark eyes), so the
heading and the left/right ears are visible in every frame.

Local coordinates: ``u`` points along the heading, ``v`` to the animal's right
(with y pointing down, rotating the heading by +90 degrees gives the right side).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .skeleton import NODE_NAMES

# Arc-length positions along the spine, in units of body length (trunk = 0).
S_NOSE = 0.50
S_HEAD = 0.32
S_TAIL_BASE = -0.50
TAIL_LENGTH = 0.80  # tail length / body length
EAR_S = 0.27
EAR_OFFSET = 0.10  # sideways distance of each ear from the spine

#: Body half-width profile (s, radius), both in body lengths; linear in between.
_WIDTH_PROFILE = np.array(
    [
        [0.50, 0.025],
        [0.46, 0.065],
        [0.40, 0.095],
        [0.32, 0.115],
        [0.24, 0.108],
        [0.19, 0.100],  # neck
        [0.08, 0.150],
        [-0.12, 0.175],
        [-0.35, 0.145],
        [-0.50, 0.055],
    ]
)

#: Grey values of the parts (0-255 before texture and noise).
BODY_VALUE = 175.0
HEAD_VALUE = 222.0
TAIL_VALUE = 150.0
NOSE_VALUE = 255.0
LEFT_EAR_VALUE = 255.0
RIGHT_EAR_VALUE = 70.0
EYE_VALUE = 35.0


@dataclass
class Capsule:
    """A tapered capsule from ``p0`` to ``p1`` in pixels.

    Radius and grey value vary linearly from ``r0``/``value0`` at ``p0`` to
    ``r1``/``value1`` at ``p1``. ``s0``/``s1`` are the arc-length positions (in
    pixels) of the ends along the animal, used to attach the fur texture to the
    body so it moves with it.
    """

    p0: np.ndarray
    p1: np.ndarray
    r0: float
    r1: float
    value0: float
    value1: float
    s0: float = 0.0
    s1: float = 0.0


@dataclass
class AnimalDrawing:
    """Everything needed to draw one animal.

    Attributes
    ----------
    body : list of Capsule
        Tail and body; merged as one smooth solid (the deepest capsule wins).
    decals : list of Capsule
        Ears, eyes and nose, painted over the body in order.
    texture_phase : float
        Per-animal phase of the fur pattern.
    """

    body: list[Capsule]
    decals: list[Capsule]
    texture_phase: float = 0.0


def _arc(s: np.ndarray, bend: float) -> np.ndarray:
    """Local (u, v) of points at arc length ``s`` on an arc of curvature ``bend``."""
    s = np.asarray(s, dtype=np.float64)
    if abs(bend) < 1e-9:
        return np.stack([s, np.zeros_like(s)], -1)
    return np.stack([np.sin(bend * s) / bend, (1 - np.cos(bend * s)) / bend], -1)


def _arc_normal(s: np.ndarray, bend: float) -> np.ndarray:
    """Unit normal (to the animal's right) of the arc at arc length ``s``."""
    phi = bend * np.asarray(s, dtype=np.float64)
    return np.stack([-np.sin(phi), np.cos(phi)], -1)


def _tail(length: float, bend: float, wag: float, n: int) -> np.ndarray:
    """Local (u, v) of ``n + 1`` points from the tail base to the tail tip."""
    base = _arc(S_TAIL_BASE * length, bend)
    # The tail leaves the body pointing backwards along the spine tangent.
    angle0 = bend * S_TAIL_BASE * length + np.pi
    tail_len = TAIL_LENGTH * length
    d = np.linspace(0.0, tail_len, n + 1)
    # Tangent angle along the tail: keep bending like the body, plus a wag
    # that grows toward the tip.
    angle = angle0 - 0.6 * bend * d + wag * np.sin(np.pi * d / tail_len)
    step = tail_len / n
    mid_angles = 0.5 * (angle[1:] + angle[:-1])
    deltas = step * np.stack([np.cos(mid_angles), np.sin(mid_angles)], -1)
    return base + np.concatenate([np.zeros((1, 2)), np.cumsum(deltas, 0)], 0)


def _to_world(uv: np.ndarray, x: float, y: float, heading: float) -> np.ndarray:
    c, s = np.cos(heading), np.sin(heading)
    u, v = uv[..., 0], uv[..., 1]
    return np.stack([x + c * u - s * v, y + s * u + c * v], -1)


def local_keypoints(length: float, bend: float, wag: float) -> np.ndarray:
    """Keypoints in local (u, v) coordinates, ``(n_nodes, 2)`` in :data:`NODE_NAMES` order."""
    spine = _arc(np.array([S_NOSE, S_HEAD, 0.0, S_TAIL_BASE]) * length, bend)
    ear_base = _arc(EAR_S * length, bend)
    normal = _arc_normal(EAR_S * length, bend)
    left_ear = ear_base - EAR_OFFSET * length * normal
    right_ear = ear_base + EAR_OFFSET * length * normal
    tail = _tail(length, bend, wag, 16)
    pts = {
        "nose": spine[0],
        "head": spine[1],
        "left_ear": left_ear,
        "right_ear": right_ear,
        "trunk": spine[2],
        "tail_base": spine[3],
        "tail_mid": tail[8],
        "tail_tip": tail[16],
    }
    return np.stack([pts[n] for n in NODE_NAMES])


def keypoints(x: float, y: float, heading: float, bend: float, wag: float, length: float) -> np.ndarray:
    """Keypoints in image (x, y) pixels, ``(n_nodes, 2)`` in :data:`NODE_NAMES` order."""
    return _to_world(local_keypoints(length, bend, wag), x, y, heading)


def _spot(p: np.ndarray, r: float, value: float) -> Capsule:
    return Capsule(p, p, r, r, value, value)


def _head_mix(s: np.ndarray) -> np.ndarray:
    """Grey value along the spine: body colour, ramping to the head colour over the neck."""
    w = np.clip((s - 0.14) / 0.10, 0.0, 1.0)
    return BODY_VALUE + w * (HEAD_VALUE - BODY_VALUE)


def drawing(
    x: float, y: float, heading: float, bend: float, wag: float, length: float, texture_phase: float = 0.0
) -> AnimalDrawing:
    """Drawing primitives of one animal at the given pose."""
    tail_local = _tail(length, bend, wag, 6)
    tail = _to_world(tail_local, x, y, heading)
    tail_s = S_TAIL_BASE * length - np.linspace(0.0, TAIL_LENGTH * length, len(tail))
    tail_r = np.linspace(0.045, 0.018, len(tail)) * length
    body = [
        Capsule(tail[i], tail[i + 1], tail_r[i], tail_r[i + 1], TAIL_VALUE, TAIL_VALUE, tail_s[i], tail_s[i + 1])
        for i in range(len(tail) - 1)
    ]
    # Spine samples at the width-profile knots: the piecewise-linear outline is exact.
    s = _WIDTH_PROFILE[::-1, 0]
    radius = np.interp(s, _WIDTH_PROFILE[::-1, 0], _WIDTH_PROFILE[::-1, 1]) * length
    value = _head_mix(s)
    spine = _to_world(_arc(s * length, bend), x, y, heading)
    body += [
        Capsule(
            spine[i], spine[i + 1], radius[i], radius[i + 1], value[i], value[i + 1], s[i] * length, s[i + 1] * length
        )
        for i in range(len(s) - 1)
    ]
    kp = _to_world(local_keypoints(length, bend, wag), x, y, heading)
    idx = {n: i for i, n in enumerate(NODE_NAMES)}
    eye_c = _arc(0.41 * length, bend)
    eye_n = _arc_normal(0.41 * length, bend)
    decals = [
        _spot(kp[idx["left_ear"]], 0.065 * length, LEFT_EAR_VALUE),
        _spot(kp[idx["right_ear"]], 0.045 * length, RIGHT_EAR_VALUE),
        _spot(_to_world(eye_c - 0.05 * length * eye_n, x, y, heading), 0.022 * length, EYE_VALUE),
        _spot(_to_world(eye_c + 0.05 * length * eye_n, x, y, heading), 0.022 * length, EYE_VALUE),
        _spot(kp[idx["nose"]], 0.03 * length, NOSE_VALUE),
    ]
    return AnimalDrawing(body=body, decals=decals, texture_phase=texture_phase)
