"""Lucas-Kanade shifting of candidates, and the forward-backward check."""

from __future__ import annotations

import cv2
import numpy as np

from napari_sleap_train.tracking import FlowSettings
from napari_sleap_train.tracking.flow import flow_shift, to_gray_uint8

from .synthetic import crossing_paths, instance_points, render


def _texture(shape=(120, 160), seed=0):
    noise = np.random.default_rng(seed).random(shape)
    return (255 * cv2.GaussianBlur(noise, (0, 0), 3.0) / cv2.GaussianBlur(noise, (0, 0), 3.0).max()).astype(np.uint8)


def test_a_translation_is_followed_and_missing_nodes_stay_missing():
    img = _texture()
    moved = np.roll(img, (2, 3), axis=(0, 1))  # 3 px right, 2 px down
    pts = np.array([[[60.0, 50.0], [np.nan, np.nan]], [[100.0, 70.0], [90.0, 60.0]]])
    for fb in (None, 1.0):
        out = flow_shift(pts, img, moved, FlowSettings(max_fb_error=fb, max_fb_error_fraction=None))
        assert np.isnan(out[0, 1]).all()
        np.testing.assert_allclose(out[~np.isnan(pts)], (pts + [3.0, 2.0])[~np.isnan(pts)], atol=0.2)


def test_forward_backward_check_drops_nodes_the_flow_got_wrong():
    centres = crossing_paths()
    pts, frames = instance_points(centres), render(centres)
    mid = len(frames) // 2 - 1  # the two animals pass each other between mid and mid + 1
    plain = flow_shift(pts[mid], frames[mid], frames[mid + 1], FlowSettings(max_fb_error_fraction=None))
    assert np.nanmax(np.abs(plain - pts[mid + 1])) > 10  # plain flow sends a node astray
    checked = flow_shift(
        pts[mid], frames[mid], frames[mid + 1], FlowSettings(max_fb_error=2.0, fb_keep_if_all_lost=False)
    )
    err = np.abs(checked - pts[mid + 1])
    assert np.isnan(checked).any() and not (err[np.isfinite(err)] > 2).any()


def test_frames_of_any_common_layout_become_gray_uint8():
    gray = _texture((10, 12))
    assert to_gray_uint8(gray[..., None]).shape == (10, 12)
    rgb = np.repeat(gray[..., None], 3, axis=-1)
    np.testing.assert_array_equal(to_gray_uint8(rgb), gray)
    assert to_gray_uint8(gray.astype(np.float32) / 255.0).dtype == np.uint8
    assert to_gray_uint8(gray, scale=0.5).shape == (5, 6)


def test_an_instance_whose_every_point_fails_the_check_keeps_the_plain_flow():
    centres = crossing_paths()
    pts, frames = instance_points(centres), render(centres)
    plain_settings = FlowSettings(max_fb_error_fraction=None)
    for f in range(len(frames) - 1):  # 36 px a frame: every point fails a 0.1-of-size check
        plain = flow_shift(pts[f], frames[f], frames[f + 1], plain_settings)
        strict = flow_shift(
            pts[f], frames[f], frames[f + 1], FlowSettings(max_fb_error_fraction=0.1, fb_keep_if_all_lost=False)
        )
        kept = flow_shift(pts[f], frames[f], frames[f + 1], FlowSettings(max_fb_error_fraction=0.1))
        assert np.isnan(strict).all()
        np.testing.assert_array_equal(kept, plain)


def test_the_relative_limit_scales_with_the_instance():
    img = _texture()
    moved = np.roll(img, (2, 3), axis=(0, 1))
    pts = np.array([[[40.0, 40.0], [100.0, 80.0]]])  # 72 px across: a 0.1 limit is 7 px
    strict = dict(fb_keep_if_all_lost=False, max_fb_error=None)
    assert np.isfinite(flow_shift(pts, img, moved, FlowSettings(max_fb_error_fraction=0.1, **strict))).all()
    # a limit far below LK's sub-pixel error drops every point
    assert np.isnan(flow_shift(pts, img, moved, FlowSettings(max_fb_error_fraction=1e-7, **strict))).all()
