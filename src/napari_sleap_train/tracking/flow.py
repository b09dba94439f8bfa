"""Shift candidate instances to the current frame with pyramidal Lucas-Kanade flow."""

from __future__ import annotations

import warnings

import cv2
import numpy as np

from .settings import FlowSettings

#: Stop criteria of the flow iterations (SLEAP's: 30 iterations or 0.01 px).
_CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01)


def to_gray_uint8(image: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """A frame as a 2D ``uint8`` image for OpenCV (``(H, W)``, ``(H, W, 1)`` or ``(H, W, 3)``)."""
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.dtype != np.uint8:
        if np.issubdtype(img.dtype, np.floating) and img.size and float(np.nanmax(img)) <= 1.0:
            img = img * 255.0
        img = np.clip(img, 0, 255).astype(np.uint8)
    if img.ndim == 3:
        img = cv2.cvtColor(np.ascontiguousarray(img[..., :3]), cv2.COLOR_RGB2GRAY)
    if img.ndim != 2:
        raise ValueError(f"a frame must be (H, W) or (H, W, C), not {np.shape(image)}")
    if scale != 1.0:
        img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(img)


def flow_shift(points: np.ndarray, ref_img: np.ndarray, new_img: np.ndarray, settings: FlowSettings) -> np.ndarray:
    """Move ``(m, k, 2)`` points of ``ref_img`` to where the flow puts them in ``new_img``.

    Images are already :func:`to_gray_uint8` (at ``settings.img_scale``); points
    are in full-resolution pixels. Nodes the flow loses (or that were missing)
    come back NaN, and so does every node of an instance with ``min_points`` or
    fewer nodes found. With ``settings.max_fb_error`` set, a node whose flow
    back from ``new_img`` lands further than that from where it started is lost
    too (forward-backward check, twice the flow work).
    """
    pts = np.asarray(points, dtype=np.float64)
    out = np.full_like(pts, np.nan)
    flat = pts.reshape(-1, 2)
    vis = np.isfinite(flat).all(axis=1)
    if not vis.any():
        return out
    scale = float(settings.img_scale)
    w = int(settings.window_size)
    # Lucas-Kanade only looks near the points: crop both images to the points'
    # box plus the reach of the coarsest pyramid level (far less pyramid work)
    src_xy = flat[vis] * scale
    reach = (w // 2 + 2) * 2 ** int(settings.max_levels) + 16
    h_img, w_img = ref_img.shape[:2]
    x0 = int(max(np.floor(src_xy[:, 0].min()) - reach, 0))
    y0 = int(max(np.floor(src_xy[:, 1].min()) - reach, 0))
    x1 = int(min(np.ceil(src_xy[:, 0].max()) + reach + 1, w_img))
    y1 = int(min(np.ceil(src_xy[:, 1].max()) + reach + 1, h_img))
    if x1 - x0 < 2 or y1 - y0 < 2:  # every point outside the image
        return out
    ref_img = np.ascontiguousarray(ref_img[y0:y1, x0:x1])
    new_img = np.ascontiguousarray(new_img[y0:y1, x0:x1])
    offset = np.array([x0, y0], dtype=np.float64)
    src = (src_xy - offset).astype(np.float32).reshape(-1, 1, 2)
    moved, status, _ = cv2.calcOpticalFlowPyrLK(
        ref_img, new_img, src, None, winSize=(w, w), maxLevel=int(settings.max_levels), criteria=_CRITERIA
    )
    found = status.reshape(-1).astype(bool)
    idx = np.flatnonzero(vis)
    checked = found
    limit = _fb_limits(pts, settings)
    if limit is not None and found.any():
        # forward-backward check: a point that does not flow back to where it started is lost
        back, status_b, _ = cv2.calcOpticalFlowPyrLK(
            new_img, ref_img, moved, None, winSize=(w, w), maxLevel=int(settings.max_levels), criteria=_CRITERIA
        )
        fb = np.linalg.norm((back - src).reshape(-1, 2), axis=1) / scale
        point_limit = np.repeat(limit, pts.shape[1])[idx]
        checked = found & status_b.reshape(-1).astype(bool) & (fb <= point_limit)
        if settings.fb_keep_if_all_lost:
            # an instance whose every point fails the check keeps the plain flow: losing it
            # would leave its track with no candidate at all on this frame
            inst_of = idx // pts.shape[1]
            kept = np.bincount(inst_of[checked], minlength=len(pts)) > 0
            checked = np.where(kept[inst_of], checked, found)
    res = np.full((len(flat), 2), np.nan)
    res[idx[checked]] = (moved.reshape(-1, 2)[checked] + offset) / scale
    res = res.reshape(pts.shape)
    n_found = np.isfinite(res).all(axis=-1).sum(axis=-1)
    keep = n_found > int(settings.min_points)
    out[keep] = res[keep]
    return out


def _fb_limits(pts: np.ndarray, settings: FlowSettings) -> np.ndarray | None:
    """Forward-backward limit (pixels) of each of the ``(m, k, 2)`` instances, ``None``: no check.

    The limit is ``max_fb_error`` pixels, or ``max_fb_error_fraction`` of the
    instance's size (bounding-box diagonal), the smaller when both are set.
    """
    if settings.max_fb_error is None and settings.max_fb_error_fraction is None:
        return None
    limit = np.full(len(pts), np.inf)
    if settings.max_fb_error is not None:
        limit[:] = float(settings.max_fb_error)
    if settings.max_fb_error_fraction is not None:
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN instances
            size = np.hypot(*(np.nanmax(pts, axis=1) - np.nanmin(pts, axis=1)).T)
        size = np.where(np.isfinite(size), size, 0.0)
        limit = np.minimum(limit, float(settings.max_fb_error_fraction) * size)
    return limit
