"""Peak finding on synthetic Gaussian confidence maps."""

from __future__ import annotations

import numpy as np
import pytest

from napari_sleap_train.predictions.peaks import (
    find_global_peaks,
    find_local_peaks,
    grid_to_input,
    refine_integral,
)


def gaussian_map(h, w, centers, sigma=1.5):
    yy, xx = np.mgrid[0:h, 0:w]
    out = np.zeros((h, w), np.float32)
    for x, y in centers:
        out = np.maximum(out, np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2)))
    return out


@pytest.mark.parametrize(("refine", "tol"), [("gaussian", 0.01), ("integral", 0.2), (True, 0.2)])
def test_local_peaks_finds_every_animal_with_subpixel_accuracy(refine, tol):
    centers = [(10.3, 12.7), (30.6, 8.2), (22.45, 27.9)]
    cm = gaussian_map(40, 48, centers)[..., None]
    peaks = find_local_peaks(cm, threshold=0.2, refine=refine)
    assert len(peaks) == 3
    found = sorted(map(tuple, peaks.points), key=lambda p: p[0])
    for (x, y), (fx, fy) in zip(sorted(centers), found):
        # "integral": a 5x5 window truncates a sigma-1.5 Gaussian, which pulls
        # the estimate towards the grid point by up to ~0.17 cell
        assert abs(fx - x) < tol and abs(fy - y) < tol
    assert np.all(peaks.values > 0.8)
    assert np.all(peaks.channels == 0)


@pytest.mark.parametrize("sigma", [0.75, 1.25, 2.5])
def test_refinement_beats_grid_peak(sigma):
    cm = gaussian_map(32, 32, [(15.4, 16.6)], sigma=sigma)[..., None]
    target = np.array([15.4, 16.6])
    rough = find_local_peaks(cm, refine=False).points[0]
    assert np.allclose(rough, [15, 17])
    err_rough = np.linalg.norm(rough - target)
    err_integral = np.linalg.norm(find_local_peaks(cm, refine="integral").points[0] - target)
    err_gauss = np.linalg.norm(find_local_peaks(cm, refine="gaussian").points[0] - target)
    assert err_gauss < 1e-3
    assert err_integral < err_rough


def test_unknown_refinement_is_rejected():
    with pytest.raises(ValueError, match="unknown peak refinement"):
        find_local_peaks(gaussian_map(8, 8, [(4, 4)])[..., None], refine="magic")


def test_local_peaks_threshold_and_plateau():
    cm = np.zeros((10, 10, 2), np.float32)
    cm[3, 4, 0] = 0.15  # below threshold
    cm[6, 6, 1] = 0.9
    cm[2, 2, 1] = cm[2, 3, 1] = 0.7  # plateau: not strictly greater than a neighbour
    peaks = find_local_peaks(cm, threshold=0.2)
    assert len(peaks) == 1
    assert peaks.channels.tolist() == [1]
    assert np.allclose(peaks.points[0], [6, 6])
    assert np.isclose(peaks.values[0], 0.9)


def test_local_peaks_empty_map():
    peaks = find_local_peaks(np.zeros((8, 8, 1), np.float32))
    assert len(peaks) == 0 and peaks.points.shape == (0, 2)


def test_peak_at_border_is_found():
    cm = gaussian_map(16, 16, [(0.0, 15.0)])[..., None]
    peaks = find_local_peaks(cm)
    assert len(peaks) == 1
    # the window is clipped at the border, so refinement is biased inwards but bounded
    assert np.all(np.abs(peaks.points[0] - [0, 15]) < 1.0)


def test_offsets_are_used_when_given():
    cm = np.zeros((8, 8, 2), np.float32)
    cm[2, 5, 0] = 1.0
    cm[6, 1, 1] = 0.5
    off = np.zeros((8, 8, 4), np.float32)
    off[2, 5, 0:2] = [0.25, -0.4]
    off[6, 1, 2:4] = [-0.1, 0.3]
    peaks = find_local_peaks(cm, offsets=off)
    assert np.allclose(peaks.points, [[5.25, 1.6], [0.9, 6.3]])
    pts, vals = find_global_peaks(cm, offsets=off)
    assert np.allclose(pts, [[5.25, 1.6], [0.9, 6.3]])
    assert np.allclose(vals, [1.0, 0.5])


def test_offsets_shape_is_checked():
    with pytest.raises(ValueError, match="offset maps must have shape"):
        find_local_peaks(np.zeros((4, 4, 2)), offsets=np.zeros((4, 4, 2)))


def test_global_peaks_per_channel_subpixel_and_threshold():
    h, w = 24, 24
    cms = np.stack(
        [gaussian_map(h, w, [(5.3, 7.8)]), gaussian_map(h, w, [(18.6, 3.1)]), 0.1 * gaussian_map(h, w, [(9, 9)])],
        axis=-1,
    )
    pts, vals = find_global_peaks(cms, threshold=0.2, refine="gaussian")
    assert np.allclose(pts[0], [5.3, 7.8], atol=0.01)
    assert np.allclose(pts[1], [18.6, 3.1], atol=0.01)
    assert np.all(np.isnan(pts[2]))
    assert np.isclose(vals[2], 0.1, atol=1e-6)


def test_global_peaks_batched():
    a = gaussian_map(16, 16, [(4.2, 5.5)])[..., None]
    b = gaussian_map(16, 16, [(11.7, 2.4)])[..., None]
    pts, vals = find_global_peaks(np.stack([a, b]))
    assert pts.shape == (2, 1, 2) and vals.shape == (2, 1)
    assert np.allclose(pts[:, 0], [[4.2, 5.5], [11.7, 2.4]], atol=0.2)


def test_refine_integral_symmetric_patch_gives_grid_point():
    cm = np.zeros((9, 9, 1), np.float32)
    cm[4, 4, 0] = 1
    cm[3, 4, 0] = cm[5, 4, 0] = cm[4, 3, 0] = cm[4, 5, 0] = 0.5
    assert np.allclose(refine_integral(cm, [4], [4], [0]), [[4, 4]])


def test_refine_integral_weighs_negative_values_as_sleap_when_asked():
    """SLEAP 1.4's integral regression sums the window as it is; the clip drops the negative cells."""
    cm = np.zeros((9, 9, 1), np.float32)
    cm[4, 4, 0] = 1.0
    cm[4, 5, 0] = 0.5
    cm[4, 2, 0] = -0.25  # a negative cell left of the peak pushes SLEAP's estimate right
    clipped = refine_integral(cm, [4], [4], [0])
    sleap = refine_integral(cm, [4], [4], [0], clip_negative=False)
    assert np.allclose(clipped, [[4 + 0.5 / 1.5, 4]])
    assert np.allclose(sleap, [[4 + (0.5 + 0.5) / 1.25, 4]])
    peaks = find_local_peaks(cm, threshold=0.2, clip_negative=False)
    assert np.allclose(peaks.points, sleap)
    pts, _ = find_global_peaks(cm, 0.2, clip_negative=False)
    assert np.allclose(pts, sleap)


def test_grid_to_input_uses_stride():
    assert np.allclose(grid_to_input([[1.5, 2.0]], 4), [[6.0, 8.0]])
