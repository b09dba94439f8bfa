"""Inference geometry with hand-made networks whose confidence maps are known exactly.

The "networks" copy image channels to the output grid (strided sampling, so
grid point ``j`` is input pixel ``j * stride``). Gaussian blobs drawn in the
frame must then come back at their frame coordinates through input scaling,
stride padding, cropping and the output stride.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import sleap_io as sio

from napari_sleap_train.config.model import (
    DataConfig,
    HeadConfig,
    ModelKind,
    TrainingConfig,
    UNetConfig,
)
from napari_sleap_train.engine.errors import EngineConfigError, EngineDataError
from napari_sleap_train.engine.inference import Predictor
from napari_sleap_train.engine.sleap_weights import LoadedModel


def blob_frame(h, w, blobs_per_channel, sigma=4.0):
    """uint8 (h, w, 3) with Gaussian blobs; channel c holds blobs_per_channel[c]."""
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3), np.float64)
    for c, blobs in enumerate(blobs_per_channel):
        for x, y in blobs:
            img[..., c] = np.maximum(img[..., c], np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2)))
    return np.round(img * 255).astype(np.uint8)


def copy_net(channels: list[int], stride: int) -> keras.Model:
    inp = keras.Input((None, None, 3), name="input")
    out = keras.layers.Lambda(lambda x: keras.ops.take(x[:, ::stride, ::stride, :], channels, axis=-1))(inp)
    return keras.Model(inp, out)


def model(kind, channels, stride, scaling, max_stride=8, crop=None, parts=None):
    cfg = TrainingConfig(
        kind=kind,
        data=DataConfig(input_scaling=scaling, crop_size=crop),
        model=UNetConfig(max_stride=max_stride, output_stride=stride),
        head=HeadConfig(part_names=parts),
    )
    return LoadedModel(
        kind=kind,
        config=cfg,
        keras_model=copy_net(channels, stride),
        path=Path("."),
        source="keras",
        channels=3,
        n_outputs=len(channels),
        part_names=parts,
    )


A, B = (60.3, 41.7), (101.6, 77.2)


@pytest.mark.parametrize(("scaling", "stride"), [(1.0, 1), (0.5, 2), (0.5, 1), (1.0, 4)])
def test_single_instance_points_come_back_to_frame_pixels(scaling, stride):
    img = blob_frame(150, 170, [[A], [B]], sigma=6.0)
    pred = Predictor([model(ModelKind.SINGLE_INSTANCE, [0, 1], stride, scaling)], refinement="gaussian")
    (fp,) = pred.predict_instances([img])
    assert fp.points.shape == (1, 2, 2)
    # the blobs are quantised to uint8 and resampled; a quarter pixel is the honest bound
    assert np.allclose(fp.points[0], [A, B], atol=0.25)
    assert np.all(fp.point_scores > 0.9)


@pytest.mark.parametrize("centroid_scaling", [1.0, 0.5])
def test_top_down_crops_and_maps_back(centroid_scaling):
    animals = [((40.2, 50.9), (61.4, 38.3)), ((130.7, 112.1), (112.5, 131.8))]
    centers = [tuple(np.mean(a, axis=0)) for a in animals]
    heads, tails = [a[0] for a in animals], [a[1] for a in animals]
    img = blob_frame(160, 180, [heads, tails, centers], sigma=4.0)
    centroid = model(ModelKind.CENTROID, [2], 2, centroid_scaling)
    centered = model(ModelKind.CENTERED_INSTANCE, [0, 1], 2, 1.0, crop=48, parts=["head", "tail"])
    pred = Predictor([centroid, centered], refinement="gaussian")
    (fp,) = pred.predict_instances([img])
    assert len(fp) == 2
    order = np.argsort(fp.centroids[:, 0])
    assert np.allclose(fp.centroids[order], centers, atol=0.3)
    for j, (head, tail) in zip(order, animals):
        assert np.allclose(fp.points[j], [head, tail], atol=0.3)
        assert fp.scores[j] == pytest.approx(fp.point_scores[j].mean())


def test_predict_on_labels_orders_nodes_by_the_project_skeleton(tmp_path):
    img = blob_frame(128, 128, [[A], [B]], sigma=5.0)[None]
    video_path = tmp_path / "v.mp4"
    sio.save_video(np.repeat(img, 3, axis=0), str(video_path), fps=5, crf=1)
    video = sio.Video.from_filename(str(video_path))
    skel = sio.Skeleton(["tail", "nose", "head"])  # "nose" is not predicted
    labels = sio.Labels(videos=[video], skeletons=[skel])
    single = model(ModelKind.SINGLE_INSTANCE, [0, 1], 1, 1.0, parts=["head", "tail"])
    seen = []
    out = Predictor([single], refinement="gaussian").predict(
        labels, [(0, 0), (0, 2)], progress=lambda d, t: seen.append((d, t))
    )
    assert seen[-1] == (2, 2)
    assert sorted(lf.frame_idx for lf in out.labeled_frames) == [0, 2]
    inst = out.labeled_frames[0].predicted_instances[0]
    pts = inst.numpy()
    assert np.allclose(pts[0], B, atol=1.0) and np.allclose(pts[2], A, atol=1.0)  # lossy video
    assert np.all(np.isnan(pts[1]))
    assert out.videos[0] is video and inst.skeleton is skel


def test_bad_combinations_have_plain_messages():
    single = model(ModelKind.SINGLE_INSTANCE, [0], 1, 1.0)
    centroid = model(ModelKind.CENTROID, [2], 2, 1.0)
    centered = model(ModelKind.CENTERED_INSTANCE, [0, 1], 2, 1.0, crop=None)
    with pytest.raises(EngineConfigError, match="needs a centroid model and a centered-instance model"):
        Predictor([centroid])
    with pytest.raises(EngineConfigError, match="used alone"):
        Predictor([single, centroid])
    with pytest.raises(EngineConfigError, match="crop size"):
        Predictor([centroid, centered])
    labels = sio.Labels(skeletons=[sio.Skeleton(["x", "y", "z"])])
    with pytest.raises(EngineDataError, match="predicts 1 body parts but the project's skeleton has 3"):
        Predictor([single]).predict(labels, [])
