"""Acceptance: SLEAP 1.4 models give SLEAP's own predictions (within 1 px).

The model folders hold ``labels_pr.train.slp``: SLEAP's evaluation of each
model on its training frame, which is frame **1** of
``centered_pair_low_quality.mp4`` (``labels_gt.train.slp`` says so; the same
coordinates are stored as frame 0 in ``minimal/minimal_instance.slp``).

* centroid folder: SLEAP paired its predicted centroids with the ground-truth
  instances, so only the centroid confidences (instance scores) are its own;
* centered-instance folder: SLEAP cropped around ground-truth centroids
  (bounding-box midpoints) and predicted the nodes. SLEAP 1.4 maps crop
  coordinates back with ``centroid - crop_size / 2`` while its crops are
  centred with ``(crop_size - 1) / 2``, so its stored points sit half a pixel
  up-left of where its network put them; we map back exactly, so our points
  are SLEAP's + 0.5 px (and closer to the labels).
"""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap_train.engine.inference import Predictor, load_predictor
from napari_sleap_train.predictions.frame_selection import user_labeled_frames

MODELS = "models/minimal_instance.UNet."
FRAME = 1  # the frame SLEAP evaluated on (labels_gt.train.slp)


@pytest.fixture(scope="module")
def predictor(shared_data) -> Predictor:
    return load_predictor([shared_data / (MODELS + "centroid"), shared_data / (MODELS + "centered_instance")])


@pytest.fixture(scope="module")
def frame_image(shared_data):
    labels = sio.load_slp(str(shared_data / "minimal/minimal_instance.slp"))
    return labels.videos[0][FRAME]


def sleap_predictions(shared_data, model):
    pr = sio.load_slp(str(shared_data / (MODELS + model) / "labels_pr.train.slp"), open_videos=False)
    (lf,) = pr.labeled_frames
    assert lf.frame_idx == FRAME
    return lf.predicted_instances


def ground_truth(shared_data):
    gt = sio.load_slp(str(shared_data / (MODELS + "centered_instance") / "labels_gt.train.slp"), open_videos=False)
    return np.stack([i.numpy() for i in gt.labeled_frames[0].user_instances])


def test_centroid_confidences_match_sleap(shared_data, predictor, frame_image):
    insts = sleap_predictions(shared_data, "centroid")
    gt = ground_truth(shared_data)
    ((cents, vals),) = predictor.find_centroids([frame_image])
    assert len(cents) == 2
    # pair each SLEAP instance (ground-truth points) with our nearest centroid
    for inst in insts:
        mid = (np.nanmin(inst.numpy(), 0) + np.nanmax(inst.numpy(), 0)) / 2
        j = int(np.argmin(np.linalg.norm(cents - mid, axis=1)))
        assert vals[j] == pytest.approx(inst.score, abs=0.01)
        # centroids land on the bounding-box midpoints the model was trained on
        assert np.linalg.norm(cents[j] - mid) < 1.0
    assert gt.shape == (2, 2, 2)


def test_centered_instance_matches_sleap_within_1px(shared_data, predictor, frame_image):
    gt = ground_truth(shared_data)
    anchors = (gt.min(axis=1) + gt.max(axis=1)) / 2  # SLEAP's ground-truth centroids
    ours = predictor.predict_instances([frame_image], centroids=[anchors])[0]
    sleap = sleap_predictions(shared_data, "centered_instance")
    sleap_pts = np.stack([i.numpy() for i in sleap])
    sleap_scores = np.stack([i.numpy(scores=True)[:, 2] for i in sleap])

    dist = np.linalg.norm(ours.points - sleap_pts, axis=-1)
    assert dist.max() < 1.0
    # the difference is SLEAP's half-pixel crop offset and nothing else
    assert np.abs(ours.points - 0.5 - sleap_pts).max() < 0.1
    assert np.abs(ours.point_scores - sleap_scores).max() < 0.02
    # and exact mapping puts us closer to the labels than SLEAP
    assert np.linalg.norm(ours.points - gt, axis=-1).mean() < np.linalg.norm(sleap_pts - gt, axis=-1).mean()


def test_top_down_end_to_end_within_1px_of_sleap(shared_data, predictor):
    labels = sio.load_slp(str(shared_data / "minimal/minimal_instance.slp"))
    predicted = predictor.predict(labels, [(0, FRAME)])
    (lf,) = predicted.labeled_frames
    assert lf.frame_idx == FRAME and len(lf.predicted_instances) == 2
    ours = np.stack([i.numpy() for i in lf.predicted_instances])
    sleap = np.stack([i.numpy() for i in sleap_predictions(shared_data, "centered_instance")])
    # match instances by their first node
    order = [int(np.argmin(np.linalg.norm(ours[:, 0] - s[0], axis=1))) for s in sleap]
    assert sorted(order) == [0, 1]
    assert np.linalg.norm(ours[order] - sleap, axis=-1).max() < 1.0
    for inst in lf.predicted_instances:
        scores = inst.numpy(scores=True)[:, 2]
        assert np.all(scores > 0.9)
        assert inst.score == pytest.approx(scores.mean())
    assert user_labeled_frames(predicted) == set()


def test_max_instances_keeps_the_best(shared_data, frame_image):
    one = load_predictor(
        [shared_data / (MODELS + "centroid"), shared_data / (MODELS + "centered_instance")], max_instances=1
    )
    ((cents, vals),) = one.find_centroids([frame_image])
    assert len(cents) == 1
    full = one.__class__(one.models)  # same models, no limit
    ((_, all_v),) = full.find_centroids([frame_image])
    assert vals[0] == pytest.approx(all_v.max())


def test_batches_give_the_same_result_as_single_frames(shared_data, predictor):
    labels = sio.load_slp(str(shared_data / "minimal/minimal_instance.slp"))
    frames = [(0, i) for i in range(5)]
    batched = Predictor(predictor.models, batch_size=3).predict(labels, frames)
    single = Predictor(predictor.models, batch_size=1).predict(labels, frames)
    a = {lf.frame_idx: np.stack([i.numpy() for i in lf.predicted_instances]) for lf in batched.labeled_frames}
    b = {lf.frame_idx: np.stack([i.numpy() for i in lf.predicted_instances]) for lf in single.labeled_frames}
    assert a.keys() == b.keys() and len(a) == 5
    for k, pts in a.items():
        assert np.allclose(pts, b[k], atol=1e-3, equal_nan=True)
