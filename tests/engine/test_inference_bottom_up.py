"""Acceptance: SLEAP 1.4's bottom-up model gives SLEAP's own predictions (within 1 px).

``minimal_instance.UNet.bottomup`` holds SLEAP's predictions on its training
frame (frame 1 of ``centered_pair_low_quality.mp4``; ``minimal/minimal_instance.slp``
holds that image as frame 1): two animals of two parts (A -> B), confidence
maps at output stride 2 with an offset head, part affinity fields at stride 4.
"""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap_train.config.model import ModelKind
from napari_sleap_train.engine.errors import EngineConfigError
from napari_sleap_train.engine.inference import Predictor, load_predictor
from napari_sleap_train.engine.sleap_weights import load_model_folder

FOLDER = "models/minimal_instance.UNet.bottomup"
FRAME = 1


@pytest.fixture(scope="module")
def predictor(shared_data) -> Predictor:
    return load_predictor([shared_data / FOLDER])


@pytest.fixture(scope="module")
def labels(shared_data):
    return sio.load_slp(str(shared_data / "minimal/minimal_instance.slp"))


def _sleap_instances(shared_data):
    pr = sio.load_slp(str(shared_data / FOLDER / "labels_pr.train.slp"), open_videos=False)
    (lf,) = pr.labeled_frames
    assert lf.frame_idx == FRAME
    return lf.predicted_instances


def _paired(ours, sleap_pts):
    """Our instances in the order of SLEAP's (nearest first part)."""
    order = [int(np.argmin(np.linalg.norm(ours[:, 0] - s[0], axis=1))) for s in sleap_pts]
    assert sorted(order) == list(range(len(sleap_pts)))
    return order


def test_sleap_bottom_up_folder_loads_with_both_heads(shared_data):
    model = load_model_folder(shared_data / FOLDER)
    assert model.kind is ModelKind.MULTI_INSTANCE and model.source == "sleap"
    assert model.output_stride == 2 and model.pafs_stride == 4 and model.has_offsets
    assert model.paf_edges.tolist() == [[0, 1]] and model.part_names == ["A", "B"]
    cms, pafs, offsets = model.keras_model.outputs
    assert cms.shape[-1] == 2 and pafs.shape[-1] == 2 and offsets.shape[-1] == 4


def test_bottom_up_matches_sleap_within_1px(shared_data, predictor, labels):
    (ours,) = predictor.predict_instances([labels.videos[0][FRAME]])
    sleap = _sleap_instances(shared_data)
    sleap_pts = np.stack([i.numpy() for i in sleap])
    assert len(ours) == len(sleap) == 2
    order = _paired(ours.points, sleap_pts)
    assert np.linalg.norm(ours.points[order] - sleap_pts, axis=-1).max() < 1.0
    # scores: SLEAP's instance score is the summed line score, point scores the peak values
    np.testing.assert_allclose(ours.scores[order], [i.score for i in sleap], atol=0.01)
    sleap_point_scores = np.stack([i.numpy(scores=True)[:, 2] for i in sleap])
    np.testing.assert_allclose(ours.point_scores[order], sleap_point_scores, atol=0.01)


def test_predict_on_a_project_gives_predicted_instances(predictor, labels):
    out = predictor.predict(labels, [(0, FRAME)])
    (lf,) = out.labeled_frames
    assert lf.frame_idx == FRAME and len(lf.predicted_instances) == 2
    assert all(np.isfinite(i.numpy()).all() for i in lf.predicted_instances)
    # at most one animal when asked
    one = load_predictor([predictor.multi.path], max_instances=1).predict(labels, [(0, FRAME)])
    assert len(one.labeled_frames[0].predicted_instances) == 1


def test_bottom_up_model_predicts_alone(shared_data, predictor):
    centroid = load_model_folder(shared_data / "models/minimal_instance.UNet.centroid")
    with pytest.raises(EngineConfigError, match="bottom-up model is used alone"):
        Predictor([predictor.multi, centroid])
