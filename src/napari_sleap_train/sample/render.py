"""Vectorized numpy rendering of the procedural frames.

A static textured floor (blotches at two scales), animals composited as
anti-aliased tapered capsules with a rounded shading, a slight optical blur,
and a little per-frame sensor noise. Each capsule is evaluated only inside its
own bounding box, so a frame costs a few milliseconds.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from .body import AnimalDrawing, Capsule

BACKGROUND_VALUE = 92.0
_TRUNCATE = 3.0  # gaussian kernel radius in sigmas


def make_background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Static floor texture, float32 ``(height, width)`` around :data:`BACKGROUND_VALUE`."""
    coarse = ndimage.gaussian_filter(rng.standard_normal((height, width)), sigma=14, mode="wrap")
    fine = ndimage.gaussian_filter(rng.standard_normal((height, width)), sigma=1.5, mode="wrap")
    coarse *= 14.0 / (coarse.std() + 1e-9)
    fine *= 6.0 / (fine.std() + 1e-9)
    # A soft vignette, like a lit arena.
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    r2 = ((xx - (width - 1) / 2) / width) ** 2 + ((yy - (height - 1) / 2) / height) ** 2
    vignette = -40.0 * r2
    return (BACKGROUND_VALUE + coarse + fine + vignette).astype(np.float32)


def _capsule_fields(
    cap: Capsule, x0: int, y0: int, x1: int, y1: int, shading: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-pixel fields of a capsule over the box ``[y0:y1, x0:x1]``.

    Returns
    -------
    alpha : np.ndarray
        Anti-aliased coverage.
    depth : np.ndarray
        1 on the axis, 0 on the outline (distance relative to the local radius).
    value : np.ndarray
        Grey value interpolated along the capsule, darkened toward the outline by ``shading``.
    s, side : np.ndarray
        Body coordinates for the fur pattern: arc length along the animal (pixels)
        and signed distance from the axis relative to the radius.
    """
    px = np.arange(x0, x1, dtype=np.float32)[None, :] - np.float32(cap.p0[0])
    py = np.arange(y0, y1, dtype=np.float32)[:, None] - np.float32(cap.p0[1])
    dx, dy = np.float32(cap.p1[0] - cap.p0[0]), np.float32(cap.p1[1] - cap.p0[1])
    seg2 = dx * dx + dy * dy
    if seg2 > 1e-9:
        t = np.clip((px * dx + py * dy) * (1.0 / seg2), 0.0, 1.0)
        side = (dx * py - dy * px) * (1.0 / np.sqrt(seg2))
    else:
        t = np.zeros((y1 - y0, x1 - x0), dtype=np.float32)
        side = t
    r = cap.r0 + t * (cap.r1 - cap.r0)
    dist = np.hypot(px - t * dx, py - t * dy)
    alpha = np.clip(r - dist + 0.5, 0.0, 1.0)
    rel = dist / r
    depth = 1.0 - rel
    np.clip(rel, 0.0, 1.0, out=rel)
    value = (cap.value0 + t * (cap.value1 - cap.value0)) * (1.0 - shading * rel * rel)
    s = cap.s0 + t * (cap.s1 - cap.s0)
    return alpha, depth, value, s, side / r


def _box(caps: list[Capsule], h: int, w: int) -> tuple[int, int, int, int]:
    """Integer pixel box covering all capsules (clipped to the frame)."""
    xs = [float(v) for c in caps for v in (c.p0[0], c.p1[0])]
    ys = [float(v) for c in caps for v in (c.p0[1], c.p1[1])]
    r = max(max(c.r0, c.r1) for c in caps) + 1.5
    x0 = max(math.floor(min(xs) - r), 0)
    y0 = max(math.floor(min(ys) - r), 0)
    x1 = min(math.ceil(max(xs) + r) + 1, w)
    y1 = min(math.ceil(max(ys) + r) + 1, h)
    return x0, y0, x1, y1


def draw_animal(
    canvas: np.ndarray, animal: AnimalDrawing, shading: float = 0.2, texture: float = 0.06
) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """Composite one animal onto ``canvas`` (float32 ``(H, W)``, in place).

    The body capsules merge into one solid: at each pixel the capsule whose
    axis is nearest (relative to its radius) sets the grey value, so joints
    have no seams. The value is darkened toward the outline (``shading``) and
    modulated by a fur pattern fixed to the body (``texture``). Decals (ears,
    eyes, nose) are then painted over.

    Returns
    -------
    tuple or None
        ``((x0, y0, x1, y1), delta)``: the box drawn into and the change made to
        ``canvas`` there (used to blur only what changed); ``None`` if the animal
        is entirely outside the frame.
    """
    h, w = canvas.shape
    bx0, by0, bx1, by1 = _box(animal.body + animal.decals, h, w)
    if bx0 >= bx1 or by0 >= by1:
        return None
    shape = (by1 - by0, bx1 - bx0)
    alpha_buf = np.zeros(shape, np.float32)
    depth_buf = np.full(shape, -np.inf, np.float32)
    value_buf = np.zeros(shape, np.float32)
    s_buf = np.zeros(shape, np.float32)
    side_buf = np.zeros(shape, np.float32)
    for cap in animal.body:
        x0, y0, x1, y1 = _box([cap], h, w)
        if x0 >= x1 or y0 >= y1:
            continue
        alpha, depth, value, s, side = _capsule_fields(cap, x0, y0, x1, y1, shading)
        sl = (slice(y0 - by0, y1 - by0), slice(x0 - bx0, x1 - bx0))
        # The capsule whose axis is nearest (relative to its radius) wins the pixel.
        win = depth > depth_buf[sl]
        np.copyto(depth_buf[sl], depth, where=win)
        np.copyto(value_buf[sl], value, where=win)
        np.copyto(s_buf[sl], s, where=win)
        np.copyto(side_buf[sl], side, where=win)
        np.maximum(alpha_buf[sl], alpha, out=alpha_buf[sl])
    # Two oblique gratings fixed to the body's (arc length, side) coordinates: a mottled coat.
    ph = animal.texture_phase
    fur = np.sin(0.55 * s_buf + 1.7 * side_buf + ph) + np.sin(0.83 * s_buf - 2.3 * side_buf + 2.0 * ph)
    value_buf *= 1.0 + 0.5 * texture * fur
    for cap in animal.decals:
        x0, y0, x1, y1 = _box([cap], h, w)
        if x0 >= x1 or y0 >= y1:
            continue
        alpha, _, value, _, _ = _capsule_fields(cap, x0, y0, x1, y1, 0.5 * shading)
        sl = (slice(y0 - by0, y1 - by0), slice(x0 - bx0, x1 - bx0))
        value_buf[sl] += alpha * (value - value_buf[sl])
        np.maximum(alpha_buf[sl], alpha, out=alpha_buf[sl])
    region = canvas[by0:by1, bx0:bx1]
    delta = alpha_buf * (value_buf - region)
    region += delta
    return (bx0, by0, bx1, by1), delta


def render_frame(
    background: np.ndarray,
    animals: list[AnimalDrawing],
    rng: np.random.Generator,
    noise: float = 4.0,
    blur: float = 0.7,
    blurred_background: np.ndarray | None = None,
) -> np.ndarray:
    """Render one frame as uint8 ``(H, W)``.

    Parameters
    ----------
    background : np.ndarray
        Floor texture from :func:`make_background`.
    animals : list of AnimalDrawing
        Animals later in the list are drawn on top.
    rng : np.random.Generator
        Source of the per-frame noise.
    noise : float
        Standard deviation of the additive Gaussian sensor noise (grey levels).
    blur : float
        Gaussian blur sigma in pixels applied before the noise (optics).
    blurred_background : np.ndarray, optional
        ``blur_image(background, blur)``, precomputed once per video.

    Notes
    -----
    Blurring is linear, so the frame is blurred as the (static) blurred floor
    plus each animal's blurred change, computed only around that animal.
    """
    canvas = background.copy()
    if blurred_background is None:
        blurred_background = blur_image(background, blur)
    out = blurred_background.copy()
    h, w = canvas.shape
    pad = int(math.ceil(_TRUNCATE * blur)) + 1 if blur > 0 else 0
    for animal in animals:
        drawn = draw_animal(canvas, animal)
        if drawn is None:
            continue
        (x0, y0, x1, y1), delta = drawn
        px0, py0, px1, py1 = max(x0 - pad, 0), max(y0 - pad, 0), min(x1 + pad, w), min(y1 + pad, h)
        padded = np.zeros((py1 - py0, px1 - px0), np.float32)
        padded[y0 - py0 : y1 - py0, x0 - px0 : x1 - px0] = delta
        out[py0:py1, px0:px1] += blur_image(padded, blur, mode="constant")
    out += np.float32(noise) * rng.standard_normal(out.shape, dtype=np.float32)
    np.rint(out, out=out)
    return np.clip(out, 0, 255).astype(np.uint8)


def blur_image(image: np.ndarray, sigma: float, mode: str = "nearest") -> np.ndarray:
    """Gaussian blur (optics) as float32; ``mode`` as in ``scipy.ndimage``."""
    if sigma <= 0:
        return image.astype(np.float32, copy=True)
    return ndimage.gaussian_filter(image, sigma=sigma, truncate=_TRUNCATE, mode=mode).astype(np.float32)
