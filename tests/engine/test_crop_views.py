"""Crop views in the engine: peaks over quarter turns come back where they are, partners swap."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap_train.engine.crop_views import channel_swap, view_peaks
from napari_sleap_train.engine.errors import EngineConfigError
from napari_sleap_train.predictions.views import View, view_list


def blob_crops(points, size=24, sigma=1.5):
    """``(n, size, size, k)`` crops with a Gaussian at each node's point in the node's own channel."""
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    n, k = points.shape[:2]
    out = np.zeros((n, size, size, k), np.float32)
    for i in range(n):
        for j in range(k):
            x, y = points[i, j]
            out[i, ..., j] = np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))
    return out


def test_quarter_turned_views_agree_on_the_crop_points():
    points = np.array([[[5.0, 8.0], [17.0, 11.0]], [[12.0, 3.0], [9.0, 20.0]]])
    crops = blob_crops(points)
    calls = []

    def network(model, batch):  # an equivariant "network": the maps are the input channels
        calls.append(len(batch))
        return batch, None

    model = SimpleNamespace(output_stride=1)
    pts, scores = view_peaks(network, model, crops, view_list(4, can_mirror=False), None, 0.2, "integral", 1)
    assert np.allclose(pts, points, atol=0.05)
    assert np.allclose(scores, 1.0, atol=0.01)  # every view agrees, at full confidence
    assert sum(calls) == 4 * len(crops) and max(calls) == 1  # each view, in chunks


def test_a_view_that_misses_is_outvoted():
    points = np.array([[[6.0, 6.0]]])
    crops = blob_crops(points)
    seen = []

    def network(model, batch):  # wrong on the last view: a brighter spot elsewhere
        seen.append(1)
        maps = batch.copy()
        if len(seen) == 3:
            maps[0, 2, 2, 0] = 1.5
        return maps, None

    pts, scores = view_peaks(
        network, SimpleNamespace(output_stride=1), crops, [View(0), View(1), View(2)], None, 0.2, "integral", 4
    )
    assert np.allclose(pts[0, 0], points[0, 0], atol=0.05)
    assert scores[0, 0] == pytest.approx(2 / 3, abs=0.01)


def test_channel_swap_follows_the_model_channels():
    skel = sio.Skeleton(["head", "wingL", "wingR", "eyeL", "eyeR"])
    order = np.array([0, 1, 2, 3, 4])
    assert channel_swap(skel, order, 5).tolist() == [0, 2, 1, 4, 3]
    # a model with its own channel order (part names): the swap is in channel terms
    assert channel_swap(skel, np.array([4, 0, 1, 2, 3]), 5).tolist() == [1, 0, 3, 2, 4]
    # the model predicts wingL but not wingR: a mirror cannot be undone
    assert channel_swap(skel, np.array([0, 1, -1, 2, 3]), 4) is None
    # neither eye predicted: the pair is simply not there
    assert channel_swap(skel, np.array([0, 1, 2, -1, -1]), 3).tolist() == [0, 2, 1]
    assert channel_swap(sio.Skeleton(["head", "tail"]), np.array([0, 1]), 2) is None


def test_an_unknown_view_count_is_a_config_error(shared_data):
    from napari_sleap_train.engine.inference import load_predictor

    models = "models/minimal_instance.UNet."
    with pytest.raises(EngineConfigError, match="1, 2, 4, 8"):
        load_predictor([shared_data / (models + "centroid"), shared_data / (models + "centered_instance")], views=3)
